"""The report of an experiment, rebuilt from its stored results (never from a model run).

`build_report(results_dir)` reads `manifest.json`, `summary.parquet` and the concatenated metric
tables (`<table>.parquet`, with a `run_id` column) that the runner wrote, and writes:

* `aggregate.parquet`: every metric per parameter combination, mean and 95% bootstrap CI (long
  format, see `marketplace.analysis.aggregate`);
* `figures/<name>.png|pdf`: the figures of the analyses the experiment asks for;
* `report.md`: the question, the configuration, each finding as a sentence with its number and
  95% CI, tables of every metric, caveats (metrics that could not be computed) and the figures.

Which findings and figures appear is chosen by the experiment config's `analysis:` list, whose
allowed names are the keys of `ANALYSES` (all of them when the list is empty). Every number in the
report is computed here from the runs.
`experiment_figures(results_dir)` builds the same figures in memory, written nowhere (the
notebooks show them).
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from marketplace.analysis import sensitivity as SA
from marketplace.analysis.metrics import METRIC_INFO
from marketplace.analysis.sections import (  # noqa: F401 (public here too)
    ANALYSES,
    ANALYSIS_PRESETS,
    POLICY_TABLE_METRICS,
    SPECIAL_SECTIONS,
    Analysis,
    expand_analyses,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class _LazyModule(ModuleType):
    """A module imported on first attribute access: `marketplace validate` reads ANALYSES from
    this module and must not pay for matplotlib and scipy."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._target = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(importlib.import_module(self._target), attr)


F = _LazyModule("marketplace.analysis.figures")
_aggregate = _LazyModule("marketplace.analysis.aggregate")

log = logging.getLogger(__name__)

AGGREGATE_FILE = "aggregate.parquet"
REPORT_FILE = "report.md"
FIGURES_DIR = "figures"
MAX_GROUP_LINES = 6
"""Per-run-table figures draw one line per combination up to this many combinations; beyond it,
one line per value of the first swept parameter (pooling the others)."""
MAX_SCATTER_FIGURES = 4
"""Hexbin and RD plots (one per combination) for at most this many combinations (the first and
last of the sweep otherwise)."""
MAX_SWEEP_METRICS = 9
MAX_SENTENCE_COMBOS = 3
"""Findings are written as one sentence per metric and combination up to this many
combinations; beyond it as a table per analysis (the contrasts stay sentences)."""


@dataclass
class _Context:
    results_dir: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    by: list[str]
    aggregate: pd.DataFrame
    combos: pd.DataFrame  # one row per combination: the by columns, "combo" label, "n_runs"
    tables: dict[str, pd.DataFrame | None] = field(default_factory=dict)
    seed: int = 0
    _sensitivity: Any = None
    _robustness: Any = None
    _aggregate_rows: dict[tuple[Any, ...], int] | None = None  # see _agg_row
    _runs_by_label: dict[str, pd.DataFrame] = field(default_factory=dict)  # see _runs_of

    @property
    def sensitivity_spec(self) -> dict[str, Any] | None:
        return SA.sensitivity_spec(self.manifest)

    def sensitivity(self) -> SA.SensitivityResult | None:
        """SALib indices of the headline metrics (None without a sensitivity design)."""
        spec = self.sensitivity_spec
        if spec is None:
            return None
        if self._sensitivity is None:
            self._sensitivity = SA.sensitivity_indices(self.summary, spec, seed=self.seed)
        return self._sensitivity

    def robustness(self) -> SA.Robustness | None:
        """Per-point verdict on the 90 line (None without at least two sampled points)."""
        if len(self.combos) < 2:
            return None
        if self._robustness is None:
            self._robustness = SA.robustness(self.summary, self.by) or False
        return self._robustness or None

    def table(self, name: str) -> pd.DataFrame | None:
        """A concatenated metric table with each run's combination label and swept values."""
        if name not in self.tables:
            path = self.results_dir / f"{name}.parquet"
            if not path.is_file():
                self.tables[name] = None
            else:
                df = pd.read_parquet(path)
                keep = ["run_id", "combo", *self.by]
                self.tables[name] = df.merge(self.summary[keep], on="run_id", how="inner")
        return self.tables[name]


# ----------------------------------------------------------------------------- entry point


def build_report(results_dir: str | Path, analyses: Sequence[str] | None = None,
                 seed: int | None = None, processes: int = 1) -> Path:
    """Write aggregate.parquet, figures/ and report.md for a results folder; return report.md.

    `analyses` overrides the config's `analysis:` list; `seed` (default: the experiment's root
    seed) seeds the bootstrap. `processes` > 1 draws the figures in that many processes, this
    one included (`figure_pool.default_processes()` is what `marketplace report` uses; the files
    are the same bytes). Helpers are spawned, so a script that asks for them must guard its
    top level with ``if __name__ == "__main__":``, as for any process pool.
    """
    from marketplace.analysis.figure_pool import FigurePool

    with FigurePool(processes) as pool:  # helpers start while the results are read
        ctx, names = _load(results_dir, analyses, seed, stored_aggregate=False)
        _write_parquet(ctx.aggregate, ctx.results_dir / AGGREGATE_FILE)
        if "sensitivity" in names and ctx.sensitivity() is not None:
            _write_parquet(ctx.sensitivity().indices, ctx.results_dir / SA.SENSITIVITY_FILE)
        if "robustness" in names and ctx.robustness() is not None:
            _write_parquet(ctx.robustness().points, ctx.results_dir / SA.ROBUSTNESS_FILE)
        specs = _figure_specs(ctx, names)
        slowest_first = sorted(specs, key=lambda spec: spec[2].func.__name__ not in _MANY_PANELS)
        text = pool.draw_all(  # the helpers draw while this process writes the text
            [(build, ctx.results_dir / FIGURES_DIR / stem) for stem, _, build in slowest_first],
            meanwhile=lambda: _render(ctx, names, [(caption, stem) for stem, caption, _ in specs]))
    path = ctx.results_dir / REPORT_FILE
    _write_text(text, path)
    return path


class ExperimentFigure(NamedTuple):
    """A report figure: its caption (as in report.md) and the matplotlib Figure."""

    caption: str
    figure: Figure


def experiment_figures(results_dir: str | Path, analyses: Sequence[str] | None = None
                       ) -> dict[str, ExperimentFigure]:
    """Every figure of the report of a results folder, keyed by its file stem under figures/,
    built by the same code as `marketplace report` but written nowhere (for notebooks).

    Reads the stored `aggregate.parquet` (computes it in memory when the report was never built).
    """
    ctx, names = _load(results_dir, analyses, None, stored_aggregate=True)
    return {stem: ExperimentFigure(caption, build())
            for stem, caption, build in _figure_specs(ctx, names)}


def _load(results_dir: str | Path, analyses: Sequence[str] | None, seed: int | None,
          stored_aggregate: bool) -> tuple[_Context, list[str]]:
    """The report context of a results folder and the analyses to show."""
    results_dir = Path(results_dir)
    manifest_path = results_dir / "manifest.json"
    summary_path = results_dir / "summary.parquet"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{results_dir} is not a results folder: no manifest.json")
    if not summary_path.is_file():
        raise FileNotFoundError(f"{summary_path} is missing: run the experiment first")
    manifest = json.loads(manifest_path.read_text())
    summary = pd.read_parquet(summary_path)
    by = _swept(manifest, summary)
    if seed is None:
        seed = int(manifest.get("root_seed") or 0)
    names = _analyses(manifest, analyses)

    summary = summary.copy()
    summary["combo"] = _combo_labels(summary, by)
    aggregate_path = results_dir / AGGREGATE_FILE
    if stored_aggregate and aggregate_path.is_file():
        aggregate = pd.read_parquet(aggregate_path)
    else:
        aggregate = _aggregate.aggregate_summary(summary.drop(columns=["combo"]), by, seed=seed)
    combos = _combinations(summary, by)
    return _Context(results_dir, manifest, summary, by, aggregate, combos, seed=seed), names


def _analyses(manifest: dict[str, Any], analyses: Sequence[str] | None) -> list[str]:
    names = list(analyses) if analyses is not None else list(
        (manifest.get("config") or {}).get("analysis") or [])
    names = expand_analyses(names) if names else list(ANALYSES)
    unknown = [n for n in names if n not in ANALYSES]
    if unknown:
        allowed = [*ANALYSES, *ANALYSIS_PRESETS]
        raise ValueError(f"unknown analysis {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return names


def _swept(manifest: dict[str, Any], summary: pd.DataFrame) -> list[str]:
    """Swept parameter paths (manifest `swept_parameters`), as far as the summary has them."""
    swept = manifest.get("swept_parameters")
    if swept is None:
        swept = list((manifest.get("sweep") or {}).keys())
    return [p for p in swept if p in summary.columns]


def _short(path: str) -> str:
    """A readable short name of a dotted parameter path (last part, or last two when the last is
    a bare value such as a mix key '90')."""
    parts = path.split(".")
    if len(parts) > 1 and (parts[-1].isdigit() or len(parts[-1]) <= 3):
        return ".".join(parts[-2:])
    return parts[-1]


def _words(path: str) -> str:
    """A parameter's name in words with its path: "Clients' rater types: dishonest share
    (`clients.rater_mix.dishonest`)"."""
    from marketplace.model.describe import parameter_title

    title = parameter_title(path)
    return f"`{path}`" if title == path else f"{title} (`{path}`)"


def _combo_labels(summary: pd.DataFrame, by: list[str]) -> pd.Series:
    if not by:
        return pd.Series(["all runs"] * len(summary), index=summary.index, dtype="string")
    labels = [", ".join(f"{_short(p)} = {F.format_value(v)}" for p, v in zip(by, row, strict=True))
              for row in summary[by].itertuples(index=False, name=None)]
    return pd.Series(labels, index=summary.index, dtype="string")


def _combinations(summary: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per combination, in sweep order (sorted by the swept values), with its label."""
    if not by:
        return pd.DataFrame({"combo": ["all runs"], "n_runs": [len(summary)]})
    return (summary.groupby(by, dropna=False, sort=True)
            .agg(combo=("combo", "first"), n_runs=("run_id", "size")).reset_index())


# ----------------------------------------------------------------------------- numbers


def metric_info(metric: str) -> tuple[str, str, str]:
    """(short label, meaning, number format) of a metric or of an aggregate row such as
    `density_test_p_90_share_below_05` (the share of runs whose p-value is below 0.05)."""
    if _aggregate_mod().is_p_share(metric):
        base = metric[: -len(_aggregate_mod().P_SHARE_SUFFIX)]
        label, meaning, _ = METRIC_INFO.get(base, (base, base, ""))
        what = meaning.split(";")[0].rstrip(".")
        return (f"runs with {label} < 0.05",
                f"Runs whose {what[:1].lower() + what[1:]} is below 0.05", ".0%")
    return METRIC_INFO.get(metric, (metric, metric, ".3g"))


def _aggregate_mod() -> Any:
    return importlib.import_module("marketplace.analysis.aggregate")


def _agg_name(metric: str) -> str:
    """The aggregate row of a summary metric (p-values are summarised as a share of runs)."""
    agg = _aggregate_mod()
    return agg.p_share_name(metric) if metric in agg.P_VALUE_METRICS else metric


def _fmt(metric: str, value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return format(value, metric_info(metric)[2])


def format_estimate(row: Any) -> str:
    """An aggregate row as text: 'mean [ci_low, ci_high]'; 'mean (n=3, no CI)' when the runs are
    too few for a CI (fewer than 5); 'k of n runs (share)' for a p-value row."""
    metric = str(row["metric"])
    n = int(row["n"])
    if n == 0:
        return "n/a"
    if _aggregate_mod().is_p_share(metric):
        k = round(float(row["mean"]) * n)
        return f"{k} of {n} runs ({_fmt(metric, row['mean'])})"
    if not np.isfinite(row["ci_low"]):
        return f"{_fmt(metric, row['mean'])} ({_no_ci(n)})"
    return f"{_fmt(metric, row['mean'])} [{_fmt(metric, row['ci_low'])}, " \
           f"{_fmt(metric, row['ci_high'])}]"


def _no_ci(n: int) -> str:
    """Said instead of a CI: the number of runs (a CI needs MIN_CI_RUNS, see the legend)."""
    return f"n={n}, no CI"


_cell = format_estimate


def _agg_row(ctx: _Context, combo_index: int, metric: str) -> pd.Series | None:
    """The aggregate row of a metric in one combination (None when the aggregate has none).

    The report asks for hundreds of rows; they are found through an index of the aggregate built
    once (metric and swept values -> first row), not by filtering the table each time."""
    if ctx._aggregate_rows is None:
        index: dict[tuple[Any, ...], int] = {}
        columns = [ctx.aggregate["metric"], *(ctx.aggregate[p] for p in ctx.by)]
        for position, key in enumerate(zip(*columns, strict=True)):
            index.setdefault(_row_key(key), position)
        ctx._aggregate_rows = index
    combo = ctx.combos.iloc[combo_index]
    position = ctx._aggregate_rows.get(
        _row_key((_agg_name(metric), *(combo[p] for p in ctx.by))))
    return None if position is None else ctx.aggregate.iloc[position]


class _Missing:
    """Stands for a missing swept value in an index key (NaN never equals itself)."""


_MISSING = _Missing()


def _row_key(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_MISSING if _isna(v) or v is pd.NA else v for v in values)


def _isna(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _runs_of(ctx: _Context, combo_index: int) -> pd.DataFrame:
    label = ctx.combos.iloc[combo_index]["combo"]
    if label not in ctx._runs_by_label:
        ctx._runs_by_label[label] = ctx.summary.loc[ctx.summary["combo"] == label]
    return ctx._runs_by_label[label]


def _sentence(ctx: _Context, combo_index: int, metric: str) -> str | None:
    row = _agg_row(ctx, combo_index, metric)
    if row is None:
        return None
    name = str(row["metric"])
    meaning = metric_info(name)[1]
    if row["n"] == 0:
        return f"{meaning.rstrip('.')} could not be computed in any run (see Caveats)."
    if _aggregate_mod().is_p_share(name):
        return f"{meaning.rstrip('.')}: **{format_estimate(row)}** with a p-value."
    if np.isfinite(row["ci_low"]):
        ci = f"95% CI {_fmt(name, row['ci_low'])} to {_fmt(name, row['ci_high'])}, "
    else:
        ci = f"no CI: fewer than {_aggregate_mod().MIN_CI_RUNS} runs, "
    return (f"{meaning.rstrip('.')}: **{_fmt(name, row['mean'])}** ({ci}"
            f"{row['n']} of {row['n_runs']} runs).")


def _special_sentences(ctx: _Context, combo_index: int, metric: str) -> list[str]:
    """Per-run test outcomes: how often the run's own RD CI excluded 0, as counts of runs (the
    density test's rejections are its aggregate row, see `format_estimate`)."""
    runs = _runs_of(ctx, combo_index)
    out = []
    if metric == "rd_jump_90" and {"rd_ci_low_90", "rd_ci_high_90"} <= set(runs.columns):
        low, high = runs["rd_ci_low_90"].to_numpy(float), runs["rd_ci_high_90"].to_numpy(float)
        ok = np.isfinite(low) & np.isfinite(high)
        if ok.any():
            pos, neg = int(np.sum(low[ok] > 0)), int(np.sum(high[ok] < 0))
            out.append(f"The run's own robust 95% CI of the jump excluded zero in {pos + neg} of "
                       f"{int(ok.sum())} runs ({pos} with a positive jump, {neg} negative).")
    return out


def _contrasts(ctx: _Context, metric: str, seed: int) -> list[str]:
    """For each swept parameter: first vs last value (others at their first value), with a
    bootstrap CI of the difference."""
    out = []
    if not ctx.by or len(ctx.combos) < 2 or metric not in ctx.summary.columns \
            or metric in _aggregate_mod().P_VALUE_METRICS:
        return out  # (results from an older version may lack a metric)
    if _varied_together(ctx):
        first, last = 0, len(ctx.combos) - 1
        a = _runs_of(ctx, first)[metric].to_numpy(float)
        b = _runs_of(ctx, last)[metric].to_numpy(float)
        if np.isfinite(a).any() and np.isfinite(b).any():
            out.append(_contrast_sentence(ctx, metric, first, last, a, b, seed, 0,
                                          ctx.combos.iloc[first]["combo"],
                                          ctx.combos.iloc[last]["combo"], ""))
        return out
    base = ctx.combos.iloc[0]
    for pi, param in enumerate(ctx.by):
        others = [p for p in ctx.by if p != param]
        cand = ctx.combos
        for p in others:
            cand = cand.loc[cand[p].isna()] if _isna(base[p]) else cand.loc[cand[p] == base[p]]
        if len(cand) < 2:
            continue
        first, last = cand.index[0], cand.index[-1]
        a = _runs_of(ctx, int(first))[metric].to_numpy(float)
        b = _runs_of(ctx, int(last))[metric].to_numpy(float)
        if not (np.isfinite(a).any() and np.isfinite(b).any()):
            continue
        fixed = (" (" + ", ".join(f"{_short(p)} = {F.format_value(base[p])}" for p in others)
                 + ")") if others else ""
        out.append(_contrast_sentence(
            ctx, metric, int(first), int(last), a, b, seed, pi,
            f"{_short(param)} = {F.format_value(cand.iloc[0][param])}",
            F.format_value(cand.iloc[-1][param]), fixed))
    return out


def _contrast_sentence(ctx: _Context, metric: str, first: int, last: int, a: np.ndarray,
                       b: np.ndarray, seed: int, index: int, from_label: str, to_label: str,
                       fixed: str) -> str:
    diff, low, high = _aggregate.bootstrap_diff_ci(a, b, seed=(seed, index, len(metric)))
    ra, rb = _agg_row(ctx, first, metric), _agg_row(ctx, last, metric)
    label = metric_info(metric)[0]
    ci = (f"95% CI {_fmt(metric, low)} to {_fmt(metric, high)}" if np.isfinite(low)
          else f"no CI: fewer than {_aggregate_mod().MIN_CI_RUNS} runs on a side")
    return (f"From {from_label} to {to_label}{fixed}, {label} goes from {_cell(ra)} to "
            f"{_cell(rb)}: a change of **{_fmt(metric, diff)}** ({ci}).")


def _varied_together(ctx: _Context) -> bool:
    """Several swept parameters that each identify the combination (a zip design)."""
    n = len(ctx.combos)
    return len(ctx.by) > 1 and all(ctx.combos[p].nunique(dropna=False) == n for p in ctx.by)


# ----------------------------------------------------------------------------- figures


def _group_column(ctx: _Context) -> str | None:
    if len(ctx.combos) <= 1:
        return None
    return F.LABEL_COLUMN if len(ctx.combos) <= MAX_GROUP_LINES else ctx.by[0]


def _scatter_combos(ctx: _Context) -> list[int]:
    n = len(ctx.combos)
    return list(range(n)) if n <= MAX_SCATTER_FIGURES else [0, n - 1]


def _rd_annotation(ctx: _Context, combo_index: int) -> str | None:
    row = _agg_row(ctx, combo_index, "rd_jump_90")
    if row is None or row["n"] == 0:
        return None
    return f"rdrobust jump, mean over runs: {_cell(row)}"


def _rd_bandwidth(ctx: _Context, combo_index: int) -> float | None:
    """The median of the runs' rdrobust bandwidths (`rd_bandwidth_90`): the plot draws the fit
    the reported jump comes from, not one with a bandwidth of its own."""
    runs = _runs_of(ctx, combo_index)
    if "rd_bandwidth_90" not in runs.columns:
        return None
    h = runs["rd_bandwidth_90"].to_numpy(float)
    h = h[np.isfinite(h) & (h > 0)]
    return float(np.median(h)) if h.size else None


_MANY_PANELS = ("parameter_sweep", "sensitivity_indices")
"""Figures with a panel per metric, drawn first: each takes several times the others."""


def _figure_specs(ctx: _Context, names: list[str]) -> list[tuple[str, str, Callable[[], Figure]]]:
    """(file stem, caption, build) of each figure of the chosen analyses, in report order; each
    build is a picklable partial of a `figures` function, so a helper process can draw it."""
    wanted: list[str] = []
    for name in names:
        wanted += [f for f in ANALYSES[name].figures if f not in wanted]
    specs: list[tuple[str, str, Callable[[], Figure]]] = []
    group = _group_column(ctx)
    pooled = (f" One line per value of {_short(ctx.by[0])}, pooling the other swept parameters."
              if group is not None and group != F.LABEL_COLUMN else "")

    def emit(stem: str, caption: str, build: Callable[[], Figure]) -> None:
        specs.append((stem, caption, build))

    per_run: dict[str, tuple[str, str, str]] = {  # figure: (table, figures function, caption)
        "quality_by_jss_band": ("jss_bands", "quality_by_jss_band",
                                "Mean true quality by JSS band (95% CI over runs)."),
        "precision_recall": ("precision_recall", "precision_recall_curve",
                             "Precision and recall of JSS >= cut-off for top-quartile quality."),
        "one_negative_drop": ("one_negative_drop", "one_negative_drop",
                              "JSS drop after one extra negative outcome, by history length."),
        "jss_histogram": ("freelancer_sample", "jss_histogram",
                          "Distribution of JSS (sampled freelancers, runs pooled)."),
    }
    for name in wanted:
        if name in per_run:
            table, function, caption = per_run[name]
            df = ctx.table(table)
            if df is None or df.empty:
                log.warning("figure %s skipped: no %s table", name, table)
                continue
            emit(name, caption + pooled, partial(getattr(F, function), df, group))
        elif name in ("jss_quality_hexbin", "rd_plot"):
            sample = ctx.table("freelancer_sample")
            if sample is None or sample.empty:
                log.warning("figure %s skipped: no freelancer_sample table", name)
                continue
            for i in _scatter_combos(ctx):
                label = ctx.combos.iloc[i]["combo"]
                rows = sample.loc[sample["combo"] == label]
                stem = name if len(ctx.combos) == 1 else f"{name}_{i}"
                if name == "rd_plot":
                    bandwidth = _rd_bandwidth(ctx, i)
                    fit = (f" Local linear fits within the estimate's bandwidth (±{bandwidth:.1f}"
                           " points, median of the runs' rdrobust bandwidths)."
                           if bandwidth is not None else " No rdrobust estimate: bins only.")
                    emit(stem, f"Regression discontinuity at JSS 90 ({label}; runs pooled).{fit}",
                         partial(F.rd_plot, rows, bandwidth=bandwidth,
                                 annotation=_rd_annotation(ctx, i)))
                else:
                    emit(stem, f"JSS against true quality ({label}; runs pooled).",
                         partial(F.jss_quality_hexbin, rows))
        elif name == "counterfactual_scores":
            runs = ctx.summary
            if "platform.score" in runs.columns:
                runs = runs.loc[runs["platform.score"].astype(str) == "jss"]
            if "platform.client_reputation" in runs.columns and len(runs):
                runs = runs.loc[~runs["platform.client_reputation"].astype(bool)]
            if runs.empty:
                runs = ctx.summary
            emit(name, "Every score on the same histories: the market runs on the JSS and each "
                 "freelancer's history is scored again with every alternative (mean over runs, "
                 "95% bootstrap CI).", partial(F.counterfactual_scores, runs))
        elif name == "policy_scores_by_week":
            df = ctx.table("policy_scores_by_week")
            if df is None or df.empty:
                log.warning("figure %s skipped: no policy_scores_by_week table", name)
                continue
            emit(name, "Spearman(score, true quality) of every score at each snapshot week "
                 "(mean over runs, 95% CI), all runs pooled.",
                 partial(F.score_validity_by_week, df))
        elif name == "parameter_sweep":
            if ctx.sensitivity_spec is not None:  # a sample is not a sweep: no per-value lines
                continue
            for stem, caption, build in _sweep_figures(ctx, names):
                emit(stem, caption, build)
        elif name == "sensitivity_indices" and ctx.sensitivity() is not None:
            res = ctx.sensitivity()
            if res.indices.empty:
                continue
            method = str(res.indices["method"].iloc[0])
            metrics = list(dict.fromkeys(res.indices["metric"]))
            mlabels = {m: METRIC_INFO.get(m, (m,))[0] for m in metrics}
            plabels = {p: SA.parameter_label(p, 60) for p in ctx.by}
            caption = ("Morris: mu_star (mean absolute elementary effect, 95% CI) and sigma, "
                       if method == "morris" else
                       "Sobol: total-order ST and first-order S1 indices (95% CI), ")
            emit(f"sensitivity_{method}", caption + "parameters sorted by influence, one panel "
                 "per headline metric.",
                 partial(F.sensitivity_indices, res.indices, metrics, mlabels, plabels))
        elif name == "robustness" and ctx.robustness() is not None:
            rob = ctx.robustness()
            params = [p for p in rob.regions["parameter"]] or list(ctx.by)
            emit("robustness_90", "P(just above 90 beats just below) at each sampled point "
                 "(95% CI), against the parameters that most separate robust points from the "
                 "rest.",
                 partial(F.robustness_map, rob.points, params, 0.5,
                         METRIC_INFO["p_above_beats_below_90"][0],
                         {p: SA.parameter_label(p) for p in params}))
    return specs


def _sweep_figures(ctx: _Context, names: list[str]) -> list[tuple[str, str, Callable[[], Any]]]:
    metrics: list[str] = []
    for name in names:
        metrics += [m for m in ANALYSES[name].metrics if m not in metrics]
    metrics = [_agg_name(m) for m in metrics[:MAX_SWEEP_METRICS]]
    labels = {m: metric_info(m)[0] for m in metrics}
    out = []
    if _varied_together(ctx):
        # parameters varied together (a zip): one figure over the combinations, in sweep order
        agg = ctx.aggregate.merge(ctx.combos[[*ctx.by, "combo"]], on=ctx.by, how="left")
        caption = ("Key metrics for each combination of " + ", ".join(ctx.by)
                   + " (varied together; mean over runs, 95% bootstrap CI).")
        out.append(("sweep_combinations", caption,
                    partial(F.parameter_sweep, agg, "combo", metrics, labels=labels,
                            xlabel="combination")))
        return out
    for pi, param in enumerate(ctx.by):
        if ctx.combos[param].nunique(dropna=False) < 2:
            continue
        others = [p for p in ctx.by if p != param]
        group = others[0] if others else None
        agg = ctx.aggregate
        fixed = []
        for p in others[1:]:  # hold further parameters at their first value
            first = ctx.combos.iloc[0][p]
            agg = agg.loc[agg[p].isna()] if _isna(first) else agg.loc[agg[p] == first]
            fixed.append(f"{_short(p)} = {F.format_value(first)}")
        caption = (f"Key metrics against {_words(param)} (mean over runs, 95% bootstrap CI; "
                   "none with fewer than 5 runs)") + (
            f", one line per {_words(group)}" if group else "") + (
            f", with {', '.join(fixed)}" if fixed else "") + "."
        out.append((f"sweep_{pi}_{_short(param).replace('.', '_')}", caption,
                    partial(F.parameter_sweep, agg, param, metrics, labels=labels,
                            group=group)))
    return out


# ----------------------------------------------------------------------------- markdown


def policy_table(aggregate: pd.DataFrame, by: Sequence[str],
                 metrics: Sequence[str] = POLICY_TABLE_METRICS) -> list[str]:
    """Markdown lines of the policy table (issue 14 item 5): one row per market score (and
    client-reputation setting when swept), one column per outcome, mean [95% CI] over runs."""
    agg = aggregate.loc[aggregate["metric"].isin(metrics)]
    if agg.empty:
        return ["(no policy metrics in this experiment)"]
    by = [b for b in by if b in agg.columns]
    metrics = [m for m in metrics if m in set(agg["metric"])]
    header = [_short(b) for b in by] + [METRIC_INFO.get(m, (m,))[0] for m in metrics]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    keys = agg[by].drop_duplicates() if by else pd.DataFrame([{}])
    for _, key in keys.iterrows():
        rows = agg
        for b in by:
            rows = rows.loc[rows[b] == key[b]]
        cells = [F.format_value(key[b]) for b in by]
        for m in metrics:
            r = rows.loc[rows["metric"] == m]
            cells.append("n/a" if r.empty else _cell(r.iloc[0]))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, "", "Mean over runs [95% bootstrap CI]; `_market` = the score the market "
            "ran on (docs/outputs.md).", ""]


def _render(ctx: _Context, names: list[str], figure_links: list[tuple[str, str]]) -> str:
    m = ctx.manifest
    seed = int(m.get("root_seed") or 0)
    lines = [f"# {m.get('name', ctx.results_dir.name)}: report", ""]
    lines += ["## Question", ""]
    if m.get("description"):
        lines += [str(m["description"]).strip(), ""]
    lines += ["Every number below is computed from the runs in `summary.parquet` (mean over "
              "replications with a 95% bootstrap confidence interval; test p-values as the "
              "share of runs below 0.05); rebuild with "
              f"`marketplace report {ctx.results_dir}`.", ""]
    lines += _summary(ctx, names)
    lines += _configuration(ctx)
    lines += ["## Findings", ""]
    for name in names:
        analysis = ANALYSES[name]
        if name == "sensitivity" and ctx.sensitivity() is not None:
            lines += SA.report_lines(ctx.sensitivity(), ctx.sensitivity_spec,
                                     int(m.get("replications") or 1))
        elif name == "robustness" and len(ctx.combos) >= 2:
            lines += SA.robustness_lines(ctx.robustness(), f"`{m.get('name', '')}`")
        if not analysis.metrics:
            continue
        lines += [f"### {analysis.title}", "", f"*{analysis.question}*", ""]
        if len(ctx.combos) > MAX_SENTENCE_COMBOS:
            lines += _findings_table(ctx, analysis.metrics)
        else:
            for ci in range(len(ctx.combos)):
                if len(ctx.combos) > 1:
                    lines += [f"**{ctx.combos.iloc[ci]['combo']}**", ""]
                for metric in analysis.metrics:
                    s = _sentence(ctx, ci, metric)
                    if s:
                        lines.append(f"- {s}")
                        lines += [f"  {t}" for t in _special_sentences(ctx, ci, metric)]
                lines.append("")
        if name == "policy":
            lines += ["#### Table for the README", "", *policy_table(ctx.aggregate, ctx.by), ""]
        contrasts = [c for metric in analysis.metrics for c in _contrasts(ctx, metric, seed)]
        if contrasts:
            lines += ["Across the sweep:", ""] + [f"- {c}" for c in contrasts] + [""]
    if figure_links:
        lines += ["## Figures", ""]
        for caption, stem in figure_links:
            lines += [f"**{caption}** ([PDF]({FIGURES_DIR}/{stem}.pdf))", "",
                      f"![{caption}]({FIGURES_DIR}/{stem}.png)", ""]
    lines += _facts_section(ctx, seed)
    if ctx.sensitivity_spec is None:
        lines += _all_metrics_table(ctx)
    else:  # hundreds of sample points: the per-point table is summary.parquet itself
        lines += ["## All metrics", "", "One row per sample point and replication in "
                  f"`summary.parquet`; the indices in `{SA.SENSITIVITY_FILE}`.", ""]
    lines += _caveats(ctx)
    return "\n".join(lines).rstrip() + "\n"


MAX_FACT_COMBOS = 8
"""The stylized-facts section covers at most this many combinations (the first ones)."""


def _facts_section(ctx: _Context, seed: int) -> list[str]:
    """Every report's stylized-facts table (marketplace/analysis/facts.yaml), as `marketplace
    facts` prints it."""
    from marketplace.analysis.facts import facts_markdown, facts_table

    summary = ctx.summary.drop(columns=["combo"])
    note = []
    if ctx.by and len(ctx.combos) > MAX_FACT_COMBOS:
        keep = ctx.combos.head(MAX_FACT_COMBOS)[ctx.by]
        summary = summary.merge(keep, on=ctx.by, how="inner")
        note = [f"(first {MAX_FACT_COMBOS} of {len(ctx.combos)} combinations; "
                f"`marketplace facts {ctx.results_dir}` shows all)", ""]
    table = facts_table(summary, by=ctx.by, seed=seed)
    return ["## Stylized facts", "",
            "Each fact's statistic per run (definitions and sources: "
            "`marketplace/analysis/facts.yaml`, docs/VALIDATION.md), mean over replications "
            "[95% bootstrap CI], against its target range; source quality V verified, "
            "S secondary, A assumed.", "", *note,
            facts_markdown(table, heading="###", n_runs=None), ""]


SUMMARY_METRICS = ("spearman_jss_quality", "quality_gap_90", "rd_jump_90", "precision_90",
                   "excluded_good_share_90_incl_no_jss", "share_jss_ge_90", "density_test_p_90",
                   "jss_drop_after_one_negative", "newcomer_never_hired_share",
                   "mean_quality_hired", "gini_jobs")
"""Candidates for the key numbers at the top of the report, in order of importance."""
MAX_SUMMARY_METRICS = 6
MAX_SUMMARY_COLUMNS = 4


def _summary(ctx: _Context, names: list[str]) -> list[str]:
    """The key numbers of the chosen analyses with their CIs, first thing in the report."""
    chosen = {m for name in names for m in ANALYSES[name].metrics}
    present = set(ctx.aggregate["metric"])
    metrics = [m for m in SUMMARY_METRICS if m in chosen and _agg_name(m) in present]
    metrics = metrics[:MAX_SUMMARY_METRICS]
    lines = ["## Summary", ""]
    if ctx.sensitivity_spec is not None:  # one run per sample point by design: the indices
        return [*lines, "A sensitivity study: its answers are the indices and the robustness "
                "verdict under Findings (one run per sample point by design).", ""]
    few = _few_runs_note(ctx)
    if few:
        lines += [f"> {few}", ""]
    if not metrics:
        return [*lines, "No key metric was computed (see Caveats).", ""]
    n = len(ctx.combos)
    if n <= MAX_SUMMARY_COLUMNS:
        lines += ["| key number | " + " | ".join(str(c) for c in ctx.combos["combo"]) + " |",
                  "|---|" + "---|" * n]
        for metric in metrics:
            cells = [_cell_or_na(_agg_row(ctx, i, metric)) for i in range(n)]
            lines.append(f"| {metric_info(_agg_name(metric))[0]} | " + " | ".join(cells) + " |")
    else:
        metrics = metrics[:MAX_SUMMARY_COLUMNS]
        lines += ["| combination | " + " | ".join(metric_info(_agg_name(m))[0] for m in metrics)
                  + " |", "|---|" + "---|" * len(metrics)]
        for i in range(n):
            cells = [_cell_or_na(_agg_row(ctx, i, m)) for m in metrics]
            lines.append(f"| {ctx.combos.iloc[i]['combo']} | " + " | ".join(cells) + " |")
    lines += ["", _legend(ctx) + " Definitions: `docs/outputs.md`; details under Findings.", ""]
    return lines


def _cell_or_na(row: pd.Series | None) -> str:
    return "n/a" if row is None else format_estimate(row)


def _few_runs_note(ctx: _Context) -> str | None:
    """A warning when some combination has too few runs for confidence intervals."""
    smallest = int(ctx.combos["n_runs"].min()) if len(ctx.combos) else 0
    need = _aggregate_mod().MIN_CI_RUNS
    if smallest >= need:
        return None
    return (f"**Too few runs for confidence intervals**: a combination has only {smallest} "
            f"run(s); a CI needs at least {need}, so numbers below are plain means of the runs "
            f"with no CI. Raise `sweep.replications` to {need} or more (e.g. "
            f"`--set sweep.replications={max(need, 20)}`) before reading differences.")


def _legend(ctx: _Context) -> str:
    return (f"Mean over runs [95% bootstrap CI] (no CI with fewer than "
            f"{_aggregate_mod().MIN_CI_RUNS} runs); tests: runs with p < 0.05 of runs with a "
            "p-value.")


def _findings_table(ctx: _Context, metrics: Sequence[str]) -> list[str]:
    """Many combinations: one row per combination, one column per metric (mean [95% CI])."""
    metrics = [m for m in metrics if _agg_name(m) in set(ctx.aggregate["metric"])]
    labels = [metric_info(_agg_name(m))[0] for m in metrics]
    lines = ["| combination | " + " | ".join(labels) + " |",
             "|---|" + "---|" * len(metrics)]
    for ci in range(len(ctx.combos)):
        cells = []
        for metric in metrics:
            row = _agg_row(ctx, ci, metric)
            cells.append("n/a" if row is None else _cell(row))
        lines.append(f"| {ctx.combos.iloc[ci]['combo']} | " + " | ".join(cells) + " |")
    return [*lines, "", _legend(ctx), ""]


def _configuration(ctx: _Context) -> list[str]:
    m = ctx.manifest
    cfg = m.get("config") or {}
    counts = m.get("counts") or {}
    git = m.get("git") or {}
    lines = ["## Configuration", ""]
    rows = [
        ("experiment", m.get("name")),
        ("config file", m.get("config_file")),
        ("config hash", m.get("config_hash")),
        ("git commit", (git.get("commit") or "") + (" (dirty)" if git.get("dirty") else "")),
        ("root seed", m.get("root_seed")),
        ("replications per combination", m.get("replications")),
        ("combinations", len(ctx.combos)),
        ("finished runs", f"{len(ctx.summary)}" + (
            f" (failed: {counts.get('failed', 0)})" if counts else "")),
    ]
    lines += [f"- {k}: {v}" for k, v in rows if v not in (None, "")]
    spec = ctx.sensitivity_spec
    if spec is not None:
        lines.append(f"- sensitivity design: {spec.get('method')}, {SA.n_points(spec)} sample "
                     "points; parameters and bounds:")
        for p, entry in SA.parameter_specs(spec).items():
            low, high = entry["bounds"]
            dist = entry.get("distribution") or "unif"
            lines.append(f"  - `{p}` ({SA.parameter_label(p)}): [{low:g}, {high:g}]"
                         + ("" if dist == "unif" else f", {dist}"))
    elif ctx.by:
        lines.append("- swept parameters:")
        for p in ctx.by:
            values = ", ".join(F.format_value(v) for v in ctx.combos[p].drop_duplicates())
            lines.append(f"  - `{p}`: {values}")
    model = cfg.get("model")
    if model:
        import yaml

        lines += ["", "Model settings (the rest are the defaults of `ModelParams`):", "",
                  "```yaml", yaml.safe_dump(model, sort_keys=True).rstrip(), "```"]
    lines.append("")
    return lines


def _all_metrics_table(ctx: _Context) -> list[str]:
    lines = ["## All metrics", "",
             _legend(ctx) + " n/a = not computable (see Caveats).", ""]
    metrics = list(dict.fromkeys(ctx.aggregate["metric"]))
    per_table = 4
    for start in range(0, len(ctx.combos), per_table):
        idx = list(range(start, min(start + per_table, len(ctx.combos))))
        header = "| metric | " + " | ".join(str(ctx.combos.iloc[i]["combo"]) for i in idx) + " |"
        lines += [header, "|---|" + "---|" * len(idx)]
        for metric in metrics:
            cells = []
            for i in idx:
                row = _agg_row(ctx, i, metric)
                cells.append("n/a" if row is None else _cell(row))
            lines.append(f"| `{metric}` | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _caveats(ctx: _Context) -> list[str]:
    notes = ctx.table("metric_notes")
    lines = ["## Caveats", ""]
    if notes is None or notes.empty:
        return [*lines, "Every metric was computed in every run.", ""]
    # run-specific details (counts in parentheses) are dropped so that equal reasons group
    notes = notes.assign(reason=notes["reason"].astype(str).str.replace(
        r"\s*\([^)]*\)", "", regex=True))
    counts = (notes.groupby(["metric", "reason"], sort=True)["run_id"].nunique()
              .reset_index(name="runs").sort_values(["metric", "runs"], ascending=[True, False]))
    lines += ["Metrics left out (NaN) in some runs, and why:", ""]
    n = len(ctx.summary)
    for metric, rows in counts.groupby("metric", sort=True):
        top = rows.iloc[0]
        more = f" (and {len(rows) - 1} other reasons)" if len(rows) > 1 else ""
        lines.append(f"- `{metric}`: {top['runs']} of {n} runs: {top['reason']}{more}")
    lines.append("")
    return lines


# ----------------------------------------------------------------------------- files


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _write_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
