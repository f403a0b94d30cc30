"""Run an experiment: plan its runs, hand them to a backend, keep the books, build the summary.

The plan is streamed: runs are made one at a time as the orchestrator's window (at most
``2 x slots`` tasks in flight) has room, and the parent keeps only counters, so a sweep of a million
runs needs no more parent memory than a sweep of ten. Each run's status lives in its own
``runs/<run_id>/run.json``; the manifest holds the config, the plan and the counts, so its size does
not grow with the number of runs. It is rewritten (atomically) every few seconds while the sweep
runs and once more however the sweep ends (complete, failed, Ctrl-C, SIGTERM, an exception);
``--resume`` trusts only the run folders, and checks their files against what was written.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from marketplace.runner import store
from marketplace.runner.config import ExperimentConfig
from marketplace.runner.execute import RunTask, execute_run, record_failure
from marketplace.runner.executors import Backend, open_backend
from marketplace.runner.plan import Plan, plan_of
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
    cfg: ExperimentConfig, specs: Iterable, out: Path, token: str, on_reused: Any
) -> Iterator[RunTask]:
    """Tasks made one at a time as the window has room (one shared base-parameter dict).

    A run whose folder already holds its finished, undamaged results is reused (``on_reused``
    is called) instead of run; damaged or failed folders are deleted and run again.
    """
    base = cfg.base_params().model_dump(mode="json", by_alias=True)
    runs_path = str(store.runs_dir(out).resolve())
    for s in specs:
        if store.finished_run(out, s) is not None:
            on_reused(s)
            continue
        yield RunTask(
            run_id=s.run_id,
            combination=s.combination,
            replication=s.replication,
            seed=s.seed,
            overrides=s.overrides,
            base_params=base,
            runs_dir=runs_path,
            token=token,
            snapshot_every_weeks=cfg.outputs.snapshot_every_weeks,
            store_contracts=cfg.outputs.contracts,
            model_tables=cfg.outputs.model_tables,
        )


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) received: handled like Ctrl-C, so the manifest says so."""


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """In the main thread, turn SIGTERM/SIGHUP into :class:`Terminated` for the sweep's
    duration (the default action would kill the process with the manifest still 'running')."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, _frame: Any) -> None:
        raise Terminated(signal.Signals(signum).name)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous[sig] = signal.signal(sig, raise_terminated)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while cleaning up after an interrupt: a second Ctrl-C must not
    break the clean-up half-way (which left pool threads that hung the interpreter's exit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
    cannot be used as asked, and ``OSError``/``TimeoutError`` (nothing written) when the Dask
    scheduler cannot be reached. Failed runs do not raise: see ``SweepResult.n_failed``.
    """
    console = console or Console(stderr=True, quiet=quiet)
    out = Path(out_dir) if out_dir is not None else default_out_dir(cfg)
    config_hash = cfg.config_hash()
    previous = store.check_folder(out, resume=resume, force=force)
    plan = plan_of(
        cfg, previous, str(out)
    )  # StoreError if the config changed in a way that cannot grow
    n_runs = plan.n_runs
    with _signals_as_interrupts(), open_backend(workers, scheduler) as backend:
        store.make_folder(out, force=force)
        return _run(
            cfg, out, plan, previous, backend, scheduler, console, quiet, report,
            config_file, overrides, config_hash, n_runs, workers,
        )  # fmt: skip


def _run(
    cfg: ExperimentConfig,
    out: Path,
    plan: Plan,
    previous: dict | None,
    backend: Backend,
    scheduler: str | None,
    console: Console,
    quiet: bool,
    report: bool,
    config_file: str | None,
    overrides: list[str] | None,
    config_hash: str,
    n_runs: int,
    workers: int | None,
) -> SweepResult:
    store.remove_stale_tmp(out)
    session = {
        "started_at": store.now(),
        "finished_at": None,
        "backend": {"kind": backend.kind, "slots": backend.slots, "address": scheduler},
        "resumed": previous is not None,
        "pid": os.getpid(),
        "host": platform.node(),
        **store.provenance(["dask", "distributed"] if scheduler else []),
    }
    sessions = [*(previous or {}).get("sessions", []), session]
    counts = {"ok": 0, "failed": 0, "pending": n_runs, "reused": 0}
    failed_ids: list[str] = []  # the first few, for the message; run.json has every status
    manifest: dict[str, Any] = {
        "tool": store.TOOL,
        "schema": store.SCHEMA,
        "name": cfg.name,
        "description": cfg.description,
        "config_file": config_file,
        "overrides": list(overrides or []),
        "config": cfg.resolved(),
        "config_hash": config_hash,
        "plan": plan.generations,
        "root_seed": cfg.sweep.seed,
        "swept_parameters": cfg.swept_paths(),
        "n_combinations": plan.n_combinations,
        "replications": cfg.sweep.replications,
        "n_runs": n_runs,
        "started_at": sessions[0]["started_at"],
        "finished_at": None,
        "status": "running",
        "package": session["package"],
        "git": session["git"],
        "versions": session["versions"],
        "sessions": sessions,
        "tables": [],
        "counts": counts,
        "failed_runs": failed_ids,
        "run_status": f"in {store.RUNS}/<run_id>/{store.RUN_JSON} (status, error, files)",
    }

    def save_manifest(status: str | None = None) -> None:
        if status:
            manifest["status"] = status
        store.write_json_atomic(manifest, out / store.MANIFEST)

    def save_quietly(status: str, error: str | None = None) -> None:
        session["finished_at"] = store.now()
        if error:
            session["error"] = error
        with contextlib.suppress(Exception):  # e.g. the disk is full: the runs still say it all
            save_manifest(status)

    save_manifest()  # first, so that the folder is recognisably ours from now on
    store.runs_dir(out).mkdir(exist_ok=True)
    store.remove_stale_tmp(store.runs_dir(out))
    token = store.new_token(out)
    n_failed = 0
    warned: list[str] = []
    try:
        _sweep(cfg, out, plan, backend, token, console, quiet, counts, failed_ids, warned,
               save_manifest)  # fmt: skip
        n_failed = counts["failed"]
        if warned and not quiet:
            console.print(
                f"{len(warned)} run(s) logged warnings, kept under 'log' in their run.json "
                f"(e.g. {out}/runs/{sorted(warned)[0]}/run.json)"
            )
        try:
            _summary, tables = store.build_summary(out, plan.iter_specs(), cfg.swept_paths())
            manifest["tables"] = tables
            session["finished_at"] = store.now()
            manifest["finished_at"] = session["finished_at"]
            save_manifest("complete" if n_failed == 0 else "failed")
        except BaseException:
            # a summary without a true manifest would contradict it: leave the runs only
            for name in [store.SUMMARY, *(f"{t}.parquet" for t in manifest["tables"])]:
                with contextlib.suppress(OSError):
                    (out / name).unlink()
            raise
    except KeyboardInterrupt as exc:
        with _no_interrupts():
            backend.abort()
            save_quietly("interrupted", type(exc).__name__)
        console.print(
            f"[yellow]interrupted[/]: finished runs are kept; continue with --resume "
            f"(results in {out})"
        )
        raise
    except BaseException as exc:
        with _no_interrupts():
            backend.abort()
            save_quietly("failed", f"{type(exc).__name__}: {exc}")
        raise

    result = SweepResult(
        out_dir=out,
        n_runs=n_runs,
        n_ok=counts["ok"],
        n_failed=n_failed,
        n_reused=counts["reused"],
        failed=list(failed_ids),
    )
    if report and result.n_ok:  # analysis list empty = every analysis (analysis.report)
        result.report_error = _build_report(out, console, quiet, workers)
    return result


_MAX_FAILED_LISTED = 50


def _sweep(
    cfg: ExperimentConfig,
    out: Path,
    plan: Plan,
    backend: Backend,
    token: str,
    console: Console,
    quiet: bool,
    counts: dict[str, int],
    failed_ids: list[str],
    warned: list[str],
    save_manifest: Any,
) -> None:
    """Stream the plan through the backend, keeping at most ``2 x slots`` tasks in flight."""
    if not quiet:
        console.print(
            f"[bold]{cfg.name}[/]: {plan.n_runs} runs ({plan.n_combinations} combinations x "
            f"{cfg.sweep.replications} replications) on {backend.describe()} -> {out}"
        )
    progress = make_progress(console, quiet)
    with progress:
        bar = progress.add_task("runs", total=plan.n_runs, failed=0, running=0)

        def reused(_spec: Any) -> None:
            counts["reused"] += 1
            counts["ok"] += 1
            counts["pending"] -= 1
            progress.advance(bar)

        def settle(task: RunTask, record: dict[str, Any]) -> None:
            counts["pending"] -= 1
            if record.get("n_log"):
                warned.append(task.run_id)
            if record["status"] != "ok":
                counts["failed"] += 1
                if len(failed_ids) < _MAX_FAILED_LISTED:
                    failed_ids.append(task.run_id)
                progress.console.print(f"[red]run {task.run_id} failed:[/] {record.get('error')}")
            else:
                counts["ok"] += 1
            progress.advance(bar)

        pending = _Peekable(_tasks(cfg, plan.iter_specs(), out, token, reused))
        in_flight: dict[Future, RunTask] = {}
        # in-process submit() runs the task at once: one at a time keeps the bar live
        window = 1 if backend.kind == "in-process" else 2 * backend.slots
        last_save = time.monotonic()
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
            progress.update(
                bar, failed=counts["failed"], running=min(len(in_flight), backend.slots)
            )
            if time.monotonic() - last_save > MANIFEST_EVERY_S:
                save_manifest()  # compact: counts only, so cheap at any sweep size
                last_save = time.monotonic()
                if backend.kind == "dask":  # SLURM jobs start (and end) mid-sweep
                    window = 2 * backend.refresh()


def _build_report(out: Path, console: Console, quiet: bool, workers: int | None
                  ) -> str | None:
    """Run the analysis layer's report on the stored results; return an error text or None.
    Its figures are drawn by as many processes as `--workers` allows (spare cores by default)."""
    import traceback

    try:
        from marketplace.analysis.figure_pool import default_processes
        from marketplace.analysis.report import build_report
    except ImportError as exc:
        return f"analysis report not available: {exc}"
    processes = default_processes() if workers is None else min(workers, default_processes())
    try:
        with console.status("building the report", spinner="dots") if not quiet else _null():
            build_report(out, processes=processes)
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
