"""Figures of the analysis: one function per figure, each returning a `matplotlib.figure.Figure`.

Both `marketplace report` and the notebooks call these functions, so a figure looks the same
everywhere. They take the stored tables (the per-run metric tables concatenated across runs, with a
`run_id` column, and `aggregate.parquet`), never model objects. Across-run means carry 95%
bootstrap CIs (`marketplace.analysis.aggregate.bootstrap_mean_ci`). An optional `group` column
(e.g. a swept parameter merged in from the summary) draws one line per value.

Figures are built on `matplotlib.figure.Figure` directly, not pyplot: no global state, no GUI
backend needed (works headless and in worker processes), and nothing leaks across many figures.
In a notebook a returned Figure displays itself.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from marketplace.analysis.aggregate import bootstrap_mean_ci
from marketplace.analysis.metrics import CUTOFF, HISTORY_BANDS, JSS_BAND_LABELS

STYLE_FILE = Path(__file__).with_name("jss.mplstyle")
"""The one style of every figure (colour-blind-safe palette, fonts, grid); see the file."""
STYLE: dict[str, Any] = dict(mpl.rc_params_from_file(STYLE_FILE, fail_on_error=True,
                                                     use_default_template=False))
"""The style file's settings, parsed and validated once (typed values: solara's server swaps
in an rcParams that would keep a file's values as text)."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
"""Groups differ by marker as well as by colour (figures stay readable in grey)."""
CUTOFF_STYLE = {"color": "#D55E00", "linestyle": "--", "linewidth": 1.2}
FIG_SIZE = (6.4, 4.2)
CI_RESAMPLES = 1000

LABEL_COLUMN = "combo"
"""A `group` column of this name holds ready-made line labels (the report's combination labels)."""
JSS_LABEL = "JSS (percent points)"
QUALITY_LABEL = "True quality (0-1)"


def _styled(fn: Callable[..., Figure]) -> Callable[..., Figure]:
    """Build the figure under the paper style without touching the caller's rcParams."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Figure:
        with mpl.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper


def _color(i: int) -> str:
    """The style's i-th colour as hex, fixed when the artist is made: a "C0" string would be
    looked up again at draw time, under whatever style the notebook has then."""
    return mpl.colors.to_hex(f"C{i % len(MARKERS)}")


def _marker(i: int) -> str:
    return MARKERS[i % len(MARKERS)]


def _legend_outside(fig: Figure, ax: Axes, title: str | None = None, below: bool = False
                    ) -> None:
    """A legend to the right of (or below) the axes, never over the data (constrained layout
    makes room for it)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    if below:
        fig.legend(handles, labels, loc="outside lower center", title=title,
                   ncols=min(2, len(handles)))
    else:
        fig.legend(handles, labels, loc="outside right upper", title=title)


def parameter_label(path: str) -> str:
    """A swept parameter's name in words (from the schema's description) with its path."""
    from marketplace.model.describe import parameter_title

    title = parameter_title(path)
    return path if title == path else f"{title}\n({path})"


def _mark_cutoff(ax: Axes, x: float = CUTOFF, label: str = "JSS = 90") -> None:
    ax.axvline(x, **CUTOFF_STYLE, label=label, zorder=1)


def _groups(df: pd.DataFrame, group: str | None) -> list[tuple[str | None, pd.DataFrame]]:
    """(label, rows) per value of `group` (one unlabelled group when None)."""
    if group is None or group not in df.columns:
        return [(None, df)]
    out = []
    for value, rows in df.groupby(group, dropna=False, sort=True):
        out.append((str(value) if group == LABEL_COLUMN else format_value(value), rows))
    return out


def _group_title(group: str | None) -> str | None:
    if group is None or group == LABEL_COLUMN:
        return None
    from marketplace.model.describe import parameter_title

    return parameter_title(group, max_chars=40)


def format_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _mean_ci_by(df: pd.DataFrame, x: str, y: str, order: Sequence | None = None,
                seed: int = 0) -> pd.DataFrame:
    """Across-run mean of `y` and its 95% bootstrap CI for each value of `x`."""
    rows = []
    keys = order if order is not None else sorted(df[x].dropna().unique())
    for i, key in enumerate(keys):
        values = pd.to_numeric(df.loc[df[x] == key, y], errors="coerce").to_numpy(
            dtype=float, na_value=np.nan)
        mean, low, high, n = bootstrap_mean_ci(values, seed=(seed, i), n_resamples=CI_RESAMPLES)
        rows.append({x: key, "mean": mean, "ci_low": low, "ci_high": high, "n": n})
    return pd.DataFrame(rows)


def _no_data(fig: Figure, ax: Axes, what: str) -> Figure:
    ax.text(0.5, 0.5, f"no data: {what}", ha="center", va="center", transform=ax.transAxes)
    return fig


# ----------------------------------------------------------------------------- figures


@_styled
def quality_by_jss_band(jss_bands: pd.DataFrame, group: str | None = None) -> Figure:
    """Mean true quality of the freelancers in each JSS band (table `jss_bands`), across runs.

    Freelancers with no JSS yet sit in a panel of their own with its own y axis: their quality
    is far from the scored bands', and on a shared axis they would squash the bands and hide
    the CI bars.
    """
    fig = Figure(figsize=(FIG_SIZE[0] + 1.6, FIG_SIZE[1]), layout="constrained")
    ax, ax_none = fig.subplots(1, 2, width_ratios=[len(JSS_BAND_LABELS), 1.4])
    order = list(JSS_BAND_LABELS)
    groups = _groups(jss_bands, group)
    width = 0.8 / len(groups)
    for gi, (label, rows) in enumerate(groups):
        stats_ = _mean_ci_by(rows.assign(band=rows["band"].astype(str)), "band", "mean_quality",
                             order=[*order, "no JSS"])
        offset = (gi - (len(groups) - 1) / 2) * width
        err = np.vstack([stats_["mean"] - stats_["ci_low"], stats_["ci_high"] - stats_["mean"]])
        err = np.nan_to_num(err)
        style = {"fmt": _marker(gi), "color": _color(gi), "capsize": 3}
        ax.errorbar(np.arange(len(order)) + offset, stats_["mean"][:-1], yerr=err[:, :-1],
                    label=label or "mean over runs, 95% CI", **style)
        ax_none.errorbar([offset], stats_["mean"].iloc[-1:], yerr=err[:, -1:], **style)
    ax.set_xticks(np.arange(len(order)), order)
    # the 90 line sits between the 85-89 and 90-94 bands
    _mark_cutoff(ax, order.index("90-94") - 0.5)
    ax.set_xlabel("JSS band (percent points)")
    ax.set_ylabel(f"Mean {QUALITY_LABEL.lower()}")
    ax_none.set_xticks([0], ["no JSS"])
    ax_none.set_xlim(-0.6, 0.6)
    ax_none.set_title("own scale", fontsize=8.5, color="0.4")
    fig.suptitle("True quality by JSS band")
    _legend_outside(fig, ax, _group_title(group))
    return fig


@_styled
def jss_quality_hexbin(sample: pd.DataFrame, gridsize: int = 35) -> Figure:
    """JSS against true quality for the sampled freelancers with a JSS (table
    `freelancer_sample`), all runs pooled. The quality axis spans the data, not all of [0, 1]."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    rows = sample.loc[sample["jss"].notna()]
    if rows.empty:
        return _no_data(fig, ax, "no freelancer with a JSS")
    y = rows["true_quality"].astype(float)
    low, high = float(y.min()), float(y.max())
    pad = max(0.02, 0.04 * (high - low))
    y_low, y_high = max(0.0, low - pad), min(1.0, high + pad)
    hb = ax.hexbin(rows["jss"].astype(float), y, gridsize=gridsize, mincnt=1, cmap="viridis",
                   bins="log", extent=(0, 100, y_low, y_high))
    fig.colorbar(hb, ax=ax, label="Freelancers (log scale)")
    _mark_cutoff(ax)
    ax.set_xlim(0, 101)
    ax.set_ylim(y_low, y_high)
    ax.grid(False)
    ax.set_xlabel(JSS_LABEL)
    ax.set_ylabel(QUALITY_LABEL)
    ax.set_title(f"JSS against true quality ({len(rows):,} freelancers)")
    ax.annotate("JSS = 90", (CUTOFF, 1.0), xycoords=("data", "axes fraction"),
                xytext=(-3, -3), textcoords="offset points", ha="right", va="top",
                fontsize=8.5, color=CUTOFF_STYLE["color"])
    return fig


def _local_linear(x: np.ndarray, y: np.ndarray, at: float, bandwidth: float
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Triangular-kernel local linear fit (statsmodels WLS) within `bandwidth` of `at`, the
    conventional estimate rdrobust reports, evaluated over [at - h, at + h] on x's side."""
    # statsmodels' WLS and add_constant from their modules: ``statsmodels.api`` would load all of
    # statsmodels (~0.3 s more of every report)
    from statsmodels.regression.linear_model import WLS
    from statsmodels.tools.tools import add_constant

    w = np.clip(1.0 - np.abs(x - at) / bandwidth, 0.0, None)
    keep = w > 0
    if keep.sum() < 3 or np.unique(x[keep]).size < 2:
        return None
    fit = WLS(y[keep], add_constant(x[keep] - at), weights=w[keep]).fit()
    grid = np.linspace(x[keep].min(), x[keep].max(), 50)
    grid = np.unique(np.r_[grid, at]) if x[keep].min() <= at <= x[keep].max() else grid
    return grid, fit.params[0] + fit.params[1] * (grid - at)


@_styled
def rd_plot(sample: pd.DataFrame, cutoff: float = CUTOFF, bandwidth: float | None = None,
            window: float | None = None, bin_width: float = 1.0, annotation: str | None = None
            ) -> Figure:
    """Regression-discontinuity plot at 90 (table `freelancer_sample`): binned mean true quality
    by JSS, and the triangular-kernel local linear fits on each side within `bandwidth` points,
    the fit rdrobust estimates the jump with.

    Pass the estimate's own bandwidth (the report uses the median of the runs' rdrobust
    bandwidths, `rd_bandwidth_90`), so the drawn fit is the one behind the reported jump. With
    no bandwidth only the bins are drawn (a fit with another bandwidth could show a jump the
    estimate does not have).
    """
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    rows = sample.loc[sample["jss"].notna()]
    usable = bandwidth is not None and math.isfinite(bandwidth) and bandwidth > 0
    if window is None:
        window = max(15.0, 3.0 * bandwidth) if usable else 30.0
    x = rows["jss"].to_numpy(dtype=float)
    y = rows["true_quality"].to_numpy(dtype=float)
    near = x >= cutoff - window
    x, y = x[near], y[near]
    if x.size == 0:
        return _no_data(fig, ax, "no freelancer with a JSS near 90")
    edges = np.arange(cutoff - window, 100.0 + bin_width, bin_width)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, edges.size - 2)
    binned = pd.DataFrame({"bin": idx, "y": y}).groupby("bin")["y"].agg(["mean", "size"])
    centres = edges[binned.index.to_numpy()] + bin_width / 2
    ax.scatter(centres, binned["mean"], s=np.clip(binned["size"] / binned["size"].max() * 60,
                                                   8, 60),
               color="0.45", label=f"mean per {bin_width:g}-point bin (size = freelancers)")
    if usable:
        ax.axvspan(cutoff - bandwidth, cutoff + bandwidth, color=_color(0), alpha=0.08, linewidth=0,
                   label=f"bandwidth of the estimate: ±{bandwidth:.1f} points")
        for side, sel in (("below", x < cutoff), ("above", x >= cutoff)):
            fit = _local_linear(x[sel], y[sel], cutoff, bandwidth)
            if fit is not None:
                ax.plot(*fit, color=_color(0), linewidth=2.2,
                        label="local linear fit (triangular kernel)" if side == "below"
                        else None)
    _mark_cutoff(ax)
    ax.set_xlabel(JSS_LABEL)
    ax.set_ylabel(QUALITY_LABEL)
    fig.suptitle("Regression discontinuity at JSS 90")
    if annotation:  # above the axes, never over the data
        ax.set_title(annotation, loc="left", fontsize=8.5)
    _legend_outside(fig, ax, below=True)
    return fig


@_styled
def jss_histogram(sample: pd.DataFrame, group: str | None = None, low: float = 50.0) -> Figure:
    """Share of freelancers at each whole JSS value from `low` to 100: bunching shows as a step up
    at 90 and a spike at 100 (table `freelancer_sample`)."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    edges = np.arange(0.0, 102.0, 1.0)  # [89, 90) and [90, 91) are separate bins; [100, 101)
    below_100, at_100 = [], []
    for gi, (label, rows) in enumerate(_groups(sample, group)):
        x = rows["jss"].dropna().to_numpy(dtype=float)
        if x.size == 0:
            continue
        weights = np.full(x.size, 1.0 / x.size)
        heights, _, _ = ax.hist(x, bins=edges, weights=weights, histtype="step", linewidth=1.4,
                                color=_color(gi),
                                label=(label or "all runs pooled") + f" ({x.size:,})")
        below_100.append(heights[int(low):-1].max(initial=0.0))
        at_100.append((_color(gi), heights[-1]))
    if not at_100:
        return _no_data(fig, ax, "no freelancer with a JSS")
    top = 1.25 * max(below_100)
    if top > 0 and max(h for _, h in at_100) > 2 * top:
        # a spike at 100 would flatten everything near 90: cut the axis and print the spike
        ax.set_ylim(0, top)
        for k, (color, h) in enumerate(at_100):
            ax.text(99.5, top * (0.97 - 0.065 * k), f"at 100 (off scale): {h:.0%}",
                    color=color, ha="right", va="top", fontsize=8,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    _mark_cutoff(ax)
    ax.set_xlim(low, 101)
    ax.set_xlabel(f"{JSS_LABEL}, 1-point bins")
    ax.set_ylabel("Share of freelancers with a JSS")
    ax.set_title("Distribution of JSS")
    _legend_outside(fig, ax, _group_title(group))
    return fig


@_styled
def precision_recall_curve(precision_recall: pd.DataFrame, group: str | None = None) -> Figure:
    """Precision and recall of the filter JSS >= cut-off for top-quartile true quality, against
    the cut-off (table `precision_recall`), mean over runs with 95% CI bands."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for gi, (label, rows) in enumerate(_groups(precision_recall, group)):
        color = _color(gi)
        for measure, style in (("precision", "-"), ("recall", ":")):
            s = _mean_ci_by(rows, "cutoff", measure)
            name = f"{measure}" + (f", {label}" if label else "")
            ax.plot(s["cutoff"], s["mean"], style, color=color, label=name,
                    marker=_marker(gi), markevery=5)
            ax.fill_between(s["cutoff"], s["ci_low"], s["ci_high"], color=color, alpha=0.15,
                            linewidth=0)
    _mark_cutoff(ax)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Filter cut-off: JSS >= (percent points)")
    ax.set_ylabel("Share (0-1)")
    ax.set_title("JSS filter as a detector of top-quartile quality")
    _legend_outside(fig, ax, _group_title(group))
    return fig


@_styled
def one_negative_drop(one_negative_drop: pd.DataFrame, group: str | None = None) -> Figure:
    """Mean JSS drop caused by one extra negative outcome, by counted outcomes in the 24-month
    window (table `one_negative_drop`), mean over runs with 95% CI."""
    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    order = [label for _, _, label in HISTORY_BANDS]
    groups = _groups(one_negative_drop, group)
    width = 0.8 / len(groups)
    for gi, (label, rows) in enumerate(groups):
        s = _mean_ci_by(rows.assign(band=rows["band"].astype(str)), "band", "mean_drop",
                        order=order)
        pos = np.arange(len(order)) + (gi - (len(groups) - 1) / 2) * width
        err = np.vstack([s["mean"] - s["ci_low"], s["ci_high"] - s["mean"]])
        ax.bar(pos, s["mean"], width=width * 0.9, yerr=np.nan_to_num(err), capsize=3,
               label=label, color=_color(gi), hatch=("", "//", "..", "xx", "\\\\", "++")[gi % 6],
               edgecolor="white")
    ax.set_xticks(np.arange(len(order)), order)
    ax.set_xlabel("Counted outcomes in the 24-month window (contracts)")
    ax.set_ylabel("JSS drop (percent points)")
    ax.set_title("JSS drop after one negative outcome")
    if len(groups) > 1:
        _legend_outside(fig, ax, _group_title(group))
    return fig


@_styled
def parameter_sweep(aggregate: pd.DataFrame, parameter: str, metrics: Sequence[str],
                    labels: dict[str, str] | None = None, group: str | None = None,
                    xlabel: str | None = None) -> Figure:
    """Each metric against a swept parameter: mean over runs with its 95% bootstrap CI (table
    `aggregate`, long format). `group` (another swept parameter) draws one line per value.

    A numeric parameter is the x axis (lines with CI bands). A categorical one (rule sets,
    pricing, or the `combo` label column of parameters varied together) is drawn as dots with CI
    whiskers, one row per category, so long labels stay readable.
    """
    finite = aggregate.loc[np.isfinite(aggregate["mean"].astype(float)), "metric"]
    metrics = [m for m in metrics if m in set(finite)]  # all-NaN metrics get no empty panel
    values = list(pd.unique(aggregate[parameter]))
    numeric = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                  and not (isinstance(v, float) and math.isnan(v)) for v in values)
    if numeric:
        values = sorted(values)
    position = {format_value(v): (float(v) if numeric else float(i)) for i, v in enumerate(values)}
    n = max(1, len(metrics))
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    height = 2.9 if numeric else max(2.2, 0.35 * len(values) + 1.0)
    fig = Figure(figsize=(3.6 * cols + (0 if numeric else 1.5), height * nrows),
                 layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False, sharey=not numeric).ravel()
    name = xlabel or parameter_label(parameter)
    for k, (ax, metric) in enumerate(zip(axes, metrics, strict=False)):
        rows = aggregate.loc[aggregate["metric"] == metric]
        groups = _groups(rows, group)
        for gi, (label, g) in enumerate(groups):
            pos = np.array([position[format_value(v)] for v in g[parameter]])
            order = np.argsort(pos)
            mean = g["mean"].to_numpy(float)[order]
            low = g["ci_low"].to_numpy(float)[order]
            high = g["ci_high"].to_numpy(float)[order]
            pos = pos[order]
            if numeric:
                ax.plot(pos, mean, "-", marker=_marker(gi), color=_color(gi), label=label,
                        markersize=4)
                ax.fill_between(pos, low, high, color=_color(gi), alpha=0.2, linewidth=0)
            else:
                y = pos + (gi - (len(groups) - 1) / 2) * 0.8 / len(groups)
                err = np.nan_to_num(np.vstack([mean - low, high - mean]))
                ax.errorbar(mean, y, xerr=err, fmt=_marker(gi), color=_color(gi), capsize=2,
                            markersize=4, label=label)
        metric_label = (labels or {}).get(metric, metric)
        zero_line = ax.axhline if numeric else ax.axvline
        if metric in {"quality_gap_90", "rd_jump_90", "quality_gap_90_d"}:
            zero_line(0.0, color="0.6", linewidth=0.8)
        if numeric:
            ax.set_xlabel(name)
            ax.set_ylabel(metric_label)
        else:
            ax.set_xlabel(metric_label)
            ax.set_yticks(list(position.values()), list(position.keys()))
            ax.invert_yaxis() if k == 0 else None  # first category on top (shared y axis)
            if k % cols:
                ax.tick_params(labelleft=False)
            else:
                ax.set_ylabel(name)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    if group is not None and metrics:
        handles, legend_labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, legend_labels, loc="outside lower center", title=_group_title(group),
                   ncols=min(6, len(handles)))
    short = name.split("\n")[0]
    fig.suptitle(f"Key metrics by {short} (mean over runs, 95% CI)")
    return fig


@_styled
def comparison(table: pd.DataFrame, name_a: str = "A", name_b: str = "B",
               labels: dict[str, str] | None = None) -> Figure:
    """Difference B - A of each metric per matching combination, with its 95% bootstrap CI
    (table from `marketplace.analysis.compare.compare_results`), one panel per metric."""
    from marketplace.analysis.compare import combination_labels

    metrics = list(dict.fromkeys(table["metric"]))
    combos = list(dict.fromkeys(combination_labels(table)))
    n = max(1, len(metrics))
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(3.4 * cols + 1.5, max(2.0, 0.35 * len(combos) + 1.1) * nrows),
                 layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False, sharey=True).ravel()
    label_of = dict(zip(range(len(table)), combination_labels(table), strict=True))
    for k, (ax, metric) in enumerate(zip(axes, metrics, strict=False)):
        rows = table.loc[table["metric"] == metric]
        ypos = np.array([combos.index(label_of[i]) for i in range(len(table))
                         if table.iloc[i]["metric"] == metric])
        diff = rows["difference"].to_numpy(float)
        err = np.nan_to_num(np.vstack([diff - rows["ci_low"].to_numpy(float),
                                       rows["ci_high"].to_numpy(float) - diff]))
        ax.errorbar(diff, ypos, xerr=err, fmt=_marker(0), color=_color(0), capsize=2)
        ax.axvline(0.0, color="0.5", linewidth=0.8)
        ax.set_xlabel((labels or {}).get(metric, metric))
        ax.set_yticks(range(len(combos)), combos)
        if k == 0:
            ax.invert_yaxis()
        if k % cols:
            ax.tick_params(labelleft=False)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(f"{name_b} minus {name_a} (difference of means, 95% bootstrap CI)")
    return fig


@_styled
def sensitivity_indices(indices: pd.DataFrame, metrics: Sequence[str],
                        metric_labels: dict[str, str] | None = None,
                        parameter_labels: dict[str, str] | None = None,
                        max_parameters: int = 12) -> Figure:
    """Sensitivity indices of each metric (table `sensitivity.parquet`), one panel per metric,
    parameters sorted by influence with their 95% CIs (SALib's bootstrap).

    Morris: mu_star (dot, CI whiskers) and sigma (open marker). Sobol: total order ST (dot, CI)
    and first order S1 (open marker, CI).
    """
    metrics = [m for m in metrics if m in set(indices["metric"])]
    if not metrics:
        fig = Figure(figsize=FIG_SIZE, layout="constrained")
        return _no_data(fig, fig.subplots(), "sensitivity indices")
    method = str(indices["method"].iloc[0])
    main, second = ("mu_star", "sigma") if method == "morris" else ("ST", "S1")
    plabel = parameter_labels or {}
    n = len(metrics)
    cols = min(2, n)
    nrows = math.ceil(n / cols)
    n_par = min(max_parameters, indices.loc[indices["index"] == main, "parameter"].nunique())
    fig = Figure(figsize=(7.2 * cols, (0.26 * n_par + 1.0) * nrows), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, metric in zip(axes, metrics, strict=False):
        rows = indices.loc[indices["metric"] == metric]
        a = rows.loc[rows["index"] == main].set_index("parameter")
        b = rows.loc[rows["index"] == second].set_index("parameter").reindex(a.index)
        a = a.sort_values("value", ascending=False).head(max_parameters)
        b = b.reindex(a.index)
        y = np.arange(len(a))[::-1]
        err = np.nan_to_num(np.vstack([a["value"] - a["ci_low"], a["ci_high"] - a["value"]]))
        ax.errorbar(a["value"], y, xerr=err, fmt="o", color="C0", capsize=2, markersize=4,
                    label=main)
        berr = np.nan_to_num(np.vstack([b["value"] - b["ci_low"], b["ci_high"] - b["value"]]))
        ax.errorbar(b["value"], y - 0.25, xerr=berr, fmt="o", mfc="none", color="C1",
                    capsize=2, markersize=4, label=second)
        ax.axvline(0.0, color="0.6", linewidth=0.8)
        ax.set_yticks(y, [plabel.get(p, p) for p in a.index], fontsize=7.5)
        ax.set_title((metric_labels or {}).get(metric, metric))
        ax.set_xlabel("index (95% CI)" if method == "sobol" else
                      "mean |elementary effect| per full range (95% CI)")
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    axes[0].legend(loc="lower right")
    what = "Morris elementary effects" if method == "morris" else "Sobol indices"
    fig.suptitle(f"What decides each headline metric: {what}")
    return fig


@_styled
def robustness_map(points: pd.DataFrame, parameters: Sequence[str], null: float,
                   metric_label: str, parameter_labels: dict[str, str] | None = None) -> Figure:
    """The per-point estimate of the above-vs-below-90 comparison (with its 95% CI) against the
    parameters that separate robust points from the rest; filled = CI above `null`."""
    parameters = list(parameters)[:4]
    n = max(1, len(parameters))
    cols = min(2, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(4.4 * cols, 3.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    robust = points["robust"].to_numpy(bool)
    for ax, p in zip(axes, parameters, strict=False):
        x = points[p].to_numpy(float)
        est = points["estimate"].to_numpy(float)
        err = np.nan_to_num(np.vstack([est - points["ci_low"], points["ci_high"] - est]))
        for mask, style, label in ((robust, {"color": "C0"}, "CI above null"),
                                   (~robust, {"color": "C3", "mfc": "none"}, "not robust")):
            ax.errorbar(x[mask], est[mask], yerr=err[:, mask], fmt="o", markersize=3,
                        elinewidth=0.6, capsize=0, label=label, **style)
        ax.axhline(null, **CUTOFF_STYLE)
        ax.set_xlabel((parameter_labels or {}).get(p, p), fontsize=8)
        ax.set_ylabel(metric_label)
    for ax in axes[len(parameters):]:
        ax.set_visible(False)
    if parameters:
        axes[0].legend(loc="best")
    fig.suptitle("Is just above 90 better than just below? Each sampled point, 95% CI")
    return fig


@_styled
def calibration_figure(evaluations: pd.DataFrame, fit: pd.DataFrame) -> Figure:
    """`marketplace calibrate`: the objective at each evaluated point (left; Latin hypercube,
    then Nelder-Mead) and each fitted fact's distance from its target in units of its scale,
    with the 95% CI over replications (right; the band is +/- 1 scale)."""
    fig = Figure(figsize=(FIG_SIZE[0] * 1.8, FIG_SIZE[1]))
    left, right = fig.subplots(1, 2)
    for stage, marker in (("lhs", "o"), ("local", ".")):
        rows = evaluations.loc[evaluations["stage"] == stage]
        if len(rows):
            left.plot(rows["evaluation"], rows["objective"], marker, label=
                      "Latin hypercube" if stage == "lhs" else "Nelder-Mead", alpha=0.8)
    if len(evaluations):
        best = evaluations["objective"].cummin()
        left.plot(evaluations["evaluation"], best, "-", color="black", linewidth=1,
                  label="best so far")
        if (evaluations["objective"] > 0).all():
            left.set_yscale("log")
    left.set_xlabel("evaluation")
    left.set_ylabel("objective (weighted squared distance)")
    left.legend()
    y = np.arange(len(fit))
    scale = fit["scale"].to_numpy(dtype=float)
    target = fit["target"].to_numpy(dtype=float)
    z = (fit["fitted"].to_numpy(dtype=float) - target) / scale
    low = (fit["ci_low"].to_numpy(dtype=float) - target) / scale
    high = (fit["ci_high"].to_numpy(dtype=float) - target) / scale
    err = np.vstack([np.nan_to_num(z - low), np.nan_to_num(high - z)])
    right.axvspan(-1, 1, color="#dddddd", zorder=0)
    right.axvline(0, color="black", linewidth=0.8)
    right.errorbar(z, y, xerr=err, fmt="o", capsize=3)
    right.set_yticks(y, list(fit["metric"]))
    right.set_xlabel("(fitted - target) / scale")
    right.invert_yaxis()
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- saving


@_styled
def counterfactual_scores(summary: pd.DataFrame, bases: Sequence[str] | None = None,
                          labels: dict[str, str] | None = None) -> Figure:
    """Every score on the same ground truth: for each metric family ``<base>_<score>`` of the
    counterfactual scoring (``analysis.policy``), the across-run mean and 95% bootstrap CI of each
    score, from the runs in ``summary`` (one row per run; select the runs first, e.g. the market
    running on the JSS)."""
    from marketplace.analysis.policy import POLICY_BASES, SCORE_KEYS, SCORE_LABELS

    bases = [b for b in (bases or ("spearman_quality", "auc_top_quartile",
                                   "p_above_beats_below", "drop_one_liar",
                                   "newcomers_admitted", "volatility"))
             if any(f"{b}_{k}" in summary.columns for k in SCORE_KEYS)]
    n = max(1, len(bases))
    cols = min(3, n)
    nrows = math.ceil(n / cols)
    fig = Figure(figsize=(3.9 * cols, 2.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    if not bases:
        return _no_data(fig, axes[0], "no counterfactual-score metrics")
    ypos = np.arange(len(SCORE_KEYS))
    for k, (ax, base) in enumerate(zip(axes, bases, strict=False)):
        rows = []
        for i, key in enumerate(SCORE_KEYS):
            col = f"{base}_{key}"
            values = (pd.to_numeric(summary[col], errors="coerce").to_numpy(
                dtype=float, na_value=np.nan) if col in summary.columns else np.array([]))
            rows.append(bootstrap_mean_ci(values, seed=(k, i), n_resamples=CI_RESAMPLES)[:3])
        mean, low, high = (np.array(v, dtype=float) for v in zip(*rows, strict=True))
        err = np.vstack([mean - low, high - mean])
        ax.errorbar(mean, ypos, xerr=np.nan_to_num(err), fmt="o", capsize=3, color="C0")
        ax.set_yticks(ypos, [SCORE_LABELS[key] for key in SCORE_KEYS] if k % cols == 0
                      else [""] * len(SCORE_KEYS))
        ax.invert_yaxis()
        ax.set_title((labels or {}).get(base, POLICY_BASES[base][0]), fontsize="medium")
    for ax in axes[len(bases):]:
        ax.set_visible(False)
    return fig


@_styled
def score_validity_by_week(by_week: pd.DataFrame, metric: str = "spearman_quality") -> Figure:
    """`metric` of every score at each snapshot week (table `policy_scores_by_week`, runs pooled:
    mean over runs with 95% CI), one line per score."""
    from marketplace.analysis.policy import SCORE_KEYS, SCORE_LABELS

    fig = Figure(figsize=FIG_SIZE, layout="constrained")
    ax = fig.add_subplot()
    if by_week is None or by_week.empty:
        return _no_data(fig, ax, "no policy_scores_by_week table")
    for i, key in enumerate(SCORE_KEYS):
        rows = by_week.loc[by_week["score"].astype(str) == key]
        if rows.empty:
            continue
        s = _mean_ci_by(rows, "week", metric)
        ax.plot(s["week"], s["mean"], marker="o", color=f"C{i}", label=SCORE_LABELS[key])
        ax.fill_between(s["week"], s["ci_low"], s["ci_high"], color=f"C{i}", alpha=0.15)
    ax.set_xlabel("Week")
    ax.set_ylabel("Spearman(score, true quality)" if metric == "spearman_quality" else metric)
    ax.legend(loc="best", fontsize="small")
    return fig


def save_figure(fig: Figure, path_stem: str | Path, dpi: int = 150) -> list[Path]:
    """Write `<stem>.png` and `<stem>.pdf` (each written to a temporary file, then renamed).

    The figure is laid out once (constrained layout and the tight bounding box, measured with the
    PNG renderer at `dpi`, exactly as `savefig(bbox_inches="tight")` does for the PNG) and both
    files are drawn from that layout: matplotlib would otherwise lay it out again for each format,
    which was half the time of `marketplace report`. The PNG is byte-identical to saving it alone;
    the PDF's margins follow the PNG's text metrics (within a fraction of a point).
    """
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    with mpl.rc_context(STYLE):
        bbox = _layout_once(fig, dpi)
        engine = fig.get_layout_engine()
        fig.set_layout_engine(None)  # laid out above: savefig must not lay it out again
        try:
            for ext in ("png", "pdf"):
                final = stem.with_name(f"{stem.name}.{ext}")
                tmp = stem.with_name(f".{stem.name}.tmp-{os.getpid()}.{ext}")
                fig.savefig(tmp, dpi=dpi, format=ext, metadata=_metadata(ext), bbox_inches=bbox)
                os.replace(tmp, final)
                written.append(final)
        finally:
            fig.set_layout_engine(engine)
    return written


def _layout_once(fig: Figure, dpi: int) -> Any:
    """Run the figure's layout engine with the Agg (PNG) renderer at `dpi` and return the tight
    bounding box in inches, padded by `savefig.pad_inches`: what `savefig(bbox_inches="tight")`
    computes before it draws a PNG, done once for every format. (savefig also draws the figure
    without rendering first; the layout and the box come out the same without that pass, which
    tests/test_analysis_report.py checks on the PNG bytes.)"""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    original_canvas, original_dpi = fig.canvas, fig.dpi
    try:
        fig.dpi = dpi
        renderer = FigureCanvasAgg(fig).get_renderer()
        engine = fig.get_layout_engine()
        if fig.axes and engine is not None:
            engine.execute(fig)
        return fig.get_tightbbox(renderer).padded(mpl.rcParams["savefig.pad_inches"])
    finally:
        fig.set_canvas(original_canvas)
        fig.dpi = original_dpi


def _metadata(ext: str) -> dict[str, Any]:
    """No creation date in the files, so rebuilding a report from the same results changes
    nothing in git."""
    if ext == "pdf":
        return {"CreationDate": None, "ModDate": None}
    if ext == "png":
        return {"Software": None}
    return {}
