"""The `marketplace` command line. Each command is a thin shell over a layer's public function.

Exit codes: 0 success, 1 a run or test failed, 2 bad input (config, CSV, parameter).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from marketplace.runner.commands import register as _register_runner_commands
from marketplace.runner.facts_commands import register as _register_facts_commands

app = typer.Typer(
    help="jss-market: simulate a freelance marketplace and test the Job Success Score.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """Simulate a freelance marketplace and test what its Job Success Score says."""


# Commands are added below by each layer's owner:
#   jss       -> marketplace.scoring (score a contract history CSV)
#   run, validate, list, report -> marketplace.runner / marketplace.analysis
#   viz       -> marketplace.app (SolaraViz dashboard)


@app.command("jss")
def jss(
    outcomes_csv: Annotated[Path, typer.Argument(
        help="Contract history CSV (columns: see README 'Scoring a contract history').")],
    week: Annotated[int | None, typer.Option(
        "--week", help="Scoring week (default: the latest week in the file).")] = None,
    rules: Annotated[str, typer.Option(
        "--rules", help="Rule set: upwork-2015, upwork-2020, upwork-2023, upwork-2024.")
    ] = "upwork-2023",
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON, one object per freelancer.")] = False,
    score: Annotated[str | None, typer.Option(
        "--score", help="Alternative score instead of the JSS windows: bayes, wilson, epp, "
        "debiased, jss-interval (or jss) (docs/ODD.md 7.1.12).")] = None,
) -> None:
    """Score a contract history: each freelancer's JSS and windows, each contract's outcome."""
    import json

    if score is not None:
        _alternative_score(outcomes_csv, week, rules, score, as_json)
        return

    from marketplace.scoring import get_rules
    from marketplace.scoring.history import (
        HistoryValidationError,
        read_history_csv,
        score_history,
    )

    try:
        rule_set = get_rules(rules)
        scored = score_history(read_history_csv(outcomes_csv), week=week, rules=rule_set)
    except (HistoryValidationError, ValueError) as exc:
        typer.echo(f"error: {outcomes_csv}: {exc}" if isinstance(exc, HistoryValidationError)
                   and exc.row is not None else f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:  # one freelancer per line: json's C encoder (indent= would use the slow one)
        records = scored.to_records()
        typer.echo("[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]")
        return
    _print_jss_tables(scored)


def _alternative_score(outcomes_csv: Path, week: int | None, rules: str, score: str,
                       as_json: bool) -> None:
    """``marketplace jss FILE --score NAME``: one row per freelancer with that score."""
    import json

    from marketplace.scoring import get_rules
    from marketplace.scoring.alternatives import (
        SCORE_CHOICES,
        SCORE_COLUMNS,
        score_history_alternatives,
        score_key,
    )
    from marketplace.scoring.history import HistoryValidationError, read_history_csv

    if score not in SCORE_CHOICES:
        typer.echo(f"error: --score {score!r} is not allowed; expected one of "
                   f"{', '.join(SCORE_CHOICES)}", err=True)
        raise typer.Exit(2)
    try:
        table = score_history_alternatives(read_history_csv(outcomes_csv), week=week,
                                           rules=get_rules(rules))
    except (HistoryValidationError, ValueError) as exc:
        typer.echo(f"error: {outcomes_csv}: {exc}" if isinstance(exc, HistoryValidationError)
                   and exc.row is not None else f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    table = table.rename(columns={f"score_{score_key(score)}": "score"})
    cols = ["freelancer_id", "score", *SCORE_COLUMNS[score], "n_outcomes", "n_contracts"]
    view = table[cols]
    if as_json:
        records = [{k: (None if isinstance(v, float) and v != v else
                        round(v, 2) if isinstance(v, float) else
                        int(v) if k.startswith("n_") else str(v))
                    for k, v in zip(cols, row, strict=True)}
                   for row in view.itertuples(index=False)]
        typer.echo(json.dumps(records, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"{score} score at week {table.attrs['week']} ({table.attrs['rules']} "
                "rules; 0-100, '-' = not shown)")
    for col in cols:
        out.add_column(col, justify="left" if col == "freelancer_id" else "right")
    for row in view.itertuples(index=False):
        out.add_row(*(str(v) if not isinstance(v, float) else ("-" if v != v else f"{v:.1f}")
                      for v in row))
    Console().print(out)


def _print_jss_tables(scored) -> None:
    from rich.console import Console
    from rich.table import Table

    def fmt(x) -> str:
        return "-" if x is None else f"{x:.1f}"

    console = Console()
    records = scored.to_records(windows=True)
    summary = Table(title=f"Job Success Score at week {scored.week} ({scored.rules.name} rules)")
    for col in ("freelancer", "JSS", "24m", "12m", "6m", "3m", "trend", "outc.", "clients"):
        summary.add_column(col, justify="left" if col == "freelancer" else "right", no_wrap=True)
    n_outcomes = scored.freelancers["n_outcomes"].astype(int).tolist()  # same order as records
    n_clients = scored.freelancers["n_clients"].astype(int).tolist()
    for rec, outcomes, clients in zip(records, n_outcomes, n_clients, strict=True):
        jss_text = "none" if rec["jss"] is None else f"{rec['jss']:.1f}"
        summary.add_row(rec["freelancer_id"], jss_text,
                        *(fmt(v) for v in rec["windows"].values()),
                        str(outcomes), str(clients))
    console.print(summary)
    for rec in records:
        jss_text = "none" if rec["jss"] is None else f"{rec['jss']:.1f}"
        table = Table(title=f"{rec['freelancer_id']}: JSS {jss_text}", title_justify="left")
        for col in ("contract", "outcome", "weight", "reason", "counts in"):
            table.add_column(col, justify="right" if col == "weight" else "left")
        for c in rec["contracts"]:  # windows travel with each contract: no lookup by id
            table.add_row(c["contract_id"], c["outcome"], f"{c['weight']:.2f}", c["reason"],
                          c["windows"] or "-")
        console.print(table)
    console.print("'-' = window without enough counted outcomes (or contract in no window); "
                  "'none' = no JSS shown yet.")


@app.command("viz")
def viz(
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on (127.0.0.1 = this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8765,
) -> None:
    """Start the interactive dashboard (Mesa SolaraViz) at http://HOST:PORT; Ctrl+C stops it."""
    import os

    # no usage statistics sent to solara's developers (and no failed calls on a closed network)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    # a closed tab's market stops 2 minutes later (solara's default, 24 h, keeps a playing
    # market stepping all that time)
    os.environ.setdefault("SOLARA_KERNEL_CULL_TIMEOUT", "2m")
    from solara.__main__ import cli as solara_cli

    typer.echo(f"jss-market dashboard: http://{host}:{port}  (Ctrl+C stops it)")
    solara_cli.main(["run", "marketplace.app", "--host", host, "--port", str(port),
                     "--production", "--no-open"], prog_name="marketplace viz")


_register_runner_commands(app)  # run, validate, list, report
_register_facts_commands(app)  # facts, calibrate

if __name__ == "__main__":  # pragma: no cover
    app()
