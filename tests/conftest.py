"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SMALL_QUICKSTART = [
    "model.n_freelancers=400",
    "model.weeks=110",
    "model.burn_in_weeks=60",
    "sweep.replications=2",
    "sweep.grid.clients.rater_mix.dishonest=[0.0, 0.3]",
    "sweep.grid.rules=[upwork-2015, upwork-2023]",  # a second, non-numeric swept parameter
]
"""The quickstart shrunk to 8 small runs (2 x 2 combinations x 2 replications)."""


@pytest.fixture(scope="session")
def small_results(tmp_path_factory) -> Path:
    """A fresh results folder (runs, summary, aggregate, metric tables, figures, report) made
    once per session by the runner from the quickstart config with SMALL_QUICKSTART overrides."""
    from marketplace.runner import load_config, run_experiment

    cfg = load_config(ROOT / "experiments" / "quickstart.yaml", overrides=SMALL_QUICKSTART)
    out = tmp_path_factory.mktemp("small_results") / "quickstart_small"
    result = run_experiment(cfg, out, workers=2, quiet=True)
    assert result.ok, result
    return out
