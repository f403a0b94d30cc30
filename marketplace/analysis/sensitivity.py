"""Global sensitivity analysis of an experiment's headline metrics, with SALib.

An experiment with a ``sweep.sensitivity`` design (see `marketplace.runner.sensitivity_design`)
runs the model on a sample built by SALib (Morris trajectories or Saltelli's extension of the Sobol
sequence). This module reads that experiment's stored results, never a model run:

* `salib_problem(spec)`: the SALib problem (names, bounds, distributions) of a design, as a plain
  dict; the runner builds its sample from the same function, so sample and analysis agree;
* `sensitivity_indices(summary, spec)`: the indices of every headline metric, computed by
  ``SALib.analyze.morris.analyze`` (mu, mu_star and its CI, sigma) or
  ``SALib.analyze.sobol.analyze`` (S1, ST and, with second order, S2, each with its CI); nothing
  SALib does is re-implemented here;
* `robustness(summary, swept)`: over what share of the sampled parameter points a freelancer just
  above 90 is better than one just below with 95% confidence, and where not;
* `parameter_label(path)`: a parameter's name in words, from the schema's field descriptions.

The long table `sensitivity.parquet` has the columns of `INDEX_COLUMNS`: ``metric, parameter,
method, index, value, conf, ci_low, ci_high, n_points``. ``conf`` is SALib's half-width of the 95%
bootstrap confidence interval (NaN where SALib gives none, e.g. sigma and mu); ``ci_low`` and
``ci_high`` are ``value -/+ conf``. ``n_points`` is the number of sample points whose metric was a
number and whose trajectory or Saltelli block was complete (SALib needs whole blocks).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# the design's pure helpers, re-exported: the runner imports them without pandas
from marketplace.analysis.sensitivity_problem import (
    block_size,
    n_points,
    parameter_specs,
    salib_problem,
    sample_seed,
    sensitivity_spec,
)

HEADLINE_METRICS: tuple[str, ...] = (
    "spearman_jss_quality",
    "quality_gap_90",
    "p_above_beats_below_90",
    "rd_jump_90",
    "share_jss_ge_90",
    "auc_top_quartile",
    "chaser_jss_premium",
    "lying_client_drop_median",
    "newcomer_never_hired_share",
    "top10_earnings_share",
)
"""The metrics whose sensitivity the report shows (those absent from a summary are skipped)."""

METHODS = ("morris", "sobol")
DISTRIBUTIONS = ("unif", "triang", "truncnorm", "logunif")
"""SALib distributions with a bounded support ``[low, high]`` (every sampled value is a valid
parameter value); ``norm`` and ``lognorm`` are unbounded and not offered."""
CONF_LEVEL = 0.95
NUM_RESAMPLES = 1000
INDEX_COLUMNS = ("metric", "parameter", "method", "index", "value", "conf", "ci_low", "ci_high",
                 "n_points")
MORRIS_INDICES = ("mu_star", "sigma", "mu")
SOBOL_INDICES = ("S1", "ST", "S2")
SENSITIVITY_FILE = "sensitivity.parquet"
ROBUSTNESS_FILE = "robustness.parquet"
Z95 = 1.959963984540054


ANALYZE_KEY = 2**32 - 4


# ----------------------------------------------------------------------------- names in words


def _first_clause(text: str) -> str:
    text = " ".join(text.split())
    text = re.split(r"\s\(|;|\. |: |, e\.g\.", text, maxsplit=1)[0].rstrip(". ")
    return text


def parameter_label(path: str, max_chars: int = 90) -> str:
    """A parameter's name in words: the first clause of its schema description (a mix share reads
    'Shares of rater types: dishonest'); the dotted path when the schema does not know it."""
    try:
        from marketplace.model.params import ModelParams, field_metadata
    except ImportError:  # pragma: no cover
        return path
    rows = {r["path"]: r["description"] for r in field_metadata(ModelParams)}
    parent, _, key = path.rpartition(".")
    mix_parents = {"clients.rater_mix", "clients.min_jss_mix"}
    if parent in mix_parents:
        mixes = {r["path"]: r["description"] for r in field_metadata(ModelParams)
                 if r["path"].startswith(parent + ".")}
        if path in mixes:
            from marketplace.model import params as P

            owner = {"clients.rater_mix": "rater_mix", "clients.min_jss_mix": "min_jss_mix"}[parent]
            desc = P.ClientParams.model_fields[owner].description or parent
            head = _first_clause(desc).replace("Shares of ", "Share of ")
            label = f"{head}: {key}"
            return label if len(label) <= max_chars else label[: max_chars - 1] + "…"
    desc = rows.get(path)
    if not desc:
        return path
    label = _first_clause(desc)
    if len(label) > max_chars:
        label = label[: max_chars - 1].rsplit(" ", 1)[0] + "…"
    return label


# ----------------------------------------------------------------------------- indices


@dataclass
class SensitivityResult:
    """The indices table and, per metric, why it was left out (if it was)."""

    indices: pd.DataFrame
    skipped: dict[str, str] = field(default_factory=dict)
    directions: pd.DataFrame | None = None  # metric, parameter, spearman (sign of the effect)


def _point_table(summary: pd.DataFrame, spec: Mapping[str, Any], metric: str | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y): one row per sample point in combination order, Y the mean over replications.
    Points with no finished run have NaN rows."""
    names = list(parameter_specs(spec))
    n = n_points(spec)
    per_point = summary.groupby("combination", sort=True)
    index = pd.RangeIndex(n)
    x = per_point[names].first().reindex(index).to_numpy(dtype=float)
    if metric is None:
        return x, np.full(n, np.nan)
    y = per_point[metric].mean().reindex(index).to_numpy(dtype=float)
    return x, y


def _complete_blocks(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """Row mask keeping only blocks (trajectories / Saltelli blocks) with every value finite."""
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    blocks = ok.reshape(-1, size).all(axis=1)
    return np.repeat(blocks, size)


def sensitivity_indices(summary: pd.DataFrame, spec: Mapping[str, Any],
                        metrics: Sequence[str] = HEADLINE_METRICS, seed: int = 0,
                        num_resamples: int = NUM_RESAMPLES) -> SensitivityResult:
    """SALib indices of each metric over the design's sample (long table, `INDEX_COLUMNS`).

    A metric is skipped (with the reason in ``skipped``) when the summary lacks it, when fewer
    than two complete trajectories / Saltelli blocks remain, or when it does not vary.
    """
    method = spec.get("method")
    if method not in METHODS:
        raise ValueError(f"sensitivity method must be one of {METHODS}, got {method!r}")
    problem = salib_problem(spec)
    names = problem["names"]
    size = block_size(spec)
    rows: list[tuple] = []
    skipped: dict[str, str] = {}
    directions: list[tuple[str, str, float]] = []
    analyze_seed = sample_seed(seed, ANALYZE_KEY)
    for metric in metrics:
        if metric not in summary.columns:
            skipped[metric] = "not in this summary (metric not computed by this model version)"
            continue
        x, y = _point_table(summary, spec, metric)
        keep = _complete_blocks(x, y, size)
        n_blocks = int(keep.sum()) // size
        if n_blocks < 2:
            one, unit = (("trajectory", "trajectories") if method == "morris"
                         else ("Saltelli block", "Saltelli blocks"))
            skipped[metric] = (f"defined at {int(np.isfinite(y).sum())} of {y.size} sample points,"
                               f" leaving {n_blocks} complete {unit} (SALib needs every point of "
                               f"a {one}; 2 at least)")
            continue
        xk, yk = x[keep], y[keep]
        if np.nanstd(yk) == 0:
            skipped[metric] = f"constant over the sample ({yk[0]:.4g})"
            continue
        used = int(keep.sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "morris":
                from SALib.analyze import morris

                res = morris.analyze(problem, xk, yk, num_resamples=num_resamples,
                                     conf_level=CONF_LEVEL, num_levels=int(spec.get("levels") or 4),
                                     seed=analyze_seed)
                for i, name in enumerate(names):
                    conf = float(res["mu_star_conf"][i])
                    ms = float(res["mu_star"][i])
                    rows.append((metric, name, method, "mu_star", ms, conf, ms - conf, ms + conf,
                                 used))
                    rows.append((metric, name, method, "sigma", float(res["sigma"][i]),
                                 math.nan, math.nan, math.nan, used))
                    rows.append((metric, name, method, "mu", float(res["mu"][i]),
                                 math.nan, math.nan, math.nan, used))
            else:
                from SALib.analyze import sobol

                second = bool(spec.get("second_order"))
                res = sobol.analyze(problem, yk, calc_second_order=second,
                                    num_resamples=num_resamples, conf_level=CONF_LEVEL,
                                    seed=analyze_seed)
                for key in ("S1", "ST"):
                    for i, name in enumerate(names):
                        v, c = float(res[key][i]), float(res[f"{key}_conf"][i])
                        rows.append((metric, name, method, key, v, c, v - c, v + c, used))
                if second:
                    for i in range(len(names)):
                        for j in range(i + 1, len(names)):
                            v, c = float(res["S2"][i, j]), float(res["S2_conf"][i, j])
                            rows.append((metric, f"{names[i]} x {names[j]}", method, "S2", v, c,
                                         v - c, v + c, used))
        # the direction of each parameter's effect: Spearman(parameter value, metric) over points
        for i, name in enumerate(names):
            directions.append((metric, name, _spearman(xk[:, i], yk)))
    table = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    for col in ("metric", "parameter", "method", "index"):
        table[col] = table[col].astype("string")
    table["n_points"] = table["n_points"].astype("int64")
    dirs = pd.DataFrame(directions, columns=["metric", "parameter", "spearman"])
    return SensitivityResult(table, skipped, dirs)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import stats

    if np.unique(a).size < 2 or np.unique(b).size < 2:
        return math.nan
    return float(stats.spearmanr(a, b).statistic)


# ----------------------------------------------------------------------------- what decides


def ranking(indices: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Parameters of one metric, most influential first (Morris: mu_star; Sobol: ST), with the
    index, its CI, and (Sobol) S1; one row per parameter."""
    rows = indices.loc[indices["metric"] == metric]
    if rows.empty:
        return rows
    method = str(rows["method"].iloc[0])
    key = "mu_star" if method == "morris" else "ST"
    main = rows.loc[rows["index"] == key].set_index("parameter")
    out = main[["value", "ci_low", "ci_high"]].copy()
    if method == "morris":
        for extra in ("sigma", "mu"):
            out[extra] = rows.loc[rows["index"] == extra].set_index("parameter")["value"]
    else:
        s1 = rows.loc[rows["index"] == "S1"].set_index("parameter")
        out["S1"], out["S1_ci_low"], out["S1_ci_high"] = s1["value"], s1["ci_low"], s1["ci_high"]
    out["method"] = method
    return out.sort_values("value", ascending=False).reset_index()


def deciding_parameters(indices: pd.DataFrame, metric: str, max_parameters: int = 4,
                        share_of_top: float = 0.25) -> pd.DataFrame:
    """The parameters that decide a metric: the most influential one and every other whose index
    is at least `share_of_top` of it (at most `max_parameters`), by mu_star or ST."""
    ranked = ranking(indices, metric)
    if ranked.empty:
        return ranked
    top = float(ranked["value"].iloc[0])
    if not np.isfinite(top) or top <= 0:
        return ranked.iloc[:0]
    return ranked.loc[ranked["value"] >= share_of_top * top].head(max_parameters)


# ----------------------------------------------------------------------------- robustness


@dataclass
class Robustness:
    """Per sample point: is a freelancer just above 90 better than one just below, at 95%?"""

    points: pd.DataFrame  # one row per point: swept values, estimate, ci_low, ci_high, robust
    share_robust: float
    n_points: int
    n_undefined: int
    criterion: str
    regions: pd.DataFrame  # parameter, label, share robust in the lower / upper third, difference


ROBUST_CRITERIA = {
    "p_above_beats_below_90": ("p_above_beats_below_90_se", 0.5),
    "quality_gap_90": ("quality_gap_90_se", 0.0),
}


def robustness(summary: pd.DataFrame, swept: Sequence[str],
               metric: str = "p_above_beats_below_90") -> Robustness | None:
    """Over what share of the sampled points is `metric`'s 95% CI above its null (0.5 for the
    probability that just-above beats just-below, 0 for the quality gap)?

    Per point, the estimate is the mean over its replications and the 95% CI is
    ``mean +/- 1.96 x sqrt(sum of the runs' squared standard errors) / replications``, the runs'
    own standard errors (``<metric>_se``: within-run sampling error of the comparison among that
    run's freelancers) being independent across replications. Without per-run standard errors
    (results of older versions) and with two or more replications, the CI is the normal interval
    of the across-replication mean; otherwise None. A point whose metric is NaN (no freelancers
    on one side of 90) is counted as not robust and reported as undefined.
    """
    se_col, null = ROBUST_CRITERIA[metric]
    swept = [p for p in swept if p in summary.columns
             and pd.api.types.is_numeric_dtype(summary[p])]
    if metric not in summary.columns or not swept:
        return None
    g = summary.groupby("combination", sort=True)
    est = g[metric].mean()
    n = g[metric].count()
    if se_col in summary.columns:
        se = np.sqrt(g[se_col].apply(lambda s: float(np.sum(np.square(s.dropna()))))) / n
        criterion = (f"the 95% CI of `{metric}` (mean over a point's replications +/- 1.96 x the "
                     f"runs' pooled within-run standard error `{se_col}`) lies above {null:g}")
    elif summary.groupby("combination")["run_id"].size().min() >= 2:
        se = g[metric].std(ddof=1) / np.sqrt(n)
        criterion = (f"the 95% CI of `{metric}` over a point's replications (normal interval of "
                     f"the mean) lies above {null:g}")
    else:
        return None
    points = g[swept].first()
    points["estimate"] = est
    points["ci_low"] = est - Z95 * se
    points["ci_high"] = est + Z95 * se
    points["robust"] = (points["ci_low"] > null).fillna(False).astype(bool)
    points["undefined"] = ~np.isfinite(points["estimate"].to_numpy(dtype=float))
    points = points.reset_index()
    regions = []
    for p in swept:
        v = points[p].to_numpy(dtype=float)
        if np.unique(v).size < 2:
            continue
        lo_cut, hi_cut = np.quantile(v, [1 / 3, 2 / 3])
        low = points.loc[v <= lo_cut, "robust"]
        high = points.loc[v >= hi_cut, "robust"]
        if low.empty or high.empty:
            continue
        regions.append((p, parameter_label(p), float(lo_cut), float(hi_cut), float(low.mean()),
                        float(high.mean()), float(high.mean() - low.mean())))
    regions_df = pd.DataFrame(regions, columns=["parameter", "label", "lower_third_max",
                                                "upper_third_min", "share_robust_lower_third",
                                                "share_robust_upper_third", "difference"])
    regions_df = regions_df.reindex(regions_df["difference"].abs().sort_values(
        ascending=False).index).reset_index(drop=True)
    return Robustness(points, float(points["robust"].mean()), len(points),
                      int(points["undefined"].sum()), criterion, regions_df)


def robustness_verdict(results_dir: Any, metric: str = "p_above_beats_below_90") -> str:
    """One paragraph for the README: the robust share of a stored sensitivity/LHS/Sobol sample
    and the parameter regions where the 90 line stops telling better from worse."""
    import json
    from pathlib import Path

    results_dir = Path(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text())
    summary = pd.read_parquet(results_dir / "summary.parquet")
    rob = robustness(summary, manifest.get("swept_parameters") or [], metric)
    if rob is None:
        return (f"{results_dir.name}: no robustness verdict (no sampled parameters or no "
                f"per-point uncertainty for {metric}).")
    return robustness_sentences(rob, results_dir.name)


def robustness_sentences(rob: Robustness, name: str = "the sample") -> str:
    """The verdict in words (used by the report and `robustness_verdict`)."""
    k = int(rob.points["robust"].sum())
    text = (f"Over {rob.n_points} sampled parameter points of {name}, a freelancer just above 90 "
            f"is better than one just below with 95% confidence in **{k} of {rob.n_points} "
            f"({rob.share_robust:.0%})**: {rob.criterion}.")
    if rob.n_undefined:
        text += (f" At {rob.n_undefined} points the comparison is undefined (nobody on one side "
                 f"of 90) and counted as not robust.")
    top = rob.regions.loc[rob.regions["difference"].abs() >= 0.15].head(3)
    if k == rob.n_points:
        return text + " It holds everywhere in the sampled space."
    if top.empty:
        text += (" No single parameter's range separates the points where it holds from those "
                 "where it does not (robust share differs by less than 15 points between the "
                 "lower and upper third of every parameter's range).")
        return text
    parts = []
    for r in top.itertuples():
        parts.append(f"{r.label} (`{r.parameter}`): {r.share_robust_lower_third:.0%} of points "
                     f"robust at <= {r.lower_third_max:.3g}, {r.share_robust_upper_third:.0%} "
                     f"at >= {r.upper_third_min:.3g}")
    return text + " Where it fails depends most on " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------- report text


def _metric_label(metric: str) -> str:
    from marketplace.analysis.metrics import METRIC_INFO

    return METRIC_INFO.get(metric, (metric,))[0]


def _direction(row: Any, rho: float, method: str) -> str:
    """One clause on what raising the parameter does to the metric."""
    if method == "morris" and np.isfinite(row.mu) and row.value > 0:
        if abs(row.mu) >= 0.8 * row.value:
            verb = "raises" if row.mu > 0 else "lowers"
            return (f"raising it {verb} the metric almost everywhere in the sampled space "
                    f"(mean elementary effect {row.mu:+.3g} per full range)")
        return (f"its effect changes sign across the sampled space (mean elementary effect "
                f"{row.mu:+.3g} against a mean absolute effect of {row.value:.3g}), so it "
                f"depends on the other parameters")
    if np.isfinite(rho) and abs(rho) >= 0.1:
        verb = "raises" if rho > 0 else "lowers"
        return f"raising it {verb} the metric (Spearman over the sample {rho:+.2f})"
    return (f"no monotone direction (Spearman over the sample {rho:+.2f}): it acts through "
            f"interactions or a non-monotone effect")


def report_lines(result: SensitivityResult, spec: Mapping[str, Any], n_replications: int
                 ) -> list[str]:
    """The report section "What decides the answer" (markdown lines)."""
    method = spec.get("method")
    d = len(spec.get("parameters") or {})
    idx = result.indices
    lines = ["### What decides the answer", ""]
    if method == "morris":
        lines += [f"*Morris screening (SALib): {spec.get('trajectories')} trajectories over {d} "
                  f"parameters, {n_points(spec)} sample points x {n_replications} "
                  f"replication(s). mu_star is the mean absolute change of a metric when one "
                  f"parameter moves across its whole range (elementary effect), with a 95% "
                  f"bootstrap CI; sigma comparable to or above mu_star means the effect depends "
                  f"on the other parameters (interactions or non-linearity).*", ""]
    else:
        lines += [f"*Sobol indices (SALib, Saltelli sampling): base sample "
                  f"{spec.get('base_samples')} over {d} parameters, {n_points(spec)} sample "
                  f"points x {n_replications} "
                  f"replication(s). S1 is the share of a metric's variance due to one parameter "
                  f"alone, ST the share including all its interactions; 95% bootstrap CIs.*", ""]
    rho = {} if result.directions is None else {
        (r.metric, r.parameter): r.spearman for r in result.directions.itertuples()}
    for metric in dict.fromkeys(idx["metric"]):
        top = deciding_parameters(idx, metric)
        if top.empty:
            lines.append(f"- **{_metric_label(metric)}** (`{metric}`): no parameter moves it.")
            continue
        parts = []
        for r in top.itertuples():
            key = "mu*" if method == "morris" else "ST"
            s1 = (f", S1 {r.S1:.2f} [{r.S1_ci_low:.2f}, {r.S1_ci_high:.2f}]"
                  if method == "sobol" else "")
            parts.append(f"*{parameter_label(r.parameter)}* (`{r.parameter}`, {key} "
                         f"{r.value:.3g} [{r.ci_low:.3g}, {r.ci_high:.3g}]{s1}): "
                         f"{_direction(r, rho.get((metric, r.parameter), math.nan), method)}")
        share = ""
        if method == "sobol":
            total = float(np.nansum(top["S1"]))
            width = float(np.nanmedian(top["S1_ci_high"] - top["S1_ci_low"]))
            if 0.0 <= total <= 1.0 and width <= 0.5:
                share = (f" Alone, these explain {total:.0%} of its variance (sum of S1); the "
                         f"rest is other parameters, interactions and run-to-run noise.")
            else:
                share = (f" (The S1 CIs are too wide, median {width:.2g}, to read the indices as "
                         f"shares of variance: the sample is too small.)")
        used = int(idx.loc[idx["metric"] == metric, "n_points"].iloc[0])
        partial = (f" (from {used // block_size(spec)} of {n_points(spec) // block_size(spec)} "
                   f"{'trajectories' if method == 'morris' else 'Saltelli blocks'}: the metric is "
                   f"undefined at some points)" if used < n_points(spec) else "")
        lines.append(f"- **{_metric_label(metric)}** (`{metric}`){partial} is decided mainly by "
                     + "; ".join(parts) + "." + share)
    lines.append("")
    if method == "sobol" and not idx.empty:
        widths = idx.assign(width=idx["ci_high"] - idx["ci_low"]).groupby("index")["width"]
        med = widths.median()
        lines += ["Median 95% CI width: " + ", ".join(
            f"{k} {med[k]:.3f}" for k in ("S1", "ST", "S2") if k in med.index)
            + " (wider than the indices themselves means the sample is too small to rank "
              "those parameters; run the larger Dask configuration).", ""]
    if result.skipped:
        lines += ["Not analysed:", ""]
        lines += [f"- `{m}`: {why}" for m, why in result.skipped.items()]
        lines.append("")
    lines += _index_table(idx, method)
    return lines


def _index_table(idx: pd.DataFrame, method: str | None) -> list[str]:
    """Parameters x metrics, the main index (mu_star or ST) in each cell."""
    if idx.empty:
        return []
    key = "mu_star" if method == "morris" else "ST"
    wide = idx.loc[idx["index"] == key].pivot(index="parameter", columns="metric",
                                               values="value")
    metrics = list(dict.fromkeys(idx["metric"]))
    wide = wide.reindex(columns=metrics)
    wide = wide.loc[wide.rank(ascending=False).mean(axis=1).sort_values().index]
    lines = [f"{key} of every parameter (rows, most influential first) for every headline "
             f"metric (columns):", "",
             "| parameter | " + " | ".join(f"`{m}`" for m in metrics) + " |",
             "|---|" + "---|" * len(metrics)]
    for p, row in wide.iterrows():
        cells = ["n/a" if not np.isfinite(v) else f"{v:.3g}" for v in row.to_numpy(float)]
        lines.append(f"| {parameter_label(str(p))} (`{p}`) | " + " | ".join(cells) + " |")
    return [*lines, ""]


def robustness_lines(rob: Robustness | None, sample_name: str) -> list[str]:
    """The report section on the robustness of the 90 line (markdown lines)."""
    lines = ["### Is 90 meaningful across the plausible parameter space?", ""]
    if rob is None:
        return [*lines, "No verdict: the experiment has no sampled numeric parameters, or no "
                "per-point uncertainty for `p_above_beats_below_90`.", ""]
    lines += [robustness_sentences(rob, sample_name), ""]
    if not rob.regions.empty:
        lines += ["| parameter | lower third (<=) | robust there | upper third (>=) "
                  "| robust there |", "|---|---|---|---|---|"]
        for r in rob.regions.head(8).itertuples():
            lines.append(f"| {r.label} (`{r.parameter}`) | {r.lower_third_max:.3g} | "
                         f"{r.share_robust_lower_third:.0%} | {r.upper_third_min:.3g} | "
                         f"{r.share_robust_upper_third:.0%} |")
        lines.append("")
    return lines


def load(results_dir: Any) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any] | None]:
    """(manifest, summary, sensitivity design or None) of a stored results folder."""
    import json
    from pathlib import Path

    results_dir = Path(results_dir)
    manifest = json.loads((results_dir / "manifest.json").read_text())
    summary = pd.read_parquet(results_dir / "summary.parquet")
    return manifest, summary, sensitivity_spec(manifest)


def sensitivity_markdown(results_dir: Any) -> str:
    """The report's sections "What decides the answer" and the robustness of the 90 line, rebuilt
    from a results folder's summary by the code behind `marketplace report` (for notebooks)."""
    manifest, summary, spec = load(results_dir)
    lines: list[str] = []
    if spec is not None:
        res = sensitivity_indices(summary, spec, seed=int(manifest.get("root_seed") or 0))
        lines += report_lines(res, spec, int(manifest.get("replications") or 1))
    rob = robustness(summary, manifest.get("swept_parameters") or [])
    lines += robustness_lines(rob, f"`{manifest.get('name', '')}`")
    return "\n".join(lines)
