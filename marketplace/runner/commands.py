"""The runner's commands of the ``marketplace`` CLI: run, validate, list, report.

Registered on the shared typer app by :func:`register` (marketplace/cli.py). Each command is a thin
shell over :mod:`marketplace.runner` or :func:`marketplace.analysis.report.build_report`.
Exit codes: 0 success, 1 a run (or the report) failed, 2 bad input (config, option, folder),
130 interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

EXPERIMENTS_DIR = Path("experiments")

SET_EXAMPLES = (
    "Examples of --set (repeatable; VALUE is read as YAML):\n\n"
    "  --set model.weeks=52\n\n"
    "  --set sweep.replications=5\n\n"
    "  --set sweep.grid.clients.rater_mix.dishonest='[0, 0.2]'\n\n"
    "Every model parameter: marketplace params."
)

SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a config value (PATH is a dotted config path, VALUE is read as YAML; "
        "repeatable). Examples at the end of this help.",
    ),
]


def _workers_option(help_text: str) -> Any:
    """``--workers/-w N`` (N >= 1, absent = None) with the command's own help."""
    return Annotated[int | None, typer.Option("--workers", "-w", min=1, help=help_text)]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(message, err=True, fg="red")
    return typer.Exit(code)


def _load(config: Path, overrides: list[str] | None):
    from marketplace.runner.config import ConfigError, load_config

    try:
        return load_config(config, overrides or [])
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def run(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment config (YAML).")],
    set_: SetOption = None,
    workers: _workers_option(
        "Local worker processes (default: all cores; 1 = in this process).") = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run on an existing Dask cluster, "
            "e.g. tcp://10.0.0.5:8786 (--out must be on a filesystem every worker sees).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Results folder (default: results/<name>).")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted or failed sweep: reuse "
            "finished runs, run the rest (failed runs are retried).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Delete existing results in the folder and start again.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_report: Annotated[
        bool,
        typer.Option(
            "--no-report", help="Skip the analysis report (build it later with marketplace report)."
        ),
    ] = False,
) -> None:
    """Run an experiment: every parameter combination times its replications."""
    if resume and force:
        raise _fail("choose one of --resume and --force")
    if workers is not None and scheduler:
        raise _fail("--workers and --scheduler exclude each other (Dask decides the workers)")
    if scheduler:
        from marketplace.runner.executors import check_scheduler_address

        try:
            check_scheduler_address(scheduler)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    cfg = _load(config, set_)
    from marketplace.runner.run import Terminated, run_experiment
    from marketplace.runner.store import StoreError

    try:
        result = run_experiment(
            cfg,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            force=force,
            quiet=quiet,
            report=not no_report,
            config_file=str(config),
            overrides=list(set_ or []),
        )
    except StoreError as exc:
        raise _fail(str(exc)) from None
    except Terminated:
        _exiting_ignore_signals()
        raise typer.Exit(143) from None
    except KeyboardInterrupt:
        _exiting_ignore_signals()
        raise typer.Exit(130) from None
    except OSError as exc:  # e.g. cannot reach the Dask scheduler, disk full
        where = f" (scheduler {scheduler}; nothing was written)" if scheduler else ""
        raise _fail(f"{type(exc).__name__}: {exc}{where}", 1) from None
    out_dir = result.out_dir
    lines = [
        f"{result.n_ok}/{result.n_runs} runs finished ({result.n_reused} reused), "
        f"{result.n_failed} failed",
        f"results:  {out_dir}/  (summary.parquet, manifest.json, runs/<run_id>/)",
    ]
    if (out_dir / "report.md").exists():
        lines.append(f"report:   {out_dir / 'report.md'}")
    if (out_dir / "figures").is_dir():
        lines.append(f"figures:  {out_dir / 'figures'}/")
    if not quiet:
        typer.echo("\n".join(lines))
    if result.n_failed:
        shown = ", ".join(result.failed[:10]) + (" ..." if len(result.failed) > 10 else "")
        raise _fail(
            f"{result.n_failed} run(s) failed ({shown}); tracebacks in "
            f"{out_dir}/runs/<run_id>/run.json; rerun with --resume to retry them",
            1,
        )
    if result.report_error:
        raise _fail(f"the report could not be built:\n{result.report_error}", 1)


def validate(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="Experiment config (YAML).")],
    set_: SetOption = None,
) -> None:
    """Check a config without running it and show what it would run."""
    cfg = _load(config, set_)
    s = cfg.sweep
    typer.echo(f"{config}: valid")
    typer.echo(f"  name:          {cfg.name}")
    if cfg.description:
        typer.echo(f"  description:   {cfg.description.strip().splitlines()[0]}")
    typer.echo(f"  combinations:  {cfg.n_combinations}")
    typer.echo(f"  replications:  {s.replications}  (root seed {s.seed})")
    typer.echo(f"  runs:          {cfg.n_runs}")
    for path, shown in _swept_values(cfg):
        typer.echo(f"  swept {path}: {shown}")
    if cfg.model:
        typer.echo(f"  model:         {cfg.model}")
    for line in _mix_lines(cfg):
        typer.echo(line)
    if cfg.analysis:
        typer.echo(f"  analysis:      {', '.join(cfg.analysis)}")
    typer.echo(f"  config hash:   {cfg.config_hash()[:16]}")


def _swept_values(cfg) -> list[tuple[str, str]]:
    """Each swept path with its values (from the config's lists, not from the expanded grid)."""
    from marketplace.runner.config import SAMPLING_DESIGNS

    s = cfg.sweep
    out = []
    for path, values in [*s.grid.items(), *s.zip.items()]:
        distinct = list(dict.fromkeys(repr(v) for v in values))
        more = f", ... ({len(distinct)} values)" if len(distinct) > 8 else ""
        out.append((path, ", ".join(distinct[:8]) + more))
    for kind in SAMPLING_DESIGNS:
        spec = getattr(s, kind)
        for path, (low, high) in spec.ranges.items() if spec else ():
            out.append((path, f"{spec.n} {kind.replace('_', ' ')} points in [{low}, {high}]"))
    return out


def _mix_lines(cfg) -> list[str]:
    """The shares of every mix the config sets or sweeps, after rescaling (a set share rescales
    the others so the mix sums to 1)."""
    from functools import reduce

    from marketplace.runner.config import _flatten_model_block

    def mix_at(params, name: str):
        return reduce(getattr, name.split("."), params)

    base = cfg.base_params()
    lines = []
    s = cfg.sweep
    touched = [*_flatten_model_block(cfg.model), *cfg.swept_paths()]
    for name in ("clients.rater_mix", "clients.min_jss_mix"):
        if not any(p.startswith(name + ".") or p == name for p in touched):
            continue
        lines.append(f"  {name}: {_shares(mix_at(base, name).shares())}  (after rescaling)")
        for path, values in [*s.grid.items(), *s.zip.items()]:
            if path.rpartition(".")[0] != name:
                continue
            for value in list(dict.fromkeys(values))[:8]:
                try:
                    shares = mix_at(base.with_overrides({path: value}), name).shares()
                except Exception:  # checked as a combination with other swept shares
                    continue
                lines.append(f"    {path}={value!r} -> {_shares(shares)}")
    return lines


def _shares(shares: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in shares.items())


def list_experiments(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder of experiment configs.")
    ] = EXPERIMENTS_DIR,
) -> None:
    """List the experiments shipped in experiments/ with their descriptions."""
    from rich.console import Console
    from rich.table import Table

    from marketplace.runner.config import ConfigError, load_config

    shipped = Path(__file__).resolve().parents[2] / EXPERIMENTS_DIR
    if directory == EXPERIMENTS_DIR and not directory.is_dir() and shipped.is_dir():
        directory = shipped  # run from elsewhere: the experiments beside the package
    if not directory.is_dir():
        raise _fail(
            f"no experiments folder {directory} (run from the repository root or pass --dir)"
        )
    table = Table(title=f"experiments in {directory}/", title_justify="left")
    table.add_column("config", no_wrap=True)
    table.add_column("runs", justify="right", no_wrap=True)
    table.add_column("description")
    for path in sorted(directory.glob("*.y*ml")):
        try:
            cfg = load_config(path)
        except ConfigError as exc:
            table.add_row(path.name, "-", f"[red]invalid[/]: {exc.problems[0][1]}")
            continue
        runs = str(cfg.n_runs)
        table.add_row(path.name, runs, " ".join(cfg.description.split()))
    Console().print(table)


def report(
    results_dir: Annotated[Path, typer.Argument(help="A results folder (holds manifest.json).")],
    workers: _workers_option(
        "Processes drawing the figures (default: this one and one per spare core, at most 3; "
        "1 = this process only). The files are the same either way.") = None,
) -> None:
    """Rebuild aggregate, figures and report.md from stored results (no simulation)."""
    if not (results_dir / "manifest.json").is_file():
        raise _fail(f"{results_dir} is not a results folder (no manifest.json)")
    import json

    try:
        manifest = json.loads((results_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(
            f"{results_dir}/manifest.json is damaged ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(manifest, dict):
        raise _fail(f"{results_dir}/manifest.json is damaged (not a JSON object)")
    from marketplace.analysis.figure_pool import default_processes
    from marketplace.analysis.report import build_report

    try:
        build_report(results_dir, processes=workers or default_processes())
    except Exception as exc:
        raise _fail(f"report failed: {type(exc).__name__}: {exc}", 1) from None
    typer.echo(f"report:   {results_dir / 'report.md'}")
    typer.echo(f"figures:  {results_dir / 'figures'}/")


def register(app: typer.Typer) -> None:
    """Add run, validate, list and report to the ``marketplace`` app."""
    app.command("run", epilog=SET_EXAMPLES)(run)
    app.command("validate", epilog=SET_EXAMPLES)(validate)
    app.command("list")(list_experiments)
    app.command("report")(report)


def _exiting_ignore_signals() -> None:
    """The run was interrupted and its folder saved: the process only has to exit now, so a
    further Ctrl-C or SIGTERM (impatient users press twice) must not kill it half-way through
    the interpreter's shutdown (seen as exit -2 instead of 130 under load)."""
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
