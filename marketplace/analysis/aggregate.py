"""Across replications: every metric per parameter combination as a mean with a 95% bootstrap CI.

`aggregate_summary(summary, by)` returns a **long** table, one row per (combination, metric):

    <by columns...>, metric, mean, ci_low, ci_high, n, n_runs

`n` counts the runs where the metric is a number (NaN runs are left out of the mean and the CI);
`n_runs` counts all runs of the combination. The CI is scipy's bootstrap of the mean (BCa, falling
back to the percentile interval when BCa is undefined), seeded, so the same summary always gives the
same table. It is computed by `_bootstrap_interval`, which takes the same draws and does the same
arithmetic as ``scipy.stats.bootstrap`` (tests compare the two bit for bit) without its input checks
and without importing scipy.stats (together about 2 s of every `marketplace report`). A bootstrap CI
from a handful of runs is too narrow to mean anything (two runs give a "95% CI" that is just their
range), so with fewer than `MIN_CI_RUNS` (5) numbers the CI is NaN and the report says why; when
every run gives the same value the CI is that value.

Per-run p-values (`P_VALUE_METRICS`) are not averaged: their row is named
`<metric>_share_below_05` and holds the share of runs whose p-value is below 0.05 (`mean`), with no
CI; `n` is the number of runs with a p-value.
`to_wide` turns the long table into one row per combination with `<metric>`, `<metric>_ci_low`,
`<metric>_ci_high` and `<metric>_n` columns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

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
        low, high = _bootstrap_interval((x,), confidence_level, n_resamples, method,
                                        np.random.default_rng(seed))
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

    low, high = _bootstrap_interval((x, y), confidence_level, n_resamples, "percentile",
                                    np.random.default_rng(seed))
    return diff, low, high


def _bootstrap_interval(samples: tuple[np.ndarray, ...], confidence_level: float,
                        n_resamples: int, method: str, rng: np.random.Generator
                        ) -> tuple[float, float]:
    """The two-sided CI of ``scipy.stats.bootstrap(samples, statistic, method=method,
    vectorized=True, rng=rng)`` (scipy 1.18) for the statistics used here: the mean of one
    sample, or mean(second) - mean(first) of two independent samples; ``method`` "BCa" (one
    sample) or "percentile". Same random draws, same operations in the same order, so the same
    floats (tests/test_analysis_aggregate.py compares both on thousands of samples); NaN where
    scipy's interval is NaN (BCa undefined)."""
    def statistic(*data: np.ndarray) -> np.ndarray:
        if len(data) == 1:
            return np.mean(data[0], axis=-1)
        return np.mean(data[1], axis=-1) - np.mean(data[0], axis=-1)

    # the bootstrap distribution: each sample resampled in turn, one batch of n_resamples rows
    resampled = [x[..., rng.integers(0, x.shape[-1], size=(n_resamples, x.shape[-1]),
                                     dtype="int64")] for x in samples]
    theta_b = statistic(*resampled)
    alpha = (1 - confidence_level) / 2
    with np.errstate(all="ignore"):
        if method == "BCa":
            if len(samples) != 1:
                raise ValueError("BCa is implemented for one sample only")
            levels = _bca_levels(samples[0], theta_b, alpha)
        else:
            a = np.asarray(alpha, dtype=theta_b.dtype)
            levels = np.stack((a, 1 - a), axis=-1)
        low, high = _quantile_linear(theta_b, levels)
    return float(low), float(high)


def _bca_levels(x: np.ndarray, theta_b: np.ndarray, alpha: float) -> np.ndarray:
    """scipy.stats._resampling._bca_interval for the mean of one sample: the two quantile levels
    of the bias-corrected and accelerated interval."""
    from scipy.special import ndtr, ndtri

    theta_hat = np.expand_dims(np.mean(x, axis=-1), axis=-1)
    below = np.count_nonzero(theta_b < theta_hat, axis=-1)
    at_or_below = np.count_nonzero(theta_b <= theta_hat, axis=-1)
    percentile = np.asarray(
        (below + at_or_below).astype(theta_hat.dtype) / (2 * theta_b.shape[-1]),
        dtype=theta_hat.dtype)
    z0_hat = ndtri(percentile)
    # jackknife: row k leaves out observation k
    n = x.shape[-1]
    keep = np.ones((n, n), dtype=bool)
    np.fill_diagonal(keep, False)
    leave_one_out = np.broadcast_to(np.arange(n), (n, n))[keep].reshape((n, n - 1))
    theta_hat_i = np.concatenate([np.mean(x[..., leave_one_out], axis=-1)], axis=-1)
    n_j = float(theta_hat_i.shape[-1])
    theta_hat_dot = np.mean(theta_hat_i, axis=-1, keepdims=True)
    u = (n_j - 1) * (theta_hat_dot - theta_hat_i)
    num = sum([np.sum(u**3, axis=-1) / n_j**3])
    den = sum([np.sum(u**2, axis=-1) / n_j**2])
    a_hat = 1 / 6 * num / den ** (3 / 2)
    z_alpha = float(ndtri(alpha))
    z_1alpha = -z_alpha
    num1 = z0_hat + z_alpha
    alpha_1 = ndtr(z0_hat + num1 / (1 - a_hat * num1))
    num2 = z0_hat + z_1alpha
    alpha_2 = ndtr(z0_hat + num2 / (1 - a_hat * num2))
    return np.stack((alpha_1, alpha_2), axis=-1)


def _quantile_linear(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``scipy.stats.quantile(values, levels, axis=-1)`` (method 'linear', Hyndman-Fan 7) of a
    1-d array without NaNs; NaN at a level that is NaN or outside [0, 1]."""
    y = np.sort(values, axis=-1)
    p = np.asarray(levels, dtype=y.dtype)
    n = np.asarray([y.shape[-1]], dtype=y.dtype)
    p_mask = (p > 1) | (p < 0) | np.isnan(p)
    if np.any(p_mask):
        p = np.where(p_mask, 0.5, p)
    jg = p * n + (1 - p)
    jp1 = jg // 1
    j = jp1 - 1
    g = jg % 1
    g = np.where(j < 0, 0, g)
    j = np.clip(j, 0.0, n - 1)
    jp1 = np.clip(jp1, 0.0, n - 1)
    res = ((1 - g) * np.take_along_axis(y, j.astype(np.int64), axis=-1)
           + g * np.take_along_axis(y, jp1.astype(np.int64), axis=-1))
    return np.where(p_mask, np.nan, res)


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
