"""Sweep progress: a live bar in a terminal, plain log lines elsewhere (cluster logs, CI, pipes).

In a terminal the bar reads ``runs ━━━ 12/24 50% 0 failed 2 running  elapsed 0:00:45  left
0:00:44``. Outside one, rich would print nothing until the end, so :class:`LogProgress` prints a
line every `every_runs` finished runs (default: a twentieth of the sweep) or every `every_s`
seconds, whichever comes first, and a last line at the end.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LOG_EVERY_S = 30.0
"""Outside a terminal: the longest pause between two progress lines."""


def make_progress(console: Console, quiet: bool = False) -> Any:
    """A progress display with rich's Progress interface (add_task, advance, update, console)."""
    if quiet or console.is_terminal:
        return Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/] {task.fields[running]} running"),
            TextColumn(" elapsed"),
            TimeElapsedColumn(),
            TextColumn(" left"),
            TimeRemainingColumn(),
            console=console,
            disable=quiet,
            transient=False,
        )
    return LogProgress(console)


def _clock(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-:--:--"
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class LogProgress:
    """Plain, line-by-line progress for logs: same calls as rich's Progress (one task)."""

    def __init__(self, console: Console, every_runs: int | None = None,
                 every_s: float = LOG_EVERY_S, stream: TextIO | None = None,
                 clock: Any = time.monotonic) -> None:
        self.console = console
        self._every_runs = every_runs
        self._every_s = every_s
        self._stream = stream
        self._clock = clock
        self._tasks: dict[int, dict[str, Any]] = {}

    def __enter__(self) -> LogProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        for task_id in self._tasks:
            self._emit(task_id)

    def add_task(self, description: str, total: float, completed: float = 0,
                 **fields: Any) -> int:
        task_id = len(self._tasks)
        now = self._clock()
        self._tasks[task_id] = {
            "description": description, "total": total, "completed": completed,
            "start_completed": completed, "start": now, "last_time": now,
            "last_completed": completed, "fields": fields,
            "every": self._every_runs or max(1, math.ceil(total / 20)),
        }
        return task_id

    def advance(self, task_id: int, advance: float = 1) -> None:
        self._tasks[task_id]["completed"] += advance
        self._maybe_emit(task_id)

    def update(self, task_id: int, **fields: Any) -> None:
        task = self._tasks[task_id]
        for key in ("completed", "total", "description"):
            if key in fields:
                task[key] = fields.pop(key)
        task["fields"].update(fields)
        self._maybe_emit(task_id)

    def _maybe_emit(self, task_id: int) -> None:
        task = self._tasks[task_id]
        due_runs = task["completed"] - task["last_completed"] >= task["every"]
        due_time = self._clock() - task["last_time"] >= self._every_s
        if due_runs or due_time:
            self._emit(task_id)

    def line(self, task_id: int) -> str:
        task = self._tasks[task_id]
        done, total = task["completed"], task["total"]
        elapsed = self._clock() - task["start"]
        ran = done - task["start_completed"]
        left = elapsed / ran * (total - done) if ran > 0 else None
        share = f"{done / total:.0%}" if total else "100%"
        fields = task["fields"]
        return (f"{task['description']} {int(done)}/{int(total)} ({share}), "
                f"{fields.get('failed', 0)} failed, {fields.get('running', 0)} running, "
                f"elapsed {_clock(elapsed)}, left {_clock(left) if done < total else '0:00:00'}")

    def _emit(self, task_id: int) -> None:
        task = self._tasks[task_id]
        text = self.line(task_id)
        if self._stream is not None:
            print(text, file=self._stream, flush=True)
        else:
            self.console.print(text, markup=False, highlight=False)
            (self.console.file or sys.stdout).flush()
        task["last_time"] = self._clock()
        task["last_completed"] = task["completed"]
