"""Draw and save a report's figures in several processes at once.

A report's figures are independent of each other and matplotlib draws on one core, so on a
machine with cores to spare a few helper processes draw some of them while this process draws
the rest: `marketplace report` on a 24-run sweep spends most of its time drawing 14 figures.
The helpers are started first (each imports matplotlib and the analysis modules, ~2 s) so they
get ready while the caller reads the results.

Each figure is written by `figures.save_figure` whichever process draws it, so the files are
the same bytes as when drawn in one process (tests/test_analysis_report.py compares them). A
helper that cannot start or dies leaves its figures to this process; an error raised by a
figure's own code stops the report as it would in one process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

MAX_HELPERS = 2
"""Helper processes at most: beyond two, their start-up (~2 s each) outweighs the 5-10 s of
drawing they share on a sweep's report."""

T = TypeVar("T")

FigureJob = tuple[Callable[[], Any], Path]
"""A figure to draw: a picklable callable that builds the matplotlib Figure (a
`functools.partial` of a `marketplace.analysis.figures` function) and its file stem."""


def default_processes() -> int:
    """Processes to draw a report's figures with: this one plus a helper per spare core, at
    most `MAX_HELPERS` helpers."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return 1 + max(0, min(cores - 1, MAX_HELPERS))


def _warm_up() -> None:
    """Import what drawing needs and load the fonts, so the first figure a helper draws costs
    what it costs this process."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    import marketplace.analysis.figures  # noqa: F401

    fig = Figure()
    fig.text(0.5, 0.5, "0")
    FigureCanvasAgg(fig).draw()


def _draw(build: Callable[[], Any], stem: Path) -> None:
    from marketplace.analysis import figures

    figures.save_figure(build(), stem)


class FigurePool:
    """`processes - 1` helper processes (spawned: nothing of this process is inherited) that
    share a report's figures with this one. Use as a context manager; without helpers it draws
    everything here."""

    def __init__(self, processes: int = 1) -> None:
        self._executor: ProcessPoolExecutor | None = None
        self._helpers = max(0, min(int(processes) - 1, MAX_HELPERS))
        if self._helpers == 0:
            return
        try:
            self._executor = ProcessPoolExecutor(
                self._helpers, mp_context=multiprocessing.get_context("spawn"))
            for _ in range(self._helpers):  # start them all now, while the caller reads data
                self._executor.submit(_warm_up)
        except (OSError, RuntimeError, ValueError) as exc:  # no processes here: draw alone
            log.info("figures drawn in one process: helpers could not start (%s)", exc)
            self.close()

    def __enter__(self) -> FigurePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def draw_all(self, jobs: Iterable[FigureJob], meanwhile: Callable[[], T] | None = None
                 ) -> T | None:
        """Draw and save every figure; return when all are written. Jobs are taken in order by
        whichever process is free (so put the slowest first), this one included once it has
        run `meanwhile` (other work for this process while the helpers draw), whose result is
        returned."""
        pending = list(jobs)[::-1]  # pop() takes them in order
        lock = threading.Lock()
        errors: list[BaseException] = []
        returned: list[FigureJob] = []  # taken by a helper that broke: drawn here at the end

        def take() -> FigureJob | None:
            with lock:
                return pending.pop() if pending and not errors else None

        def feed(executor: ProcessPoolExecutor) -> None:
            while (job := take()) is not None:
                try:
                    executor.submit(_draw, *job).result()
                except BrokenProcessPool as exc:
                    log.info("a figure helper stopped (%s): drawing its figures here", exc)
                    with lock:
                        returned.append(job)
                    return
                except BaseException as exc:  # the figure's own error: stop the report
                    with lock:
                        errors.append(exc)
                    return

        feeders = [threading.Thread(target=feed, args=(self._executor,), daemon=True)
                   for _ in range(self._helpers if self._executor is not None else 0)]
        for thread in feeders:
            thread.start()
        result = None
        try:
            if meanwhile is not None:
                result = meanwhile()
            while (job := take()) is not None:
                _draw(*job)
        except BaseException as exc:
            with lock:
                errors.append(exc)
        for thread in feeders:
            thread.join()
        if errors:
            raise errors[0]
        for job in returned:
            _draw(*job)
        return result
