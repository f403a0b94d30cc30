"""Across replications: every metric per parameter combination as a mean with a 95% bootstrap CI.

`aggregate_summary(summary, by)` returns a **long** table, one row per (combination, metric):

    <by columns...>, metric, mean, ci_low, ci_high, n, n_runs

`n` counts the runs where the metric is a number (NaN runs are left out of the mean and the CI);
`n_runs` counts all runs of the combination. The CI is scipy's bootstrap of the mean (BCa, falling
back to the percentile interval when BCa is undefined), seeded, so the same summary always gives the
same table. A bootstrap CI from a handful of runs is too narrow to mean anything (two runs give a
"95% CI" that is just their range), so with fewer than `MIN_CI_RUNS` (5) numbers the CI is NaN and
the report says why; when every run gives the same value the CI is that value.

Per-run p-values (`P_VALUE_METRICS`) are not averaged: their row is named
`<metric>_share_below_05` and holds the share of runs whose p-value is below 0.05 (`mean`), with no
CI; `n` is the number of runs with a p-value.
`to_wide` turns the long table into one row per combination with `<metric>`, `<metric>_ci_low`,
`<metric>_ci_high` and `<metric>_n` columns.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

CONFIDENCE_LEVEL = 0.95
N_RESAMPLES = 2000
ID_COLUMNS = frozenset({"run_id", "combination", "replication", "seed"})
"""Summary columns that identify a run rather than measure it."""
AGGREGATE_COLUMNS = ("metric", "mean", "ci_low", "ci_high", "n", "n_runs")
MIN_CI_RUNS = 5
"""Fewest finite values (runs) a bootstrap CI is computed from; below it the CI is NaN."""
P_VALUE_METRICS = frozenset({"rd_pvalue_90", "density_test_p_90"})
"""Summary columns that hold a test's p-value in each run."""
SIGNIFICANCE = 0.05
P_SHARE_SUFFIX = "_share_below_05"


def p_share_name(metric: str) -> str:
    """The aggregate row of a p-value metric: the share of runs with p < 0.05."""
    return f"{metric}{P_SHARE_SUFFIX}"


def is_p_share(metric: str) -> bool:
    return metric.endswith(P_SHARE_SUFFIX) and metric[: -len(P_SHARE_SUFFIX)] in P_VALUE_METRICS


def too_few_for_ci(n: int) -> bool:
    """True when `n` finite values are too few for a CI (see MIN_CI_RUNS)."""
    return 0 < n < MIN_CI_RUNS


def bootstrap_mean_ci(values: Sequence[float] | np.ndarray, seed: int | Sequence[int] = 0,
                      confidence_level: float = CONFIDENCE_LEVEL,
                      n_resamples: int = N_RESAMPLES, min_n: int = MIN_CI_RUNS
                      ) -> tuple[float, float, float, int]:
    """(mean, ci_low, ci_high, n) of the finite values; seeded scipy.stats.bootstrap. The CI is
    NaN with fewer than `min_n` values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(x.mean())
    if n < max(2, min_n):
        return mean, math.nan, math.nan, n
    if np.all(x == x[0]):
        return mean, mean, mean, n
    low = high = math.nan
    for method in ("BCa", "percentile"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = stats.bootstrap((x,), np.mean, confidence_level=confidence_level,
                                  n_resamples=n_resamples, method=method, vectorized=True,
                                  rng=np.random.default_rng(seed))
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if math.isfinite(low) and math.isfinite(high):
            break
    return mean, low, high, n


def bootstrap_diff_ci(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                      seed: int | Sequence[int] = 0, confidence_level: float = CONFIDENCE_LEVEL,
                      n_resamples: int = N_RESAMPLES, min_n: int = MIN_CI_RUNS
                      ) -> tuple[float, float, float]:
    """(mean(b) - mean(a), ci_low, ci_high): independent-samples bootstrap of a difference of
    means (percentile interval, seeded); NaN CI when either side has fewer than `min_n` values."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if x.size == 0 or y.size == 0:
        return math.nan, math.nan, math.nan
    diff = float(y.mean() - x.mean())
    if min(x.size, y.size) < max(2, min_n):
        return diff, math.nan, math.nan
    if np.all(x == x[0]) and np.all(y == y[0]):
        return diff, diff, diff

    def statistic(u: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(v, axis=axis) - np.mean(u, axis=axis)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((x, y), statistic, confidence_level=confidence_level,
                              n_resamples=n_resamples, method="percentile", vectorized=True,
                              rng=np.random.default_rng(seed))
    return diff, float(res.confidence_interval.low), float(res.confidence_interval.high)


def metric_columns(summary: pd.DataFrame, by: Sequence[str]) -> list[str]:
    """Numeric summary columns that are neither run identifiers nor grouping columns."""
    skip = set(by) | ID_COLUMNS
    return [c for c in summary.columns
            if c not in skip and (pd.api.types.is_numeric_dtype(summary[c])
                                  and not pd.api.types.is_bool_dtype(summary[c]))]


def aggregate_summary(summary: pd.DataFrame, by: Sequence[str] | str | None, seed: int = 0,
                      metrics: Sequence[str] | None = None,
                      confidence_level: float = CONFIDENCE_LEVEL,
                      n_resamples: int = N_RESAMPLES) -> pd.DataFrame:
    """Mean, bootstrap CI and counts of every metric for each combination of the `by` columns.

    `by` may be empty (one group: all runs). Missing values in a `by` column form their own group
    (e.g. a `min_jss` of None meaning "no filter"). Long format, see the module docstring.
    """
    by = [by] if isinstance(by, str) else list(by or [])
    missing = [c for c in by if c not in summary.columns]
    if missing:
        raise ValueError(f"aggregate_summary: by column(s) {missing} not in the summary; "
                         f"columns are {list(summary.columns)}")
    metrics = list(metrics) if metrics is not None else metric_columns(summary, by)
    rows = []
    groups = summary.groupby(by, dropna=False, sort=True) if by else [((), summary)]
    for group_index, (key, frame) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        for metric_index, metric in enumerate(metrics):
            values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=float,
                                                                            na_value=np.nan)
            if metric in P_VALUE_METRICS:
                p = values[np.isfinite(values)]
                share = float(np.mean(p < SIGNIFICANCE)) if p.size else math.nan
                rows.append((*key, p_share_name(metric), share, math.nan, math.nan, int(p.size),
                             len(frame)))
                continue
            mean, low, high, n = bootstrap_mean_ci(
                values, seed=(seed, group_index, metric_index),
                confidence_level=confidence_level, n_resamples=n_resamples)
            rows.append((*key, metric, mean, low, high, n, len(frame)))
    out = pd.DataFrame(rows, columns=[*by, *AGGREGATE_COLUMNS])
    out["metric"] = out["metric"].astype("string")
    return out.astype({"n": "int64", "n_runs": "int64"})


def to_wide(aggregate: pd.DataFrame, by: Sequence[str] | str | None) -> pd.DataFrame:
    """One row per combination: `<metric>`, `<metric>_ci_low`, `<metric>_ci_high`, `<metric>_n`."""
    by = [by] if isinstance(by, str) else list(by or [])
    groups = aggregate.groupby(by, dropna=False, sort=False) if by else [((), aggregate)]
    rows = []
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        row: dict = dict(zip(by, key, strict=True))
        for metric, mean, low, high, n in zip(frame["metric"], frame["mean"], frame["ci_low"],
                                             frame["ci_high"], frame["n"], strict=True):
            row.update({metric: mean, f"{metric}_ci_low": low, f"{metric}_ci_high": high,
                        f"{metric}_n": n})
        rows.append(row)
    return pd.DataFrame(rows)
