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


def calibrate(
    config: Annotated[Path, typer.Argument(help="Calibration config (YAML; see README).")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", metavar="PATH=VALUE",
        help="Override a config value, e.g. --set replications=2 or "
             "--set model.n_freelancers=1000 (value parsed as YAML; repeatable).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Output folder (default: results/calibration/<name>).")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", "-w", min=1, help="Local worker processes (default: all cores).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", metavar="ADDRESS", help="Run on an existing Dask cluster.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue: reuse every cached run of the same config.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Delete the folder's earlier calibration and start again.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Fit parameters to stylized facts (simulated moments, common random numbers)."""
    import time

    # imported here, not at the top: `marketplace --help` must not load pandas and pydantic
    from marketplace.runner.calibrate import (
        CalibrationError,
        load_calibration_config,
    )
    from marketplace.runner.calibrate import calibrate as run_calibration
    from marketplace.runner.config import ConfigError
    from marketplace.runner.store import StoreError

    if resume and force:
        raise _fail("choose one of --resume and --force")
    if workers is not None and scheduler:
        raise _fail("--workers and --scheduler exclude each other")
    try:
        cfg = load_calibration_config(config, set_ or [])
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    out_dir = out or Path("results") / "calibration" / cfg.name
    started = time.perf_counter()
    try:
        result = run_calibration(cfg, out_dir, workers=workers, scheduler=scheduler,
                                 resume=resume, force=force,
                                 progress=None if quiet else typer.echo)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    except CalibrationError as exc:
        raise _fail(str(exc), 1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if not quiet:
        typer.echo((out_dir / "fit.md").read_text())
        typer.echo(f"{result.n_runs} runs ({result.n_reused} cached before), "
                   f"{time.perf_counter() - started:.0f} s; outputs in {out_dir}/ "
                   "(fitted.yaml, fit.md, fit.parquet, evaluations.parquet, figures/)")


def register(app: typer.Typer) -> None:
    """Add `facts` and `calibrate` to the ``marketplace`` app."""
    app.command("facts")(facts)
    app.command("calibrate")(calibrate)
