"""The `facts` and `calibrate` commands of the ``marketplace`` CLI.

Registered on the shared typer app by :func:`register` (marketplace/cli.py). Exit codes: 0
success, 1 too few facts inside (`facts --min-inside`) or a calibration run failed, 2 bad input
(not a results folder, bad calibration config).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(message, err=True, fg="red")
    return typer.Exit(code)


def load_results_facts(results_dir: Path):
    """(facts table, number of runs) of a results folder; ValueError when it is not one."""
    import pandas as pd

    from marketplace.analysis.facts import facts_table

    manifest_path = results_dir / "manifest.json"
    summary_path = results_dir / "summary.parquet"
    if not manifest_path.is_file():
        raise ValueError(f"{results_dir} is not a results folder (no manifest.json)")
    if not summary_path.is_file():
        raise ValueError(f"{results_dir} has no summary.parquet (no finished run)")
    manifest = json.loads(manifest_path.read_text())
    summary = pd.read_parquet(summary_path)
    by = list(manifest.get("swept_parameters") or [])
    seed = int(manifest.get("root_seed") or 0)
    return facts_table(summary, by=by, seed=seed), len(summary)


def facts(
    results_dir: Annotated[Path, typer.Argument(help="A results folder (holds manifest.json).")],
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the table as markdown (as in reports and VALIDATION.md).")
    ] = False,
    min_inside: Annotated[int | None, typer.Option(
        "--min-inside", min=0,
        help="Exit 1 when fewer facts than this are inside their ranges (in any combination).")
    ] = None,
) -> None:
    """Stylized facts measured in stored results: target, source, mean [95% CI], verdict."""
    from marketplace.analysis.facts import FactsFileError, count_inside, facts_markdown, print_facts

    try:
        table, n_runs = load_results_facts(results_dir)
    except (ValueError, FactsFileError) as exc:
        raise _fail(str(exc)) from None
    if markdown:
        typer.echo(facts_markdown(table, n_runs=n_runs))
    else:
        print_facts(table, title=f"Stylized facts, {results_dir} ({n_runs} runs)")
    if min_inside is not None:
        worst = int(count_inside(table).min())
        if worst < min_inside:
            raise _fail(f"only {worst} facts inside their ranges (--min-inside {min_inside})", 1)


def register(app: typer.Typer) -> None:
    """Add `facts` (and `calibrate`) to the ``marketplace`` app."""
    app.command("facts")(facts)
    from marketplace.runner.calibrate import calibrate_command

    app.command("calibrate")(calibrate_command)
