"""Compare two experiments: the difference of each metric between matching combinations.

`compare_results(a, b)` reads two results folders (never runs a model), matches their parameter
combinations on the swept parameters they share (values equal in both; all runs of each
experiment form one group when they share none) and, for each metric, reports mean(B) - mean(A)
with a seeded independent-samples bootstrap 95% CI (`aggregate.bootstrap_diff_ci`; no CI with
fewer than 5 runs on a side). Test p-values are compared as the share of runs below 0.05.
`comparison_figure(table)` draws the differences with their CIs, one panel per metric.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from marketplace.analysis import aggregate as agg

COMPARE_COLUMNS = ("metric", "mean_a", "mean_b", "difference", "ci_low", "ci_high", "n_a", "n_b")
DEFAULT_METRICS = ("spearman_jss_quality", "quality_gap_90", "rd_jump_90", "precision_90",
                   "recall_90", "auc_top_quartile", "share_jss_ge_90", "density_test_p_90",
                   "jss_drop_after_one_negative", "newcomer_never_hired_share", "gini_jobs")


def _read(folder: str | Path) -> tuple[pd.DataFrame, list[str]]:
    folder = Path(folder)
    summary_path, manifest_path = folder / "summary.parquet", folder / "manifest.json"
    if not summary_path.is_file() or not manifest_path.is_file():
        raise FileNotFoundError(f"{folder} is not a results folder (needs manifest.json and "
                                "summary.parquet)")
    summary = pd.read_parquet(summary_path)
    swept = json.loads(manifest_path.read_text()).get("swept_parameters") or []
    return summary, [p for p in swept if p in summary.columns]


def compare_results(results_a: str | Path, results_b: str | Path,
                    metrics: Sequence[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """One row per (matching combination, metric): the shared swept values, then
    COMPARE_COLUMNS. Raises ValueError naming unknown metrics or when no combination matches."""
    a, swept_a = _read(results_a)
    b, swept_b = _read(results_b)
    by = [p for p in swept_a if p in swept_b]
    numeric = set(agg.metric_columns(a, [*swept_a])) & set(agg.metric_columns(b, [*swept_b]))
    if metrics is None:
        metrics = [m for m in DEFAULT_METRICS if m in numeric]
    else:
        unknown = [m for m in metrics if m not in numeric]
        if unknown:
            raise ValueError(f"metric(s) {unknown} not in both summaries; shared metrics: "
                             f"{', '.join(sorted(numeric))}")
    groups_a = dict(iter(a.groupby(by, dropna=False))) if by else {(): a}
    groups_b = dict(iter(b.groupby(by, dropna=False))) if by else {(): b}
    keys = [k for k in groups_a if any(_same(k, kb) for kb in groups_b)]
    if not keys:
        raise ValueError(f"no combination of {', '.join(by)} appears in both experiments")
    rows = []
    for gi, key in enumerate(sorted(keys, key=lambda k: tuple(map(str, _tuple(k))))):
        key_b = next(kb for kb in groups_b if _same(key, kb))
        ga, gb = groups_a[key], groups_b[key_b]
        for mi, metric in enumerate(metrics):
            x = pd.to_numeric(ga[metric], errors="coerce").to_numpy(float)
            y = pd.to_numeric(gb[metric], errors="coerce").to_numpy(float)
            name = metric
            if metric in agg.P_VALUE_METRICS:  # compare how often the test rejects
                x = np.where(np.isfinite(x), (x < agg.SIGNIFICANCE).astype(float), np.nan)
                y = np.where(np.isfinite(y), (y < agg.SIGNIFICANCE).astype(float), np.nan)
                name = agg.p_share_name(metric)
            diff, low, high = agg.bootstrap_diff_ci(x, y, seed=(seed, gi, mi))
            rows.append((*_tuple(key), name, _mean(x), _mean(y), diff, low, high,
                         int(np.isfinite(x).sum()), int(np.isfinite(y).sum())))
    return pd.DataFrame(rows, columns=[*by, *COMPARE_COLUMNS])


def _tuple(key: object) -> tuple:
    return key if isinstance(key, tuple) else (key,)


def _same(ka: object, kb: object) -> bool:
    ta, tb = _tuple(ka), _tuple(kb)
    return len(ta) == len(tb) and all(
        (_isna(x) and _isna(y)) or (not _isna(x) and not _isna(y) and x == y)
        for x, y in zip(ta, tb, strict=True))


def _isna(v: object) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def combination_labels(table: pd.DataFrame) -> list[str]:
    """'dishonest = 0.1, rules = upwork-2015' per row ('all runs' with no shared parameter)."""
    from marketplace.analysis.figures import format_value

    by = [c for c in table.columns if c not in COMPARE_COLUMNS]
    if not by:
        return ["all runs"] * len(table)
    return [", ".join(f"{p.rsplit('.', 1)[-1]} = {format_value(v)}" for p, v in zip(by, row,
                                                                                  strict=True))
            for row in table[by].itertuples(index=False, name=None)]
