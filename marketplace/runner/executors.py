"""Execution backends behind one ``concurrent.futures.Executor`` interface.

* ``workers=1``: :class:`InProcessExecutor`, runs each task in this process (debuggable, no pickling
  of results, no start-up cost);
* ``workers=N`` (default: every core this process may use): ``ProcessPoolExecutor`` started with
  the ``forkserver`` context (``spawn`` where that is missing), never ``fork``: forking a process
  that holds threads (rich's progress refresh, Dask's event loop) is unsafe;
* ``scheduler="tcp://host:port"``: an existing Dask distributed cluster through
  ``distributed.Client(address).get_executor()``. Dask is imported only here, only when asked for.

Every backend runs the same task function (:func:`marketplace.runner.execute.execute_run`), which
writes its run folder where it runs and returns only a small record.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class InProcessExecutor(Executor):
    """Runs each submitted call immediately in the calling process."""

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future = Future()
        future.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


@dataclass
class Backend:
    """An open executor plus what the orchestrator needs to know about it."""

    executor: Executor
    kind: str  # "in-process", "process-pool" or "dask"
    slots: int  # tasks that can run at the same time
    address: str | None = None
    count_slots: Callable[[], int] | None = None  # Dask: workers may join (or leave) mid-sweep
    aborted: bool = False

    def abort(self) -> None:
        """Stop at once (Ctrl-C, SIGTERM, an error): cancel queued tasks and end the workers
        without waiting for running runs (their half-written folders are temporary ones that
        ``--resume`` deletes). Safe to call twice."""
        if self.aborted:
            return
        self.aborted = True
        if isinstance(self.executor, ProcessPoolExecutor):
            processes = list((getattr(self.executor, "_processes", None) or {}).values())
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.kill()
            self.executor.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(timeout=2)
        else:
            with contextlib.suppress(Exception):
                self.executor.shutdown(wait=False, cancel_futures=True)

    def refresh(self) -> int:
        if self.count_slots is not None:
            with contextlib.suppress(Exception):  # scheduler briefly unreachable: keep count
                self.slots = max(1, self.count_slots())
        return self.slots

    def describe(self) -> str:
        if self.kind == "dask":
            return f"Dask cluster {self.address} ({self.slots} worker threads)"
        if self.kind == "process-pool":
            return f"local process pool ({self.slots} workers)"
        return "in-process (1 worker)"


def available_cores() -> int:
    """Cores this process may run on (respects CPU affinity / cgroup-limited sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# Imported once by the fork server, so each pool worker starts with them loaded. The last ones
# are what the per-run metrics import on first use (rdrobust, rddensity with sympy, statsmodels,
# scipy.stats: about 2.4 CPU-s); imported by each worker they cost that once per worker.
_PRELOAD = ["marketplace.runner.execute", "marketplace.model", "marketplace.analysis.metrics",
            "scipy.stats", "statsmodels.regression.linear_model", "statsmodels.duration.survfunc",
            "rdrobust", "rddensity"]


def _exit_with_parent(parent_pid: int, poll_seconds: float = 1.0) -> None:
    """Pool-worker initializer: end this worker when the sweep's main process is gone, and
    leave Ctrl-C to the parent.

    Ctrl-C reaches every process of the terminal's group; a worker interrupted mid-task would
    send a KeyboardInterrupt back through the pool's queues while the parent shuts the pool
    down, which could hang it. The parent ends the workers itself (Backend.abort).

    A killed parent (SIGKILL, OOM) cannot shut its pool down, and forkserver workers are not its
    children, so without this they would finish their tasks and linger. Completed runs are
    already safe on disk (atomic renames), so exiting at once loses nothing a resume needs.
    """

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:  # pid reused by another user's process: parent is gone
                os._exit(1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _mp_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


_ADDRESS = re.compile(
    r"^(?:(tcp|tls|ucx|ws|wss)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$"
)


def check_scheduler_address(address: str) -> None:
    """Refuse a scheduler address that cannot be one (``notaurl``), before connecting."""
    match = _ADDRESS.match(address.strip())
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ValueError(
            f"--scheduler {address!r} is not a Dask scheduler address; expected "
            "[PROTOCOL://]HOST:PORT such as tcp://10.0.0.5:8786 (protocol tcp, tls, ucx, ws "
            "or wss; port 1-65535)"
        )


@contextmanager
def open_backend(
    workers: int | None = None, scheduler: str | None = None, *, connect_timeout: float = 30
) -> Iterator[Backend]:
    """Open the backend asked for, and close it (and only what it opened) on exit."""
    if scheduler:
        check_scheduler_address(scheduler)
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
            raise RuntimeError("--scheduler needs dask[distributed] installed") from exc
        client = Client(scheduler, timeout=connect_timeout)
        try:

            def count() -> int:
                return sum(client.nthreads().values())

            executor = client.get_executor(pure=False)
            try:
                yield Backend(executor, "dask", max(1, count()), scheduler, count)
            finally:
                with contextlib.suppress(Exception):
                    executor.shutdown(wait=False)
        finally:
            with contextlib.suppress(Exception):
                client.close(timeout=5)
        return
    n = workers or available_cores()
    if n < 1:
        raise ValueError(f"--workers must be at least 1 (got {workers})")
    if n == 1:
        executor = InProcessExecutor()
        try:
            yield Backend(executor, "in-process", 1)
        finally:
            executor.shutdown()
        return
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=_mp_context(),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )
    backend = Backend(pool, "process-pool", n)
    try:
        yield backend
    finally:
        if not backend.aborted:
            pool.shutdown(wait=True, cancel_futures=True)
