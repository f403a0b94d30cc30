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
    add_completion=True,  # --install-completion / --show-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
)


def _hide_flag_types() -> None:
    """Typer's rich help prints a type after every option, so flags read `--force <bool>`
    although they take no value; show nothing for flags, as the plain help does."""
    from typer.core import TyperOption

    original = getattr(TyperOption, "display_type_rich", None)
    if original is None or getattr(original, "_flags_hidden", False):
        return

    def display_type_rich(self, ctx):  # type: ignore[no-untyped-def]
        if self.is_flag or self.count:
            return None
        return original(self, ctx)

    display_type_rich._flags_hidden = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()


def _print_version(value: bool) -> None:
    if value:
        from marketplace import __version__

        typer.echo(f"jss-market {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the version and exit.")] = False,
) -> None:
    """Simulate a freelance marketplace and test what its Job Success Score says."""


@app.command("params")
def params(
    pattern: Annotated[str | None, typer.Argument(
        metavar="[PATTERN]",
        help="Show only parameters whose path or description contains this text, or whose "
        "path matches this glob (e.g. 'clients.rater_mix.*').")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print JSON, one object per parameter.")] = False,
) -> None:
    """List the model parameters: path, default, unit, allowed values and meaning.

    Read from the parameter schema (marketplace/model/params.py). Any path can be set in an
    experiment's `model:` block, swept under `sweep:`, or overridden with
    --set model.PATH=VALUE.
    """
    from marketplace.model.describe import parameter_rows

    rows = parameter_rows(pattern)
    if not rows:
        typer.secho(f"no parameter matches {pattern!r} (run `marketplace params` for all)",
                    err=True, fg="red")
        raise typer.Exit(2)
    if as_json:
        import json

        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} model parameters" + (f" matching {pattern!r}"
                                                           if pattern else ""),
                  title_justify="left", show_lines=False)
    table.add_column("parameter", no_wrap=True, style="bold")
    table.add_column("default", no_wrap=True)
    table.add_column("unit", max_width=16)
    table.add_column("allowed", max_width=24)
    table.add_column("description")
    for r in rows:
        table.add_row(r["path"], repr(r["default"]) if isinstance(r["default"], str)
                      else str(r["default"]), r["unit"], r["bounds"] or r["type"],
                      r["description"])
    Console().print(table)


# Commands are added below by each layer's owner:
#   params    -> marketplace.model (the parameter schema)
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
    if score is not None:
        _alternative_score(outcomes_csv, week, rules, score, as_json)
        return

    from marketplace.scoring import get_rules
    from marketplace.scoring.history import HistoryValidationError, read_history, score_history

    try:
        rule_set = get_rules(rules)
        scored = score_history(read_history(outcomes_csv), week=week, rules=rule_set)
    except (HistoryValidationError, ValueError) as exc:
        typer.echo(f"error: {outcomes_csv}: {exc}" if isinstance(exc, HistoryValidationError)
                   and exc.row is not None else f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:  # one freelancer per line, built column-wise (HistoryScore.to_json)
        typer.echo(scored.to_json())
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


@app.command("compare")
def compare(
    results_a: Annotated[Path, typer.Argument(metavar="RESULTS_A", help="Results folder A.")],
    results_b: Annotated[Path, typer.Argument(metavar="RESULTS_B", help="Results folder B.")],
    metrics: Annotated[str | None, typer.Option(
        "--metrics", metavar="M1,M2,...",
        help="Comma-separated summary metrics (default: the key metrics both have).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder for compare.csv and compare.png/.pdf "
        "(default: comparisons/<A>_vs_<B>).")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
) -> None:
    """Compare two experiments: B - A of each metric between matching combinations, with a
    bootstrap 95% CI (none with fewer than 5 runs on a side)."""
    from rich.console import Console
    from rich.table import Table

    from marketplace.analysis.compare import combination_labels, compare_results

    chosen = [m.strip() for m in metrics.split(",") if m.strip()] if metrics else None
    try:
        table = compare_results(results_a, results_b, chosen, seed=seed)
    except (FileNotFoundError, ValueError) as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    from marketplace.analysis import figures as F
    from marketplace.analysis.report import metric_info

    name_a, name_b = results_a.resolve().name, results_b.resolve().name
    out = out or Path("comparisons") / f"{name_a}_vs_{name_b}"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "compare.csv", index=False)
    labels = {m: metric_info(m)[0] for m in table["metric"].unique()}
    F.save_figure(F.comparison(table, name_a, name_b, labels), out / "compare")

    def fmt(metric: str, v: float) -> str:
        return "n/a" if v != v else format(v, metric_info(metric)[2])

    shown = Table(title=f"{name_b} minus {name_a}", title_justify="left")
    for col in ("combination", "metric", "A", "B", "B - A", "95% CI", "runs A/B"):
        shown.add_column(col, justify="left" if col in ("combination", "metric") else "right")
    for label, (_, r) in zip(combination_labels(table), table.iterrows(), strict=True):
        m = r["metric"]
        ci = (f"[{fmt(m, r['ci_low'])}, {fmt(m, r['ci_high'])}]" if r["ci_low"] == r["ci_low"]
              else "no CI (< 5 runs)")
        shown.add_row(label, labels[m], fmt(m, r["mean_a"]), fmt(m, r["mean_b"]),
                      fmt(m, r["difference"]), ci, f"{r['n_a']}/{r['n_b']}")
    Console().print(shown)
    typer.echo(f"table:    {out / 'compare.csv'}")
    typer.echo(f"figure:   {out / 'compare.png'} (and .pdf)")


@app.command("export")
def export(
    results_dir: Annotated[Path, typer.Argument(metavar="RESULTS_DIR",
                                                help="A results folder (holds manifest.json).")],
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="csv (R, Stata, spreadsheets) or parquet.")] = "csv",
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Folder to write to (default: RESULTS_DIR/export-FORMAT).")] = None,
) -> None:
    """Export a results folder's tables (summary, aggregate, metric tables, every run's weekly
    series with run_id and swept parameters) as CSV or Parquet files."""
    from marketplace import results
    from marketplace.results import EXPORT_FORMATS, ResultsNotFoundError

    if fmt not in EXPORT_FORMATS:
        typer.secho(f"error: --format must be one of {', '.join(EXPORT_FORMATS)} (got {fmt!r})",
                    err=True, fg="red")
        raise typer.Exit(2)
    try:
        res = results.load(results_dir)
    except ResultsNotFoundError as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(2) from None
    written = res.export(out or results_dir / f"export-{fmt}", format=fmt)
    for path in written:
        typer.echo(str(path))
    if not any(p.stem == "weekly" for p in written):
        typer.echo("(no weekly series: the runs' folders are not in this results folder)")


_register_runner_commands(app)  # run, validate, list, report
_register_facts_commands(app)  # facts, calibrate

if __name__ == "__main__":  # pragma: no cover
    app()
