"""Sweep progress: the terminal bar reads 'elapsed ... left ...'; outside a terminal, plain lines
appear while the sweep runs (every N runs or every 30 s), not only at the end."""

from __future__ import annotations

import io

from rich.console import Console

from marketplace.runner.progress import LogProgress, make_progress


def test_terminal_bar_puts_each_time_after_its_word():
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    progress = make_progress(console)
    task = progress.add_task("runs", total=4, completed=0, failed=0, running=1)
    progress.advance(task)
    screen = Console(file=io.StringIO(), width=160, record=True)
    screen.print(progress.get_renderable())
    text = screen.export_text().strip()
    assert "elapsed 0:00:0" in text
    assert text.index("elapsed") < text.index("left")
    after_left = text[text.index("left") + len("left"):].strip()
    assert after_left[:1].isdigit() or after_left.startswith("-"), text  # the time follows "left"


def test_outside_a_terminal_plain_lines_every_n_runs_and_every_30_s():
    now = [0.0]
    stream = io.StringIO()
    console = Console(file=io.StringIO(), force_terminal=False)
    assert isinstance(make_progress(console), LogProgress)
    progress = LogProgress(console, every_runs=5, every_s=30.0, stream=stream,
                           clock=lambda: now[0])
    with progress:
        task = progress.add_task("runs", total=20, completed=0, failed=0, running=2)
        for _ in range(4):  # 4 runs in 8 s: nothing yet
            now[0] += 2.0
            progress.advance(task)
        assert stream.getvalue() == ""
        now[0] += 2.0
        progress.advance(task)  # the 5th run: a line
        assert stream.getvalue().splitlines() == [
            "runs 5/20 (25%), 0 failed, 2 running, elapsed 0:00:10, left 0:00:30"]
        now[0] += 31.0  # a slow run: the 30-second line comes without a finished run
        progress.update(task, failed=1, running=2)
        assert stream.getvalue().splitlines()[-1].startswith("runs 5/20 (25%), 1 failed")
    assert stream.getvalue().splitlines()[-1].startswith("runs 5/20")  # a last line at the end


def test_resumed_runs_do_not_make_the_estimate_optimistic():
    now = [0.0]
    stream = io.StringIO()
    progress = LogProgress(Console(file=io.StringIO()), every_runs=1, stream=stream,
                           clock=lambda: now[0])
    task = progress.add_task("runs", total=10, completed=8, failed=0, running=1)
    now[0] += 60.0
    progress.advance(task)  # one new run in 60 s, one left: 60 s, not 60/9 s
    assert stream.getvalue().strip().endswith("left 0:01:00")
