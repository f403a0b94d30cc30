"""Figures drawn by helper processes (marketplace.analysis.figure_pool): the same files as one
process writes, errors that stop the report, and helpers that break without losing a figure."""

from __future__ import annotations

import os
import shutil
import time
from functools import partial

import pytest
from matplotlib.figure import Figure

from marketplace.analysis.figure_pool import FigurePool, default_processes
from marketplace.analysis.report import build_report
from marketplace.analysis.synthetic import write_synthetic_results


def _tiny_figure(label: str) -> Figure:
    fig = Figure(figsize=(2, 2))
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title(label)
    return fig


def _pid_figure(label: str, marker_dir) -> Figure:
    """A figure that notes which process drew it."""
    (marker_dir / f"{label}.pid").write_text(str(os.getpid()))
    return _tiny_figure(label)


def _failing_figure(label: str) -> Figure:
    raise ValueError(f"no data for {label}")


def _busy_for_a_second() -> None:
    """This process's other work while the helpers draw (so a helper takes the first jobs)."""
    time.sleep(1.0)


def _dies_in_helper(parent_pid: int, label: str) -> Figure:
    """A figure whose helper process dies while drawing it (the pool breaks)."""
    if os.getpid() != parent_pid:
        os._exit(3)
    return _tiny_figure(label)


def test_report_figures_are_the_same_bytes_from_helpers(tmp_path):
    one = tmp_path / "one"
    write_synthetic_results(one, n_freelancers=600, replications=5)
    several = tmp_path / "several"
    shutil.copytree(one, several)
    build_report(one, processes=1)
    build_report(several, processes=3)
    names = sorted(p.name for p in (one / "figures").iterdir())
    assert len(names) >= 16 and not [n for n in names if ".tmp-" in n]
    assert names == sorted(p.name for p in (several / "figures").iterdir())
    for name in names:
        assert (one / "figures" / name).read_bytes() == (
            several / "figures" / name).read_bytes(), name
    assert (one / "report.md").read_text().replace(str(one), "<results>") == (
        several / "report.md").read_text().replace(str(several), "<results>")


def test_helpers_draw_some_figures_and_this_process_the_text(tmp_path):
    out, markers = tmp_path / "figures", tmp_path / "pids"
    markers.mkdir()
    jobs = [(partial(_pid_figure, f"f{i}", markers), out / f"f{i}") for i in range(8)]
    with FigurePool(2) as pool:
        text = pool.draw_all(jobs, meanwhile=lambda: "written meanwhile")
    assert text == "written meanwhile"
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"f{i}.{ext}" for i in range(8) for ext in ("pdf", "png"))
    drawn_by = {int(p.read_text()) for p in markers.iterdir()}
    assert len(list(markers.iterdir())) == 8
    assert drawn_by - {os.getpid()}  # a helper drew some


def test_a_figure_error_in_a_helper_stops_the_drawing(tmp_path):
    jobs = [(partial(_failing_figure, "first"), tmp_path / "bad")]
    jobs += [(partial(_tiny_figure, f"f{i}"), tmp_path / f"f{i}") for i in range(3)]
    with FigurePool(2) as pool, pytest.raises(ValueError, match="no data for first"):
        # the helper takes the first job while this process writes the text
        pool.draw_all(jobs, meanwhile=_busy_for_a_second)
    assert not (tmp_path / "bad.png").exists()


def test_a_helper_that_dies_leaves_its_figures_to_this_process(tmp_path):
    jobs = [(partial(_dies_in_helper, os.getpid(), f"f{i}"), tmp_path / f"f{i}")
            for i in range(4)]
    with FigurePool(2) as pool:
        pool.draw_all(jobs, meanwhile=_busy_for_a_second)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".png") == [
        f"f{i}.png" for i in range(4)]


def test_one_process_draws_alone_and_default_counts_spare_cores():
    pool = FigurePool(1)
    assert pool._executor is None
    cores = len(os.sched_getaffinity(0))
    assert default_processes() == 1 + min(cores - 1, 2)
