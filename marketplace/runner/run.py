"""Run an experiment: plan its runs, hand them to a backend, keep the books, build the summary.

The orchestrator keeps at most ``2 x slots`` tasks in flight and holds only one small record per
run, so a sweep of a million runs needs no more parent memory than a sweep of ten. The manifest is
rewritten (atomically) every few seconds while the sweep runs, so even a killed sweep leaves an
honest account; ``--resume`` trusts only the run folders themselves.
"""

from __future__ import annotations

import time
from collections.abc import Container, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from marketplace.runner import store
from marketplace.runner.config import ExperimentConfig
from marketplace.runner.execute import RunTask, execute_run, record_failure
from marketplace.runner.executors import open_backend
from marketplace.runner.progress import make_progress

MANIFEST_EVERY_S = 5.0


@dataclass
class SweepResult:
    """What ``run_experiment`` did."""

    out_dir: Path
    n_runs: int
    n_ok: int
    n_failed: int
    n_reused: int
    failed: list[str] = field(default_factory=list)
    report_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.n_failed == 0 and self.report_error is None


def default_out_dir(cfg: ExperimentConfig) -> Path:
    return Path("results") / cfg.name


def _tasks(
    cfg: ExperimentConfig, specs: list, out: Path, token: str, skip: Container[str]
) -> Iterator[RunTask]:
    """Tasks made one at a time as the window has room (one shared base-parameter dict)."""
    base = cfg.base_params().model_dump(mode="json", by_alias=True)
    return (
        RunTask(
            run_id=s.run_id,
            combination=s.combination,
            replication=s.replication,
            seed=s.seed,
            overrides=s.overrides,
            base_params=base,
            runs_dir=str(store.runs_dir(out).resolve()),
            token=token,
            snapshot_every_weeks=cfg.outputs.snapshot_every_weeks,
            store_contracts=cfg.outputs.contracts,
            model_tables=cfg.outputs.model_tables,
        )
        for s in specs
        if s.run_id not in skip
    )


def run_experiment(
    cfg: ExperimentConfig,
    out_dir: str | Path | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    force: bool = False,
    quiet: bool = False,
    report: bool = True,
    config_file: str | None = None,
    overrides: list[str] | None = None,
    console: Console | None = None,
) -> SweepResult:
    """Run every run of ``cfg`` (reusing finished ones with ``resume``) and store the results.

    Raises :class:`marketplace.runner.store.StoreError` (nothing written) when the results folder
    cannot be used as asked. Failed runs do not raise: see ``SweepResult.n_failed``.
    """
    console = console or Console(stderr=True, quiet=quiet)
    out = Path(out_dir) if out_dir is not None else default_out_dir(cfg)
    config_hash = cfg.config_hash()
    specs = cfg.run_specs()
    previous = store.prepare(out, config_hash=config_hash, resume=resume, force=force)
    finished = store.scan_finished(out, specs) if previous is not None else {}

    prev_runs = {r["run_id"]: r for r in (previous or {}).get("runs", [])}
    runs: dict[str, dict[str, Any]] = {}
    for s in specs:
        entry = {
            "run_id": s.run_id,
            "combination": s.combination,
            "replication": s.replication,
            "seed": s.seed,
            "status": "pending",
            "elapsed_s": None,
        }
        if s.run_id in finished:
            entry.update(
                status="ok", reused=True, elapsed_s=prev_runs.get(s.run_id, {}).get("elapsed_s")
            )
        runs[s.run_id] = entry

    session = {
        "started_at": store.now(),
        "finished_at": None,
        "backend": None,
        "resumed": previous is not None,
        **store.provenance(["dask", "distributed"] if scheduler else []),
    }
    sessions = [*(previous or {}).get("sessions", []), session]
    manifest: dict[str, Any] = {
        "name": cfg.name,
        "description": cfg.description,
        "config_file": config_file,
        "overrides": list(overrides or []),
        "config": cfg.resolved(),
        "config_hash": config_hash,
        "root_seed": cfg.sweep.seed,
        "swept_parameters": cfg.swept_paths(),
        "n_combinations": len(cfg.points),
        "replications": cfg.sweep.replications,
        "n_runs": len(specs),
        "started_at": sessions[0]["started_at"],
        "finished_at": None,
        "status": "running",
        "package": session["package"],
        "git": session["git"],
        "versions": session["versions"],
        "sessions": sessions,
        "tables": [],
        "runs": list(runs.values()),
    }

    def save_manifest(status: str | None = None) -> None:
        if status:
            manifest["status"] = status
        counts = {"ok": 0, "failed": 0, "pending": 0}
        for r in runs.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        manifest["counts"] = counts
        manifest["runs"] = list(runs.values())
        store.write_json_atomic(manifest, out / store.MANIFEST)

    save_manifest()  # first, so that the folder is recognisably ours from now on
    store.runs_dir(out).mkdir(exist_ok=True)
    token = store.new_token(out)
    n_todo = len(specs) - len(finished)
    todo = _tasks(cfg, specs, out, token, skip=finished)
    n_failed = 0
    warned: list[str] = []
    interrupted = False
    with open_backend(workers, scheduler) as backend:
        session["backend"] = {"kind": backend.kind, "slots": backend.slots, "address": scheduler}
        if not quiet:
            console.print(
                f"[bold]{cfg.name}[/]: {len(specs)} runs ({len(cfg.points)} combinations x "
                f"{cfg.sweep.replications} replications), {len(finished)} reused, "
                f"{n_todo} to run on {backend.describe()} -> {out}"
            )
        progress = make_progress(console, quiet)
        with progress:
            bar = progress.add_task(
                "runs", total=len(specs), completed=len(finished), failed=0, running=0
            )
            pending = _Peekable(todo)
            in_flight: dict[Future, RunTask] = {}
            # in-process submit() runs the task at once: one at a time keeps the bar live
            window = 1 if backend.kind == "in-process" else 2 * backend.slots
            last_save = time.monotonic()

            def settle(task: RunTask, record: dict[str, Any]) -> None:
                nonlocal n_failed
                entry = runs[task.run_id]
                entry.update(
                    status=record["status"],
                    elapsed_s=record.get("elapsed_s"),
                    cpu_s=record.get("cpu_s"),
                )
                entry.pop("reused", None)
                if record.get("n_log"):
                    warned.append(task.run_id)
                if record["status"] != "ok":
                    n_failed += 1
                    entry["error"] = record.get("error")
                    progress.console.print(
                        f"[red]run {task.run_id} failed:[/] {record.get('error')}"
                    )
                else:
                    entry.pop("error", None)

            try:
                while pending or in_flight:
                    while pending and len(in_flight) < window:
                        task = pending.pop()
                        try:
                            in_flight[backend.executor.submit(execute_run, task)] = task
                        except BrokenExecutor as exc:  # pool died: record the rest as failed
                            for t in [task, *pending.drain()]:
                                settle(t, record_failure(t, exc))
                            break
                    done, _ = wait(list(in_flight), timeout=0.5, return_when=FIRST_COMPLETED)
                    for fut in done:
                        task = in_flight.pop(fut)
                        try:
                            record = fut.result()
                        except Exception as exc:  # the backend lost the task (worker died, ...)
                            record = record_failure(task, exc)
                        settle(task, record)
                        progress.advance(bar)
                    progress.update(
                        bar, failed=n_failed, running=min(len(in_flight), backend.slots)
                    )
                    if time.monotonic() - last_save > MANIFEST_EVERY_S:
                        save_manifest()
                        last_save = time.monotonic()
                        if backend.kind == "dask":  # SLURM jobs start (and end) mid-sweep
                            window = 2 * backend.refresh()
            except KeyboardInterrupt:
                interrupted = True
                for fut in in_flight:
                    fut.cancel()
                backend.executor.shutdown(wait=False, cancel_futures=True)

    if interrupted:
        session["finished_at"] = store.now()
        save_manifest("interrupted")
        console.print(
            f"[yellow]interrupted[/]: finished runs are kept; continue with --resume "
            f"(results in {out})"
        )
        raise KeyboardInterrupt

    if warned and not quiet:
        console.print(
            f"{len(warned)} run(s) logged warnings, kept under 'log' in their run.json "
            f"(e.g. {out}/runs/{sorted(warned)[0]}/run.json)"
        )
    _summary, tables = store.build_summary(out, specs, cfg.swept_paths())
    manifest["tables"] = tables
    session["finished_at"] = store.now()
    manifest["finished_at"] = session["finished_at"]
    status = "complete" if n_failed == 0 else "failed"
    save_manifest(status)

    result = SweepResult(
        out_dir=out,
        n_runs=len(specs),
        n_ok=sum(r["status"] == "ok" for r in runs.values()),
        n_failed=n_failed,
        n_reused=len(finished),
        failed=[rid for rid, r in runs.items() if r["status"] == "failed"],
    )
    if report and result.n_ok:  # analysis list empty = every analysis (analysis.report)
        result.report_error = _build_report(out, console, quiet)
    return result


def _build_report(out: Path, console: Console, quiet: bool) -> str | None:
    """Run the analysis layer's report on the stored results; return an error text or None."""
    import traceback

    try:
        from marketplace.analysis.report import build_report
    except ImportError as exc:
        return f"analysis report not available: {exc}"
    try:
        with console.status("building the report", spinner="dots") if not quiet else _null():
            build_report(out)
    except Exception as exc:
        console.print(f"[red]report failed:[/] {type(exc).__name__}: {exc}")
        return "".join(traceback.format_exception(exc))
    return None


class _Peekable:
    """An iterator that can say whether it has more (``while pending``) without consuming."""

    _END = object()

    def __init__(self, iterator: Iterator[RunTask]) -> None:
        self._it = iterator
        self._next: Any = next(self._it, self._END)

    def __bool__(self) -> bool:
        return self._next is not self._END

    def pop(self) -> RunTask:
        item, self._next = self._next, next(self._it, self._END)
        return item

    def drain(self) -> list[RunTask]:
        items = []
        while self:
            items.append(self.pop())
        return items


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
