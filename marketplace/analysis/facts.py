"""Stylized facts as code: their targets (facts.yaml), their per-run statistics, their verdicts.

The facts, their target ranges, sources and source quality and the exact definition of each
statistic live in one data file, `marketplace/analysis/facts.yaml` (`load_facts`). This module

* computes the per-run statistics the existing metrics do not already give (`fact_metrics`, called
  by `metrics.run_metrics`, so every summary has them and CIs are over replications);
* turns a results summary into the facts table (`facts_table`): mean and 95% bootstrap CI over
  replications of each check, and a verdict (inside / outside / not modelled / not measured);
* renders that table as markdown (reports, docs/VALIDATION.md) or for the terminal;
* gives the calibration its objective (`objective`): method of simulated moments with each
  check's `target` and `scale` from the data file.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

FACTS_FILE = "facts.yaml"
QUALITIES = ("V", "S", "A")
"""Source quality: V verified (Upwork or the paper itself), S secondary, A assumed."""
VERDICTS = ("inside", "outside", "not modelled", "not measured")
INFLATION_YEAR_WEEKS = 52
"""Length (weeks) of the first and last year compared by `inflation_share_of_rating_rise`."""
INFLATION_MIN_RISE = 0.01
"""Smallest rise in mean public stars (stars) that is decomposed; below it the share is NaN."""
SATISFACTION_BINS = 10
"""Quantile bins of true satisfaction for the first year's stars mapping."""

FACT_METRIC_NAMES: tuple[str, ...] = (
    "share_top_rated_plus",
    "hires_per_proposal_excl_rehires",
    "hire_rate_ratio_reviewed_vs_none",
    "top20_earnings_share_earners",
    "inflation_share_of_rating_rise",
    "silence_lift_gradient",
    "gaming_limit_violations",
)
"""Per-run metrics added for the stylized facts (appended to metrics.METRIC_NAMES)."""

FACT_METRIC_INFO: dict[str, tuple[str, str, str]] = {
    "share_top_rated_plus": ("share Top Rated Plus", "Share of active freelancers with Top Rated "
                             "Plus at the end of the run.", ".3f"),
    "hires_per_proposal_excl_rehires": ("hires per proposal (no rehires)", "Hires made through "
                                        "proposals (direct rehires left out) per proposal "
                                        "received, whole run.", ".4f"),
    "hire_rate_ratio_reviewed_vs_none": ("first-hire hurdle", "Hires per freelancer-week with "
                                         ">= 1 public review over hires per freelancer-week with "
                                         "none, analysed period.", ".1f"),
    "top20_earnings_share_earners": ("top-20% earnings share (earners)", "Share of the last 52 "
                                     "weeks' earnings going to the top 20% of the active "
                                     "freelancers who earned in them (end of run).", ".3f"),
    "inflation_share_of_rating_rise": ("inflation share of rating rise", "Share of the rise in "
                                       "mean public stars (first to last year of the period) not "
                                       "explained by true satisfaction.", ".3f"),
    "silence_lift_gradient": ("silence lift, bottom minus top quartile", "JSS gained by "
                              "excluding no-feedback contracts (vs counting them negative), "
                              "bottom true-quality quartile minus top (points).", ".2f"),
    "gaming_limit_violations": ("gaming-limit violations", "Ended contracts breaking a "
                                "documented JSS limit (refunds, $0, weight cap, flagged "
                                "clients); should be 0.", ".0f"),
}


class FactsFileError(ValueError):
    """The facts data file is malformed; the message names the fact and the field."""


@dataclass(frozen=True)
class FactCheck:
    """One moment of a fact: a per-run metric and its target range."""

    metric: str
    low: float | None
    high: float | None
    target: float
    scale: float
    quality: str
    definition: str

    def contains(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or
                                                             value <= self.high)

    @property
    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{_num(self.low)}" if self.low == self.high else \
                f"{_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f">= {_num(self.low)}"
        return f"<= {_num(self.high)}"


@dataclass(frozen=True)
class Fact:
    """A stylized fact with its sources and checks (see facts.yaml for the schema)."""

    id: str
    title: str
    claim: str
    source: str
    modelled: bool
    not_modelled_reason: str
    limitation: str
    checks: tuple[FactCheck, ...]

    @property
    def quality(self) -> str:
        """The qualities of its checks, strongest first (e.g. 'V/S')."""
        seen = {c.quality for c in self.checks}
        return "/".join(q for q in QUALITIES if q in seen)


def _num(x: float) -> str:
    return f"{x:g}"


# ----------------------------------------------------------------------------- the data file


def facts_path() -> Path:
    """Path of the packaged facts.yaml."""
    return Path(str(resources.files("marketplace.analysis").joinpath(FACTS_FILE)))


def load_facts(path: str | Path | None = None) -> tuple[Fact, ...]:
    """Read and validate the facts file (default: the packaged one, read once per process)."""
    if path is None:
        return _packaged_facts()
    text = Path(path).read_text("utf-8")
    return _parse_text(text, str(path))


@functools.cache
def _packaged_facts() -> tuple[Fact, ...]:
    text = resources.files("marketplace.analysis").joinpath(FACTS_FILE).read_text("utf-8")
    return _parse_text(text, FACTS_FILE)


def _parse_text(text: str, where: str) -> tuple[Fact, ...]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FactsFileError(f"{where}: not valid YAML: {exc}") from None
    return parse_facts(raw, where)


def _need(d: Mapping, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        raise FactsFileError(f"{where}: missing field {key!r}")
    value = d[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise FactsFileError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, "
                             f"got {value!r}")
    return value


def _bound(d: Mapping, key: str, where: str) -> float | None:
    value = d.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise FactsFileError(f"{where}.{key}: expected a number or null, got {value!r}")
    return float(value)


def parse_facts(raw: Any, where: str = FACTS_FILE) -> tuple[Fact, ...]:
    """Validate the parsed YAML (schema in facts.yaml) and build the facts."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("facts"), list) or not raw["facts"]:
        raise FactsFileError(f"{where}: expected a mapping with a non-empty list 'facts'")
    facts: list[Fact] = []
    ids: set[str] = set()
    metrics: set[str] = set()
    for i, f in enumerate(raw["facts"]):
        at = f"{where}: facts[{i}]"
        if not isinstance(f, Mapping):
            raise FactsFileError(f"{at}: expected a mapping")
        fid = _need(f, "id", at, str)
        at = f"{where}: fact {fid!r}"
        if fid in ids or not fid.replace("_", "").isalnum():
            raise FactsFileError(f"{at}: id must be unique snake_case")
        ids.add(fid)
        unknown = set(f) - {"id", "title", "claim", "source", "modelled", "not_modelled_reason",
                            "limitation", "checks"}
        if unknown:
            raise FactsFileError(f"{at}: unknown field(s) {sorted(unknown)}")
        modelled = _need(f, "modelled", at, bool)
        reason = f.get("not_modelled_reason") or ""
        if not modelled and not reason:
            raise FactsFileError(f"{at}.not_modelled_reason: required when modelled is false")
        checks_raw = _need(f, "checks", at, list)
        if not checks_raw:
            raise FactsFileError(f"{at}.checks: needs at least one check")
        checks = []
        for j, c in enumerate(checks_raw):
            cat = f"{at}.checks[{j}]"
            if not isinstance(c, Mapping):
                raise FactsFileError(f"{cat}: expected a mapping")
            unknown = set(c) - {"metric", "low", "high", "target", "scale", "quality",
                                "definition"}
            if unknown:
                raise FactsFileError(f"{cat}: unknown field(s) {sorted(unknown)}")
            metric = _need(c, "metric", cat, str)
            if metric in metrics:
                raise FactsFileError(f"{cat}.metric: {metric!r} is already checked by another "
                                     "fact")
            metrics.add(metric)
            low, high = _bound(c, "low", cat), _bound(c, "high", cat)
            if low is None and high is None:
                raise FactsFileError(f"{cat}: needs low or high")
            if low is not None and high is not None and low > high:
                raise FactsFileError(f"{cat}: low {low} is above high {high}")
            target = _bound(c, "target", cat)
            scale = _bound(c, "scale", cat)
            if target is None:
                if low is None or high is None:
                    raise FactsFileError(f"{cat}.target: required when a bound is null")
                target = (low + high) / 2
            if scale is None:
                if low is None or high is None or high == low:
                    raise FactsFileError(f"{cat}.scale: required when a bound is null or the "
                                         "range is one value")
                scale = (high - low) / 2
            if scale <= 0:
                raise FactsFileError(f"{cat}.scale: must be > 0, got {scale}")
            quality = _need(c, "quality", cat, str)
            if quality not in QUALITIES:
                raise FactsFileError(f"{cat}.quality: {quality!r} is not one of {QUALITIES}")
            checks.append(FactCheck(metric, low, high, target, scale, quality,
                                    " ".join(_need(c, "definition", cat, str).split())))
        facts.append(Fact(
            id=fid, title=_need(f, "title", at, str),
            claim=" ".join(_need(f, "claim", at, str).split()),
            source=" ".join(_need(f, "source", at, str).split()), modelled=modelled,
            not_modelled_reason=" ".join(str(reason).split()),
            limitation=" ".join(str(f.get("limitation") or "").split()), checks=tuple(checks)))
    return tuple(facts)


def checks_by_metric(facts: Sequence[Fact] | None = None) -> dict[str, tuple[Fact, FactCheck]]:
    """metric name -> (fact, check)."""
    facts = load_facts() if facts is None else facts
    return {c.metric: (f, c) for f in facts for c in f.checks}


# ----------------------------------------------------------------------------- per-run statistics


def fact_metrics(final: pd.DataFrame, active: pd.DataFrame, scored: pd.DataFrame,
                 contracts: pd.DataFrame | None, clients: pd.DataFrame | None, start: float,
                 params: Any, notes: Any) -> dict[str, float]:
    """The statistics of FACT_METRIC_NAMES for one run (definitions in facts.yaml).

    `final` is the final snapshot (every freelancer), `active`/`scored` its active rows / those
    with a JSS, `start` the first analysed week; `notes.add(metric, reason)` records a NaN.
    Each statistic is guarded on its own: one failing leaves the others.
    """
    from marketplace.analysis import metrics as M

    out: dict[str, float] = {}
    parts = (
        (("share_top_rated_plus",), lambda: _top_rated_plus(active)),
        (("hires_per_proposal_excl_rehires",), lambda: _hires_per_proposal(clients, notes)),
        (("hire_rate_ratio_reviewed_vs_none",),
         lambda: _first_hire_hurdle(final, contracts, start, notes)),
        (("top20_earnings_share_earners",), lambda: _earners_top20(active, notes)),
        (("inflation_share_of_rating_rise",),
         lambda: _inflation_share(contracts, start, notes)),
        (("silence_lift_gradient",),
         lambda: _silence_lift(contracts, scored, params, notes)),
        (("gaming_limit_violations",), lambda: _gaming_violations(contracts, params, notes)),
    )
    for names, compute in parts:
        out.update(M._guarded(names, notes, compute, {}))
    return out


def _top_rated_plus(active: pd.DataFrame) -> dict[str, float]:
    from marketplace.analysis.metrics import _bool

    if not len(active) or "top_rated_plus" not in active.columns:
        return {}
    return {"share_top_rated_plus": float(_bool(active, "top_rated_plus").mean())}


def _hires_per_proposal(clients: pd.DataFrame | None, notes: Any) -> dict[str, float]:
    from marketplace.analysis.metrics import _num

    name = "hires_per_proposal_excl_rehires"
    if clients is None or not {"hires", "rehires", "proposals_received"} <= set(clients.columns):
        notes.add(name, "no client table with hires, rehires and proposals_received")
        return {}
    received = np.nansum(_num(clients, "proposals_received"))
    through = np.nansum(_num(clients, "hires")) - np.nansum(_num(clients, "rehires"))
    if received <= 0:
        notes.add(name, "no proposal was sent")
        return {}
    return {name: float(through / received)}


def _first_hire_hurdle(final: pd.DataFrame, contracts: pd.DataFrame | None, start: float,
                       notes: Any) -> dict[str, float]:
    """Hires per freelancer-week with >= 1 public review over those with none (analysed period)."""
    from marketplace.analysis.metrics import _num

    name = "hire_rate_ratio_reviewed_vs_none"
    if contracts is None:
        notes.add(name, "no contract table")
        return {}
    final_week = float(final["week"].max())
    ids = final["freelancer_id"].to_numpy()
    reviewed = contracts.loc[np.isfinite(_num(contracts, "public_stars"))
                             & np.isfinite(_num(contracts, "end_week"))]
    first_review = (pd.Series(_num(reviewed, "end_week"), index=reviewed["freelancer_id"].values)
                    .groupby(level=0).min())
    # a review is visible from the week after the contract ended
    visible = first_review.reindex(ids).to_numpy(dtype=float) + 1.0
    visible = np.where(np.isnan(visible), np.inf, visible)
    entry = np.maximum(_num(final, "entry_week"), start)
    stop = (_num(final, "exit_week") if "exit_week" in final.columns
            else np.full(len(final), np.nan))
    stop = np.where(np.isnan(stop), final_week + 1.0, stop)  # weeks [entry, stop)
    weeks_none = np.clip(np.minimum(stop, visible) - entry, 0, None).sum()
    weeks_reviewed = np.clip(stop - np.maximum(entry, visible), 0, None).sum()
    started = contracts.loc[_num(contracts, "start_week") >= start]
    when = _num(started, "start_week")
    vis = pd.Series(visible, index=ids).reindex(started["freelancer_id"].values).to_numpy(float)
    with_review = when >= vis
    hires_reviewed, hires_none = float(with_review.sum()), float((~with_review).sum())
    if weeks_none <= 0 or weeks_reviewed <= 0 or hires_none <= 0:
        notes.add(name, f"no exposure or no hire without a review (weeks without {weeks_none:g}, "
                        f"with {weeks_reviewed:g}; hires without {hires_none:g})")
        return {}
    return {name: float((hires_reviewed / weeks_reviewed) / (hires_none / weeks_none))}


def _earners_top20(active: pd.DataFrame, notes: Any) -> dict[str, float]:
    """Top-20% share of the last 52 weeks' earnings among active freelancers who earned.

    Active only: a freelancer who left keeps the 52-week total of the week they left.
    """
    from marketplace.analysis.metrics import _num, top_share

    name = "top20_earnings_share_earners"
    if "earnings_usd_52w" not in active.columns:
        notes.add(name, "no earnings_usd_52w in the snapshot")
        return {}
    earned = _num(active, "earnings_usd_52w")
    earned = earned[earned > 0]
    if earned.size < 5:
        notes.add(name, f"only {earned.size} freelancers earned in the last 52 weeks")
        return {}
    return {name: top_share(earned, 0.20)}


def _inflation_share(contracts: pd.DataFrame | None, start: float, notes: Any
                     ) -> dict[str, float]:
    """Share of the first-to-last-year rise in mean stars not explained by true satisfaction."""
    from marketplace.analysis.metrics import _num

    name = "inflation_share_of_rating_rise"
    if contracts is None or "satisfaction" not in contracts.columns:
        notes.add(name, "no contract table with satisfaction")
        return {}
    end = _num(contracts, "end_week")
    stars = _num(contracts, "public_stars")
    sat = _num(contracts, "satisfaction")
    ok = np.isfinite(end) & np.isfinite(stars) & np.isfinite(sat) & (end >= start)
    if not ok.any():
        notes.add(name, "no rated contract in the analysed period")
        return {}
    last_week = float(np.nanmax(end[ok]))
    if last_week - start + 1 < 2 * INFLATION_YEAR_WEEKS:
        notes.add(name, f"analysed period shorter than {2 * INFLATION_YEAR_WEEKS} weeks")
        return {}
    first = ok & (end < start + INFLATION_YEAR_WEEKS)
    last = ok & (end > last_week - INFLATION_YEAR_WEEKS)
    if first.sum() < 5 * SATISFACTION_BINS or last.sum() < 5 * SATISFACTION_BINS:
        notes.add(name, "too few rated contracts in the first or last year")
        return {}
    rise = float(stars[last].mean() - stars[first].mean())
    if abs(rise) < INFLATION_MIN_RISE:
        notes.add(name, f"mean public stars rose {rise:+.3f} (< {INFLATION_MIN_RISE}): nothing "
                        "to decompose")
        return {}
    edges = np.unique(np.quantile(sat[first], np.linspace(0, 1, SATISFACTION_BINS + 1)))
    bin_first = np.clip(np.searchsorted(edges, sat[first], side="right") - 1, 0, edges.size - 2)
    bin_last = np.clip(np.searchsorted(edges, sat[last], side="right") - 1, 0, edges.size - 2)
    mapping = pd.Series(stars[first]).groupby(bin_first).mean()
    predicted_last = mapping.reindex(bin_last).to_numpy(dtype=float)
    predicted_rise = float(np.nanmean(predicted_last) - stars[first].mean())
    return {name: (rise - predicted_rise) / rise}


def _silence_lift(contracts: pd.DataFrame | None, scored: pd.DataFrame, params: Any,
                  notes: Any) -> dict[str, float]:
    """Bottom minus top quality quartile of the JSS gained by excluding no-feedback contracts."""
    from marketplace.analysis import metrics as M
    from marketplace.scoring import Outcome, job_success_scores
    from marketplace.scoring.outcomes import OUTCOME_NAMES, REASONS

    name = "silence_lift_gradient"
    if contracts is None or "exclusion_reason" not in contracts.columns or len(scored) < 8:
        notes.add(name, "no contract table with exclusion reasons, or fewer than 8 scored "
                        "freelancers")
        return {}
    rules = M._rules_for(params)
    ids = scored["freelancer_id"].to_numpy()
    hist = contracts.loc[contracts["freelancer_id"].isin(ids)]
    end = M._num(hist, "end_week")
    outcome = M._codes(hist["outcome"], OUTCOME_NAMES)
    running = np.isnan(end) & np.isnan(outcome)
    if running.any():
        outcome[running] = M._running_outcomes(hist.loc[running], rules)
    weight = M._num(hist, "weight")
    reason = M._codes(hist["exclusion_reason"], REASONS)
    keep = ~(np.isnan(outcome) | np.isnan(weight))
    hist, end, outcome, weight, reason = (hist.loc[keep], end[keep], outcome[keep], weight[keep],
                                          reason[keep])
    silent = reason == REASONS.index("no_feedback")
    f_idx = pd.Index(ids).get_indexer(hist["freelancer_id"]).astype(np.int64)
    c_idx = pd.factorize(hist["client_id"])[0].astype(np.int64)
    week = float(np.nanmax(M._num(scored, "week"))) if "week" in scored.columns else float(
        np.nanmax(end))

    def score(out_codes: np.ndarray) -> np.ndarray:
        res = job_success_scores(f_idx, c_idx, end, out_codes.astype(np.int8), weight,
                                 week=week, n_freelancers=ids.size, rules=rules,
                                 reason=np.nan_to_num(reason, nan=-1).astype(np.int8))
        return np.asarray(res.jss, dtype=float)

    shown = score(outcome)
    counted = outcome.copy()
    counted[silent] = float(Outcome.NEGATIVE)
    penalised = score(counted)
    lift = shown - penalised
    quality = M._num(scored, "true_quality")
    # only freelancers with a JSS both ways: one that loses its JSS when silence is penalised
    # would otherwise count its whole JSS as lift (short, high histories: a spurious gradient)
    ok = np.isfinite(shown) & np.isfinite(penalised) & np.isfinite(quality)
    if ok.sum() < 8:
        notes.add(name, "fewer than 8 freelancers keep a JSS in the recomputation")
        return {}
    q = quality[ok]
    low, high = np.quantile(q, [0.25, 0.75])
    bottom, top = lift[ok][q <= low], lift[ok][q >= high]
    return {name: float(bottom.mean() - top.mean())}


def _gaming_violations(contracts: pd.DataFrame | None, params: Any, notes: Any
                       ) -> dict[str, float]:
    """Ended contracts breaking a documented limit (see facts.yaml gaming_limits)."""
    from marketplace.analysis import metrics as M
    from marketplace.scoring.outcomes import OUTCOME_NAMES

    name = "gaming_limit_violations"
    cols = {"end_week", "earnings_usd", "refunded_usd", "public_stars", "private_score",
            "outcome", "weight", "client_flagged"}
    if contracts is None or not cols <= set(contracts.columns):
        notes.add(name, "no contract table with the columns " + ", ".join(sorted(cols)))
        return {}
    rules = M._rules_for(params)
    ended = contracts.loc[np.isfinite(M._num(contracts, "end_week"))]
    earn = np.nan_to_num(M._num(ended, "earnings_usd"))
    refunded = np.nan_to_num(M._num(ended, "refunded_usd"))
    stars = M._num(ended, "public_stars")
    private = M._num(ended, "private_score")
    outcome = M._codes(ended["outcome"], OUTCOME_NAMES)
    negative, excluded = OUTCOME_NAMES.index("negative"), OUTCOME_NAMES.index("excluded")
    flagged = M._bool(ended, "client_flagged") & rules.client_flagging
    removed = M._bool(ended, "removed") if "removed" in ended.columns else np.zeros(len(ended),
                                                                                    bool)
    full_refund = (earn <= 0) & (refunded > 0)
    bad = full_refund & np.isfinite(stars)
    if rules.exclude_zero_earnings_non_negative:
        bad |= (earn <= 0) & (outcome < negative)
    if rules.private_neutral_min is not None:
        bad |= (full_refund & (private < rules.private_neutral_min) & ~flagged & ~removed
                & (outcome != negative))
    bad |= M._num(ended, "weight") > rules.weight_cap + 1e-9
    bad |= flagged & (outcome != excluded)
    return {name: float(bad.sum())}


# ----------------------------------------------------------------------------- the facts table


TABLE_COLUMNS = ("combination", "fact", "title", "metric", "target_range", "quality", "mean",
                 "ci_low", "ci_high", "n", "check_verdict", "verdict", "source")


def facts_table(summary: pd.DataFrame, facts: Sequence[Fact] | None = None,
                by: Sequence[str] = (), seed: int = 0) -> pd.DataFrame:
    """One row per (combination, fact check): mean and 95% bootstrap CI over the runs, verdicts.

    `by`: summary columns that define a combination (the swept parameters); empty = all runs are
    replications of one market. A check's verdict is "not measured" when the summary has no such
    column (or only NaN), "not modelled" when its fact is marked so, else "inside" / "outside"
    (the mean against the inclusive range). The fact's verdict: not modelled, else not measured
    if a check is, else inside only when every check is.
    """
    from marketplace.analysis.aggregate import bootstrap_mean_ci

    facts = load_facts() if facts is None else facts
    by = [b for b in by if b in summary.columns]
    groups = [("all runs", summary)] if not by else [
        (", ".join(f"{b}={v}" for b, v in zip(by, key if isinstance(key, tuple) else (key,),
                                              strict=True)), g)
        for key, g in summary.groupby(by, sort=True, dropna=False)]
    rows = []
    for label, runs in groups:
        for fact in facts:
            check_rows = []
            for check in fact.checks:
                if check.metric in runs.columns:
                    mean, low, high, n = bootstrap_mean_ci(
                        pd.to_numeric(runs[check.metric], errors="coerce"), seed)
                else:
                    mean, low, high, n = math.nan, math.nan, math.nan, 0
                if n == 0:
                    verdict = "not measured"
                elif not fact.modelled:
                    verdict = "not modelled"
                else:
                    verdict = "inside" if check.contains(mean) else "outside"
                check_rows.append({
                    "combination": label, "fact": fact.id, "title": fact.title,
                    "metric": check.metric, "target_range": check.range_text,
                    "quality": check.quality, "mean": mean, "ci_low": low, "ci_high": high,
                    "n": n, "check_verdict": verdict, "source": fact.source})
            verdicts = {r["check_verdict"] for r in check_rows}
            if not fact.modelled:
                fact_verdict = "not modelled"
            elif "not measured" in verdicts:
                fact_verdict = "not measured"
            else:
                fact_verdict = "inside" if verdicts == {"inside"} else "outside"
            for r in check_rows:
                r["verdict"] = fact_verdict
            rows += check_rows
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def fact_verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (combination, fact) with its verdict."""
    return table.drop_duplicates(["combination", "fact"])[["combination", "fact", "title",
                                                           "verdict"]].reset_index(drop=True)


def count_inside(table: pd.DataFrame) -> pd.Series:
    """Facts inside their ranges per combination (not modelled / not measured count as outside)."""
    v = fact_verdicts(table)
    return v.assign(inside=v["verdict"].eq("inside")).groupby("combination")["inside"].sum()


def _fmt(metric: str, value: float) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    from marketplace.analysis.metrics import METRIC_INFO

    fmt = METRIC_INFO.get(metric, ("", "", ".3g"))[2]
    return format(value, fmt)


def _value_text(row: Mapping[str, Any]) -> str:
    if row["n"] == 0:
        return "not measured"
    text = _fmt(row["metric"], row["mean"])
    if math.isfinite(row["ci_low"]):
        text += f" [{_fmt(row['metric'], row['ci_low'])}, {_fmt(row['metric'], row['ci_high'])}]"
    return text


def facts_markdown(table: pd.DataFrame, heading: str = "##", n_runs: int | None = None) -> str:
    """The facts table(s) as markdown: one table per combination, then the verdict count."""
    lines: list[str] = []
    for label, t in table.groupby("combination", sort=False):
        if table["combination"].nunique() > 1:
            lines += [f"{heading}# {label}", ""]
        lines += ["| # | fact | statistic | target | source | value: mean [95% CI] | verdict |",
                  "|---|---|---|---|---|---|---|"]
        numbers = {f: i + 1 for i, f in enumerate(dict.fromkeys(t["fact"]))}
        for _, r in t.iterrows():
            verdict = r["check_verdict"]
            if verdict != r["verdict"] and r["verdict"] in ("inside", "outside"):
                verdict = f"{verdict} (fact: {r['verdict']})"
            lines.append(f"| {numbers[r['fact']]} | {r['title']} | `{r['metric']}` | "
                         f"{r['target_range']} | {r['quality']} | {_value_text(r)} | "
                         f"**{verdict}** |")
        inside = count_inside(t).iloc[0]
        n_facts = len(numbers)
        runs = f" over {n_runs} runs" if n_runs else ""
        lines += ["", f"{inside} of {n_facts} facts inside their target ranges{runs} (a fact "
                      "is inside when every statistic of it is; \"not modelled\" and \"not "
                      "measured\" count as outside).", ""]
    return "\n".join(lines)


def print_facts(table: pd.DataFrame, title: str = "Stylized facts") -> None:
    """The facts table on the terminal (rich)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    colours = {"inside": "green", "outside": "red", "not modelled": "yellow",
               "not measured": "yellow"}
    for label, t in table.groupby("combination", sort=False):
        rt = Table(title=f"{title}: {label}", title_justify="left")
        for col in ("#", "fact", "statistic", "target", "src", "mean [95% CI]", "verdict"):
            rt.add_column(col, justify="right" if col == "#" else "left")
        numbers = {f: i + 1 for i, f in enumerate(dict.fromkeys(t["fact"]))}
        for _, r in t.iterrows():
            c = colours[r["check_verdict"]]
            rt.add_row(str(numbers[r["fact"]]), r["title"], r["metric"], r["target_range"],
                       r["quality"], _value_text(r), f"[{c}]{r['check_verdict']}[/]")
        console.print(rt)
        console.print(f"{count_inside(t).iloc[0]} of {len(numbers)} facts inside their ranges "
                      "(not modelled / not measured count as outside).")


# ----------------------------------------------------------------------------- calibration


OBJECTIVES = ("target", "range")
RANGE_TARGET_PULL = 0.05
"""Under the "range" objective, the share of the target term kept inside the range: it breaks
ties between points that are all inside (prefer the one nearer the target, away from the edges)."""


def objective(means: Mapping[str, float], weights: Mapping[str, float],
              facts: Sequence[Fact] | None = None, *, kind: str = "target") -> float:
    """Method-of-simulated-moments distance over the weighted metrics.

    ``kind="target"``: sum of weight x ((mean - target) / scale)^2, the classic distance to each
    calibration target. ``kind="range"``: sum of weight x ((distance outside [low, high]) /
    scale)^2 + RANGE_TARGET_PULL x the target term: what the validation verdict asks (inside the
    range), so two targets that pull against each other (30 proposals per post and 2% hires per
    proposal) do not drag the fit outside both ranges. A NaN moment costs a large penalty
    (1e6 x weight) so the search moves away from it.
    """
    if kind not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {kind!r}")
    index = checks_by_metric(facts)
    total = 0.0
    for metric, w in weights.items():
        _, check = index[metric]
        value = means.get(metric, math.nan)
        if value is None or not math.isfinite(value):
            total += 1e6 * w
            continue
        to_target = ((value - check.target) / check.scale) ** 2
        if kind == "target":
            total += w * to_target
            continue
        low = -math.inf if check.low is None else check.low
        high = math.inf if check.high is None else check.high
        outside = max(low - value, 0.0, value - high)
        total += w * ((outside / check.scale) ** 2 + RANGE_TARGET_PULL * to_target)
    return float(total)


# ----------------------------------------------------------------------------- VALIDATION.md


def validation_markdown(table: pd.DataFrame, facts: Sequence[Fact] | None = None, *,
                        results_name: str = "", run_info: str = "",
                        command: str = "") -> str:
    """docs/VALIDATION.md: the facts table, each fact's definitions, and what the model cannot
    reproduce and why. `table` comes from `facts_table` for one combination."""
    facts = load_facts() if facts is None else facts
    verdict = dict(zip(table["fact"], table["verdict"], strict=False))
    lines = ["# Validation: stylized facts", "",
             f"<!-- generated by {command or 'scripts/make_validation.py'}; do not edit by hand: "
             "edit marketplace/analysis/facts.yaml or re-run the experiment, then regenerate -->",
             "",
             "Each stylized fact from the project's sources, its target range, the source and its "
             "quality (**V** verified on Upwork or in the paper itself, **S** secondary, **A** "
             "assumed), and what the model gives: the mean over replications of a per-run "
             "statistic with its 95% bootstrap confidence interval. Facts, targets, sources and "
             "definitions live in one data file, `marketplace/analysis/facts.yaml`; the "
             "statistics are computed per run by `marketplace.analysis.facts` inside "
             "`run_metrics`. `marketplace facts RESULTS_DIR` prints the same table for any "
             "results folder, and every report has it.", ""]
    if results_name:
        lines += [f"Measured in `{results_name}`{': ' + run_info if run_info else ''}.", ""]
    lines += ["## The table", "", facts_markdown(table, heading="###"),
              "A statistic marked *not measured* needs a column these results do not have "
              "(they were produced before the statistic existed); re-running the experiment "
              "fills it in.", ""]
    lines += ["## Definitions", ""]
    for i, fact in enumerate(facts, 1):
        lines += [f"### {i}. {fact.title}", "", f"*{fact.claim}*", "",
                  f"Source: {fact.source}.", ""]
        for c in fact.checks:
            lines.append(f"- `{c.metric}` (target {c.range_text}, calibration target "
                         f"{_num(c.target)} with scale {_num(c.scale)}; {c.quality}): "
                         f"{c.definition}")
        lines.append("")
    lines += ["## What the model cannot reproduce, and why", ""]
    cannot = []
    for i, fact in enumerate(facts, 1):
        v = verdict.get(fact.id, "not measured")
        reasons = []
        if not fact.modelled:
            reasons.append(f"not modelled: {fact.not_modelled_reason}")
        elif v == "not measured":
            reasons.append("not measured in these results (re-run the experiment).")
        elif v == "outside":
            rows = table.loc[(table["fact"] == fact.id) & (table["check_verdict"] == "outside")]
            reasons.append("outside its range: " + "; ".join(
                f"`{r['metric']}` = {_value_text(r)} against {r['target_range']}"
                for _, r in rows.iterrows()) + ".")
        if fact.limitation:
            reasons.append(fact.limitation)
        if reasons:
            cannot.append(f"- **{i}. {fact.title}** ({v}). " + " ".join(reasons))
    lines += cannot or ["Nothing: every fact is inside its range."]
    lines.append("")
    return "\n".join(lines)
