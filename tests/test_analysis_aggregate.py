"""Across-replication summaries (marketplace.analysis.aggregate)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from marketplace.analysis.aggregate import (
    aggregate_summary,
    bootstrap_diff_ci,
    bootstrap_mean_ci,
    to_wide,
)


def _summary() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 20
    df = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(3 * n)],
        "combination": np.repeat([0, 1, 2], n),
        "replication": np.tile(np.arange(n), 3),
        "seed": np.arange(3 * n),
        "clients.min_jss": [80.0] * n + [90.0] * n + [None] * n,
        "spearman_jss_quality": np.r_[rng.normal(0.6, 0.05, n), rng.normal(0.3, 0.05, n),
                                      rng.normal(0.0, 0.05, n)],
        "constant": 2.0,
        "sometimes_nan": np.r_[np.full(n, np.nan), [1.5] + [np.nan] * (n - 1),
                               rng.normal(5, 1, n)],
    })
    return df


def test_mean_ci_contains_the_mean_and_is_seeded():
    x = np.random.default_rng(1).normal(10, 2, 25)
    mean, low, high, n = bootstrap_mean_ci(x, seed=3)
    assert n == 25 and mean == pytest.approx(x.mean())
    assert low < mean < high
    assert high - low == pytest.approx(2 * 1.96 * x.std(ddof=1) / 5, rel=0.3)  # ~ normal CI
    assert bootstrap_mean_ci(x, seed=3) == (mean, low, high, n)


def test_mean_ci_edge_cases():
    mean, low, high, n = bootstrap_mean_ci([7.0])
    assert (mean, n) == (7.0, 1) and math.isnan(low) and math.isnan(high)
    mean, low, _, n = bootstrap_mean_ci([np.nan, np.nan])
    assert n == 0 and math.isnan(mean) and math.isnan(low)
    assert bootstrap_mean_ci([2.0] * 5) == (2.0, 2.0, 2.0, 5)
    assert bootstrap_mean_ci([1.0, np.nan, 3.0, np.inf], min_n=2)[3] == 2
    assert bootstrap_mean_ci([1.0, np.nan, 3.0, np.inf])[3] == 2  # non-finite values dropped


def test_aggregate_per_combination_long_format():
    summary = _summary()
    agg = aggregate_summary(summary, ["clients.min_jss"], seed=0)
    assert list(agg.columns) == ["clients.min_jss", "metric", "mean", "ci_low", "ci_high", "n",
                                 "n_runs"]
    # run identifiers are not metrics; the three combinations (None included) x three metrics
    assert set(agg["metric"]) == {"spearman_jss_quality", "constant", "sometimes_nan"}
    assert len(agg) == 9
    rho = agg.loc[agg["metric"] == "spearman_jss_quality"]
    for _, row in rho.iterrows():
        assert row["ci_low"] < row["mean"] < row["ci_high"]
        assert row["n"] == row["n_runs"] == 20
    by_value = rho.set_index("clients.min_jss")["mean"]
    assert by_value.loc[80.0] == pytest.approx(summary["spearman_jss_quality"][:20].mean())
    assert rho["clients.min_jss"].isna().sum() == 1  # "no filter" is its own group
    odd = agg.loc[agg["metric"] == "sometimes_nan"].reset_index(drop=True)
    assert list(odd["n"]) == [0, 1, 20] or sorted(odd["n"]) == [0, 1, 20]
    one = odd.loc[odd["n"] == 1].iloc[0]
    assert one["mean"] == 1.5 and math.isnan(one["ci_low"])
    const = agg.loc[agg["metric"] == "constant"]
    assert (const["ci_low"] == 2.0).all() and (const["ci_high"] == 2.0).all()
    # seeded: identical on a second call
    pd.testing.assert_frame_equal(agg, aggregate_summary(summary, ["clients.min_jss"], seed=0))


def test_aggregate_without_by_and_bad_by():
    summary = _summary().drop(columns=["clients.min_jss"])
    agg = aggregate_summary(summary, [])
    assert len(agg) == 3 and (agg["n_runs"] == 60).all()
    with pytest.raises(ValueError, match="not in the summary"):
        aggregate_summary(summary, ["clients.nope"])


def test_to_wide_has_one_row_per_combination():
    agg = aggregate_summary(_summary(), "clients.min_jss")
    wide = to_wide(agg, "clients.min_jss")
    assert len(wide) == 3
    assert {"spearman_jss_quality", "spearman_jss_quality_ci_low",
            "spearman_jss_quality_ci_high", "spearman_jss_quality_n"} <= set(wide.columns)


def test_difference_ci():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 30), rng.normal(1, 1, 30)
    diff, low, high = bootstrap_diff_ci(a, b, seed=1)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert low < diff < high and low > 0
    diff, low, high = bootstrap_diff_ci(a, a + 0.0, seed=1)
    assert low < 0 < high
    assert math.isnan(bootstrap_diff_ci([1.0], [2.0, 3.0])[1])
    # fewer than five runs on one side: a difference but no CI
    diff, low, high = bootstrap_diff_ci(a[:4], b, seed=1)
    assert diff == pytest.approx(b.mean() - a[:4].mean()) and math.isnan(low) and math.isnan(high)


def test_no_ci_from_fewer_than_five_runs():
    """Two runs gave '0.250 [0.000, 0.500]' as a 95% CI (issue 16): below five, no CI."""
    for k in (2, 3, 4):
        mean, low, high, n = bootstrap_mean_ci([0.0, 0.5, 0.1, 0.4][:k], seed=1)
        assert n == k and math.isfinite(mean) and math.isnan(low) and math.isnan(high)
    mean, low, high, n = bootstrap_mean_ci([0.0, 0.5, 0.1, 0.4, 0.3], seed=1)
    assert n == 5 and low < mean < high


def test_p_values_are_summarised_as_share_of_runs_below_005():
    summary = pd.DataFrame({
        "run_id": [f"r{i}" for i in range(8)],
        "g": [0] * 4 + [1] * 4,
        "density_test_p_90": [0.01, 0.2, 0.04, np.nan, 0.5, 0.6, 0.7, 0.03],
        "spearman_jss_quality": np.linspace(0.1, 0.8, 8),
    })
    agg = aggregate_summary(summary, ["g"], seed=0)
    assert "density_test_p_90" not in set(agg["metric"])
    share = agg.loc[agg["metric"] == "density_test_p_90_share_below_05"].set_index("g")
    assert share.loc[0, "mean"] == pytest.approx(2 / 3) and share.loc[0, "n"] == 3
    assert share.loc[1, "mean"] == pytest.approx(1 / 4) and share.loc[1, "n"] == 4
    assert share["ci_low"].isna().all()
