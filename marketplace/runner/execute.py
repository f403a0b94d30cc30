"""The function one worker runs for one run: simulate, compute metrics, write the run folder.

It runs wherever the backend puts it (this process, a pool process, a Dask worker), computes the
per-run metrics there and writes ``runs/<run_id>/`` there, then returns a record of a few hundred
bytes, so the parent's memory stays flat however many runs a sweep has. A run that raises is
written as ``status: failed`` with its traceback and does not stop the sweep.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from marketplace.runner import store

MODEL_TABLES = ("contracts", "freelancers", "clients", "timeseries")


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (small and picklable)."""

    run_id: str
    combination: int
    replication: int
    seed: int
    overrides: dict[str, Any]
    base_params: dict[str, Any]  # ModelParams.model_dump(mode="json", by_alias=True)
    runs_dir: str
    token: str
    snapshot_every_weeks: int = 26
    store_contracts: bool = False  # the contract table is always built for the metrics
    model_tables: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _base_record(task: RunTask) -> dict[str, Any]:
    return {
        "run_id": task.run_id,
        "combination": task.combination,
        "replication": task.replication,
        "seed": task.seed,
        "overrides": dict(task.overrides),
    }


def _metrics(outputs: Any, params: Any) -> tuple[dict[str, float], dict[str, Any]]:
    from marketplace.analysis.metrics import run_metrics

    scalars, tables = run_metrics(outputs, params)
    return dict(scalars), dict(tables)


def simulate_and_measure(task: RunTask) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the model and its metrics; return ``(run.json record, tables to store)``."""
    from marketplace.model import simulate
    from marketplace.model.params import ModelParams

    params = ModelParams.model_validate(task.base_params).with_overrides(task.overrides)
    # metrics always see the contract table; outputs.contracts only decides whether it is stored
    outputs = simulate(
        params,
        seed=task.seed,
        snapshot_every_weeks=task.snapshot_every_weeks,
        keep_contracts=True,
    )
    scalars, metric_tables = _metrics(outputs, params)
    tables: dict[str, Any] = {}
    if task.model_tables:
        for name in MODEL_TABLES:
            if name == "contracts" and not task.store_contracts:
                continue
            df = getattr(outputs, name, None)
            if df is not None:
                tables[name] = df
    for name, df in metric_tables.items():
        if name in tables or name in store.RESERVED_TABLES or name in MODEL_TABLES:
            raise ValueError(
                f"metric table name {name!r} collides with a model output table or a results "
                f"file; rename it in marketplace.analysis.metrics.run_metrics"
            )
        tables[name] = df
    record = _base_record(task)
    record.update(
        status="ok",
        params=params.model_dump(mode="json", by_alias=True),
        metrics=scalars,
        tables={
            "model": [n for n in tables if n not in metric_tables],
            "metrics": list(metric_tables),
        },
    )
    return record, tables


class _Capture(logging.Handler):
    """Collects the warnings logged during a run (kept in run.json instead of flooding the
    terminal from every worker)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.lines: list[str] = []
        self.thread = threading.get_ident()  # a Dask worker may run several runs in threads

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one task and write its folder; return ``{run_id, status, elapsed_s, error}``."""
    store.check_token(task.runs_dir, task.token)  # wrong folder: raise, write nothing
    start, cpu_start = time.perf_counter(), time.thread_time()
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    try:
        record, tables = simulate_and_measure(task)
    except Exception as exc:
        record = failed_record(task, exc, traceback.format_exc())
        tables = {}
    finally:
        root.removeHandler(capture)
    if capture.lines:
        record["log"] = capture.lines
    store.write_run(task.runs_dir, task.run_id, record, tables)
    return {
        "run_id": task.run_id,
        "status": record["status"],
        "elapsed_s": round(time.perf_counter() - start, 3),
        "cpu_s": round(time.thread_time() - cpu_start, 3),  # CPU this run got (machine load)
        "error": record.get("error"),
        "n_log": len(capture.lines),
    }


def failed_record(task: RunTask, exc: BaseException, tb: str) -> dict[str, Any]:
    record = _base_record(task)
    record.update(
        status="failed",
        error=f"{type(exc).__name__}: {exc}",
        traceback=tb,
    )
    return record


def record_failure(task: RunTask, exc: BaseException) -> dict[str, Any]:
    """Called by the parent when the backend itself failed the task (worker died, ...)."""
    tb = "".join(traceback.format_exception(exc))
    record = failed_record(task, exc, tb)
    if Path(task.runs_dir).is_dir():
        store.write_run(task.runs_dir, task.run_id, record)
    return {"run_id": task.run_id, "status": "failed", "elapsed_s": None, "error": record["error"]}
