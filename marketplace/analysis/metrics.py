"""Per-run metrics: does a JSS of 90 or more pick out better freelancers, and at what cost?

`run_metrics(outputs, params)` reads the output tables of one run (docs/architecture.md section 2)
and returns scalar metrics (one summary row) and a few small tables. It runs in the worker, next to
the simulation, so only these small results travel.

Populations (all taken from the final freelancer snapshot):

* **scored**: active freelancers with a JSS at the end of the run (issue 5: "over active freelancers
  that have a JSS"). All score-validity metrics use this population.
* **active**: every active freelancer, with or without a JSS.
* **incumbents**: freelancers present the whole analysed period (entered by the end of the
  burn-in, `params.burn_in_weeks`, and still active at the end). Concentration metrics (Ginis, top
  shares, never hired) use this cohort so that all had the same time to win work and every Gini
  can be read against its random floor.
* **newcomers**: freelancers who entered after the burn-in (active or not: leaving because no one
  hires you is part of the story).

A metric that cannot be computed (too few observations, a table switched off, a library refusing the
data) is `NaN`; the reason is logged and listed in the `metric_notes` table. A run never fails
because of its metrics.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from marketplace.analysis.columns import numeric as _num
from marketplace.analysis.columns import param as _param
from marketplace.analysis.facts import FACT_METRIC_INFO, FACT_METRIC_NAMES, fact_metrics
from marketplace.analysis.policy import POLICY_METRIC_INFO, POLICY_METRIC_NAMES
from marketplace.analysis.sections import HISTORY_BAND_COLUMNS

log = logging.getLogger(__name__)

CUTOFF = 90.0
"""The JSS line under test (percent points)."""
START_WEEK = 0
"""Start of the analysed period when `params` gives no `burn_in_weeks`. The analysed period is
[burn_in_weeks, final week]: the burn-in fills the 24-month JSS window and is discarded."""
PR_CUTOFFS = tuple(range(70, 101))
"""JSS cut-offs of the precision/recall curve."""
TOP_QUANTILE = 0.75
"""'Good' for precision/recall/AUC = true quality in the top quartile of the scored population."""
HISTORY_BANDS: tuple[tuple[int, float, str], ...] = (
    (2, 4, "2-4"),
    (5, 9, "5-9"),
    (10, 19, "10-19"),
    (20, math.inf, "20+"),
)
"""Bands of counted outcomes (24-month window) for the one-negative counterfactual."""
JSS_BAND_EDGES = (-math.inf, 70.0, 80.0, 85.0, 90.0, 95.0, 100.0, math.inf)
JSS_BAND_LABELS = ("<70", "70-79", "80-84", "85-89", "90-94", "95-99", "100")
NEWCOMER_MIN_WEEKS = 26
"""A newcomer counts for `newcomer_never_hired_share` only after this many weeks on the market."""
PRIVATE_DISSATISFIED_MAX = 6.0
"""Private 0-10 score at or below which a client is dissatisfied (NPS detractor, 0-6)."""
PUBLIC_POSITIVE_MIN = 4.0
"""Public stars at or above which a review is positive (Filippas et al.: >= 4 stars)."""
SAMPLE_ROWS = 500
"""Cap on rows of the per-run freelancer sample kept for figures (committed results stay small)."""
RANDOM_ALLOCATION_DRAWS = 50
"""Random allocations averaged for `random_allocation_gini_jobs` (seeded; near its expectation)."""
MIN_GROUP = 2
"""Fewest freelancers in a group for a mean / Cohen's d / AUC."""
MIN_RD_SIDE = 20
"""Fewest scored freelancers within 20 points on each side of 90 before rdrobust/rddensity run."""

FORCE_METRICS: tuple[str, ...] = (
    "chaser_jss_premium",
    "chaser_jss_premium_se",
    "chaser_share100_premium",
    "chaser_share100_premium_se",
    "chase_offers_per_contract",
    "chase_offer_share_to_honest",
    "negatives_avoided_per_chaser",
    "refund_usd_per_point_gained",
    "lying_client_events",
    "lying_client_drop_median",
    "lying_client_below_90_share",
    "lying_client_recovery_weeks_median",
    "flag_precision",
    "flag_recall",
    "flag_delay_weeks_median",
    "budget_end_share",
    "budget_end_negative_share",
    "budget_end_jss_effect",
    "drift_share_jss_ge_90_per_year",
    "drift_share_jss_ge_90_per_year_se",
    "drift_spearman_per_year",
    "drift_spearman_per_year_se",
)
"""The forum thread's forces (issue 11), measured from the tables (see the forum-forces section)."""

METRIC_NAMES: tuple[str, ...] = (
    # how well the score tracks true quality (scored population)
    "n_active",
    "n_scored",
    "share_with_jss",
    "spearman_jss_quality",
    "quality_gap_90",
    "quality_gap_90_d",
    "p_above_beats_below_90",
    "quality_gap_90_se",
    "p_above_beats_below_90_se",
    "auc_top_quartile",
    "precision_90",
    "recall_90",
    "excluded_good_share_90",
    "excluded_good_share_90_incl_no_jss",
    "mean_quality_jss_ge_90",
    "mean_quality_jss_lt_90",
    "rd_jump_90",
    "rd_ci_low_90",
    "rd_ci_high_90",
    "rd_pvalue_90",
    "rd_bandwidth_90",
    "density_test_p_90",
    # what the scores look like
    "share_jss_ge_90",
    "share_jss_100",
    "share_top_rated",
    "mean_public_stars",
    "share_five_star",
    "share_pos_public_given_private_dissatisfied",
    # market
    "proposals_per_job",
    "hire_rate",
    "hires_per_proposal",
    "proposals_read_per_hire",
    "mean_quality_hired",
    "mean_delivered_quality",
    "refunds_usd",
    "fees_lost_to_refunds_usd",
    # concentration (incumbents)
    "top20_earnings_share",
    "top10_earnings_share",
    "gini_jobs",
    "gini_earnings",
    "random_allocation_gini_jobs",
    "never_hired_share",
    "spearman_quality_jobs",
    # newcomers
    "first_hire_weeks_median",
    "first_hire_weeks_median_hired",
    "newcomer_never_hired_share",
    # volatility: one negative outcome
    "jss_drop_after_one_negative",
    *HISTORY_BAND_COLUMNS.values(),
    # counterfactual scoring with every alternative score (analysis/policy.py, issue 14)
    *POLICY_METRIC_NAMES,
    # stylized facts (marketplace/analysis/facts.py, facts.yaml)
    *FACT_METRIC_NAMES,
    # the forum thread's forces (issue 11): chasing, lying clients, flags, budget ends, drift
    *FORCE_METRICS,
)
"""Every scalar metric, in summary-column order. Each run returns all of them (NaN if unknown)."""

METRIC_INFO: dict[str, tuple[str, str, str]] = {
    # name: (short label, what it measures (one line), number format)
    "n_active": ("active freelancers", "Active freelancers at the end of the run.", ",.0f"),
    "n_scored": ("freelancers with a JSS", "Active freelancers with a JSS at the end.", ",.0f"),
    "share_with_jss": ("share with a JSS", "Share of active freelancers who have a JSS.", ".3f"),
    "spearman_jss_quality": ("Spearman(JSS, quality)",
                             "Spearman rank correlation of JSS with true quality.", ".3f"),
    "quality_gap_90": ("quality gap at 90", "Mean true quality at JSS [90, 95) minus at "
                       "[85, 90) (quality points, 0-1 scale).", ".3f"),
    "quality_gap_90_d": ("quality gap at 90 (Cohen's d)", "The same gap in pooled standard "
                         "deviations.", ".2f"),
    "p_above_beats_below_90": ("P(just above beats just below)", "Probability that a freelancer "
                               "at JSS [90, 92) has higher true quality than one at [88, 90).",
                               ".3f"),
    "quality_gap_90_se": ("SE of the quality gap at 90", "Within-run standard error of "
                          "quality_gap_90 (Welch: sqrt(var_above/n_above + var_below/n_below)).",
                          ".4f"),
    "p_above_beats_below_90_se": ("SE of P(just above beats just below)", "Within-run standard "
                                  "error of p_above_beats_below_90 (Hanley & McNeil 1982).",
                                  ".4f"),
    "auc_top_quartile": ("AUC for top quartile", "AUC of JSS for telling top-quartile true "
                         "quality from the rest (0.5 = no information).", ".3f"),
    "precision_90": ("precision of JSS >= 90", "Share of freelancers passing a 90 filter who are "
                     "in the top quality quartile.", ".3f"),
    "recall_90": ("recall of JSS >= 90", "Share of top-quartile freelancers who pass a 90 "
                  "filter.", ".3f"),
    "excluded_good_share_90": ("good freelancers hidden by 90", "Share of above-median-quality "
                               "freelancers (with a JSS) whose JSS is below 90.", ".3f"),
    "excluded_good_share_90_incl_no_jss": ("good freelancers hidden by 90, incl. no JSS",
                                           "The same among all active freelancers; no JSS "
                                           "counts as hidden.", ".3f"),
    "mean_quality_jss_ge_90": ("mean quality, JSS >= 90", "Mean true quality with JSS >= 90.",
                               ".3f"),
    "mean_quality_jss_lt_90": ("mean quality, JSS < 90", "Mean true quality with JSS < 90.",
                               ".3f"),
    "rd_jump_90": ("RD jump at 90", "Regression-discontinuity jump in true quality at JSS 90 "
                   "(rdrobust, conventional local-linear estimate).", ".3f"),
    "rd_ci_low_90": ("RD robust CI low", "Lower end of the run's robust 95% CI (rdrobust).",
                     ".3f"),
    "rd_ci_high_90": ("RD robust CI high", "Upper end of the run's robust 95% CI (rdrobust).",
                      ".3f"),
    "rd_pvalue_90": ("RD robust p-value", "Robust p-value of the RD jump (rdrobust).", ".3f"),
    "rd_bandwidth_90": ("RD bandwidth", "MSE-optimal bandwidth of the RD fit (JSS points).",
                        ".1f"),
    "density_test_p_90": ("bunching test p", "p-value of the density (manipulation) test at 90 "
                          "(rddensity); small = bunching.", ".3f"),
    "share_jss_ge_90": ("share JSS >= 90", "Share of freelancers with a JSS whose JSS >= 90.",
                        ".3f"),
    "share_jss_100": ("share JSS = 100", "Share of freelancers with a JSS whose JSS is 100.",
                      ".3f"),
    "share_top_rated": ("share Top Rated", "Share of active freelancers with Top Rated (or "
                        "Plus).", ".3f"),
    "mean_public_stars": ("mean public stars", "Mean public rating of the period's reviews "
                          "(1-5 stars).", ".2f"),
    "share_five_star": ("share 5-star", "Share of the period's public ratings that are 5 stars.",
                        ".3f"),
    "share_pos_public_given_private_dissatisfied": (
        "P(public >= 4 | private unhappy)", "Share of privately dissatisfied clients (private "
        "score <= 6) who still gave >= 4 public stars.", ".3f"),
    "proposals_per_job": ("proposals per job", "Proposals per job post.", ".1f"),
    "hire_rate": ("hire rate", "Share of job posts that ended in a hire.", ".3f"),
    "hires_per_proposal": ("hires per proposal", "Hires per proposal received.", ".4f"),
    "proposals_read_per_hire": ("proposals read per hire", "Proposals clients read per hire "
                                "(client workload).", ".1f"),
    "mean_quality_hired": ("true quality hired", "Mean true quality of the freelancer hired, over "
                           "the period's contracts (what clients actually get).", ".3f"),
    "mean_delivered_quality": ("delivered quality", "Mean quality of the work delivered on the "
                               "period's ended contracts (0-1).", ".3f"),
    "refunds_usd": ("refunds (USD)", "Money refunded to clients in the period (USD).", ",.0f"),
    "fees_lost_to_refunds_usd": ("fees lost to refunds (USD)", "Platform fees the refunded "
                                 "money would have carried (USD).", ",.0f"),
    "top20_earnings_share": ("top-20% earnings share", "Share of earnings going to the top 20% "
                             "of freelancers present all period.", ".3f"),
    "top10_earnings_share": ("top-10% earnings share", "Share of earnings going to the top 10%.",
                             ".3f"),
    "gini_jobs": ("Gini of jobs", "Gini of jobs won per freelancer present all period.", ".3f"),
    "gini_earnings": ("Gini of earnings", "Gini of earnings per freelancer present all period.",
                      ".3f"),
    "random_allocation_gini_jobs": ("Gini of jobs, random hiring", "The jobs Gini if the same "
                                    "jobs went to the same freelancers at random (the floor).",
                                    ".3f"),
    "never_hired_share": ("never hired", "Share of freelancers present all period who got no "
                          "job in it.", ".3f"),
    "spearman_quality_jobs": ("Spearman(quality, jobs)", "Spearman correlation of true quality "
                              "with jobs won.", ".3f"),
    "first_hire_weeks_median": ("weeks to first hire (KM median)", "Median weeks from entry to "
                                "first hire for newcomers (Kaplan-Meier, censored).", ".1f"),
    "first_hire_weeks_median_hired": ("weeks to first hire (hired only)", "Median weeks to "
                                      "first hire among newcomers who were hired.", ".1f"),
    "newcomer_never_hired_share": ("newcomers never hired", f"Share of newcomers on the market "
                                   f">= {NEWCOMER_MIN_WEEKS} weeks who were never hired.",
                                   ".3f"),
    "jss_drop_after_one_negative": ("JSS drop after one negative", "Mean JSS drop (points) "
                                    "caused by one extra negative outcome of weight 1.", ".1f"),
    **{col: (f"JSS drop after one negative, {band} outcomes",
             f"The same for freelancers with {band} counted outcomes.", ".1f")
       for band, col in HISTORY_BAND_COLUMNS.items()},
    **POLICY_METRIC_INFO,
    **FACT_METRIC_INFO,
    "chaser_jss_premium": ("chaser JSS premium", "JSS of chasers minus honest freelancers of "
                           "equal true quality (OLS with quality-decile dummies, scored "
                           "freelancers at the end).", "+.2f"),
    "chaser_jss_premium_se": ("chaser JSS premium SE", "Its HC1 standard error.", ".2f"),
    "chaser_share100_premium": ("chaser share-100 premium", "The same for the share at JSS 100.",
                                "+.3f"),
    "chaser_share100_premium_se": ("chaser share-100 premium SE", "Its HC1 standard error.",
                                   ".3f"),
    "chase_offers_per_contract": ("chase offers per contract", "Offers per chaser contract ended "
                                  "in the period.", ".3f"),
    "chase_offer_share_to_honest": ("offers to honest clients", "Share of the period's offers "
                                    "made to honest-rater clients.", ".3f"),
    "negatives_avoided_per_chaser": ("negatives avoided per chaser", "Period contracts whose "
                                     "feedback would have been negative without the offer and "
                                     "is not, per chaser with an ended contract.", ".2f"),
    "refund_usd_per_point_gained": ("refund USD per JSS point", "Period refunds per scored "
                                    "chaser divided by the chaser JSS premium (NaN if <= 0).",
                                    ",.0f"),
    "lying_client_events": ("lying-client events", "Period negatives (private band or dispute) "
                            "from dishonest clients not yet flagged, on freelancers with a "
                            "JSS.", ",.0f"),
    "lying_client_drop_median": ("lying-client JSS drop", "Median JSS at the end minus JSS at "
                                 "the next update, over those events.", ".1f"),
    "lying_client_below_90_share": ("lying client: 90+ falls below 90", "Share of events on a "
                                    "JSS >= 90 after which the JSS is below 90.", ".3f"),
    "lying_client_recovery_weeks_median": ("lying client: weeks to recover", "Kaplan-Meier "
                                           "median weeks until the JSS is back at its level "
                                           "before the event.", ".1f"),
    "flag_precision": ("flag precision", "Share of flagged clients that are harsh or "
                       "dishonest.", ".3f"),
    "flag_recall": ("flag recall", "Share of harsh or dishonest clients with an ended contract "
                    "that are flagged by the end.", ".3f"),
    "flag_delay_weeks_median": ("flag delay (weeks)", "Median weeks from a harsh or dishonest "
                                "client's first ended contract to its flag.", ".1f"),
    "budget_end_share": ("budget-end share", "Share of the period's ended contracts ended by a "
                         "budget shortfall or change of direction.", ".3f"),
    "budget_end_negative_share": ("budget ends counted negative", "Share of those counted as a "
                                  "negative outcome.", ".3f"),
    "budget_end_jss_effect": ("JSS effect of budget ends", "Mean JSS now minus JSS without the "
                              "budget-end contracts, over scored freelancers with one counted.",
                              "+.2f"),
    "drift_share_jss_ge_90_per_year": ("drift of share JSS >= 90 per year", "OLS slope of the "
                                       "weekly share at JSS >= 90 over the analysed period "
                                       "(per year).", "+.3f"),
    "drift_share_jss_ge_90_per_year_se": ("its SE", "Newey-West standard error of that slope.",
                                          ".3f"),
    "drift_spearman_per_year": ("drift of Spearman per year", "OLS slope of the weekly "
                                "Spearman(JSS, quality) (per year).", "+.3f"),
    "drift_spearman_per_year_se": ("its SE", "Newey-West standard error of that slope.", ".3f"),
}
"""Label, one-line meaning and number format of every metric (used by the report and figures)."""

TABLE_NAMES = ("precision_recall", "jss_bands", "one_negative_drop", "freelancer_sample",
               "metric_notes", "policy_scores_by_week")


class _Notes:
    """Collects why a metric is NaN; logged and returned as the `metric_notes` table."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, metric: str, reason: str) -> None:
        log.info("metric %s is NaN: %s", metric, reason)
        self.rows.append((metric, reason))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["metric", "reason"]).astype("string")


# ----------------------------------------------------------------------------- small statistics


def gini(values: Any) -> float:
    """Gini coefficient of non-negative values (0 = equal, (n-1)/n = one holds everything).

    NaN for an empty vector or an all-zero total (inequality of nothing is undefined).
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0 or x.sum() <= 0:
        return math.nan
    if x[0] < 0:
        raise ValueError("gini needs non-negative values")
    ranks = np.arange(1, n + 1)
    return float(2.0 * np.sum(ranks * x) / (n * x.sum()) - (n + 1) / n)


def top_share(values: Any, fraction: float) -> float:
    """Share of the total held by the top `fraction` of holders (at least one holder)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0 or x.sum() <= 0:
        return math.nan
    k = max(1, round(fraction * x.size))
    return float(np.sort(x)[::-1][:k].sum() / x.sum())


def auc(scores_positive: Any, scores_negative: Any) -> float:
    """P(score of a random positive > that of a random negative), ties count half.

    The Mann-Whitney U statistic divided by n1*n2 (scipy), i.e. the ROC AUC with ties handled.
    """
    a = np.asarray(scores_positive, dtype=float)
    b = np.asarray(scores_negative, dtype=float)
    if a.size < 1 or b.size < 1:
        return math.nan
    from scipy import stats  # imported here: keeps the CLI quick to start

    u = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic").statistic
    return float(u / (a.size * b.size))


def auc_se(area: float, n_positive: int, n_negative: int) -> float:
    """Standard error of an AUC (Hanley & McNeil 1982, exponential approximation), so that a run
    can say whether its AUC differs from 0.5; NaN for an undefined AUC."""
    if not math.isfinite(area) or n_positive < 1 or n_negative < 1:
        return math.nan
    q1 = area / (2.0 - area)
    q2 = 2.0 * area * area / (1.0 + area)
    var = (area * (1.0 - area) + (n_positive - 1) * (q1 - area * area)
           + (n_negative - 1) * (q2 - area * area)) / (n_positive * n_negative)
    return math.sqrt(max(var, 0.0))


def cohens_d(a: Any, b: Any) -> float:
    """(mean a - mean b) / pooled standard deviation (ddof 1)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size < MIN_GROUP or b.size < MIN_GROUP:
        return math.nan
    pooled = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    if pooled <= 0:
        return math.nan
    return float((a.mean() - b.mean()) / math.sqrt(pooled))


def spearman(x: Any, y: Any) -> float:
    """Spearman rank correlation (scipy); NaN when fewer than 3 pairs or a constant variable."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if x.size < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan
    from scipy import stats

    return float(stats.spearmanr(x, y).statistic)


# ----------------------------------------------------------------------------- input handling


def _table(outputs: Any, name: str) -> pd.DataFrame | None:
    """`outputs.name` or `outputs[name]`; None when absent or empty."""
    df = outputs.get(name) if isinstance(outputs, Mapping) else getattr(outputs, name, None)
    if df is None or not isinstance(df, pd.DataFrame) or len(df) == 0:
        return None
    return df



def _bool(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].fillna(False).to_numpy(dtype=bool)


def final_snapshot(freelancers: pd.DataFrame) -> pd.DataFrame:
    """Rows of the last snapshot week (one per freelancer)."""
    final_week = freelancers["week"].max()
    return freelancers.loc[freelancers["week"] == final_week].reset_index(drop=True)


# ----------------------------------------------------------------------------- metric groups


def _validity(scored: pd.DataFrame, active: pd.DataFrame, notes: _Notes) -> tuple[dict, dict]:
    """Spearman, the gap at 90, AUC, precision/recall and the good freelancers a filter hides."""
    out: dict[str, float] = {}
    jss = _num(scored, "jss")
    q = _num(scored, "true_quality")
    out["spearman_jss_quality"] = spearman(jss, q)

    above = q[(jss >= 90) & (jss < 95)]
    below = q[(jss >= 85) & (jss < 90)]
    if above.size >= MIN_GROUP and below.size >= MIN_GROUP:
        out["quality_gap_90"] = float(above.mean() - below.mean())
        out["quality_gap_90_d"] = cohens_d(above, below)
        out["quality_gap_90_se"] = math.sqrt(above.var(ddof=1) / above.size
                                             + below.var(ddof=1) / below.size)
    else:
        for m in ("quality_gap_90", "quality_gap_90_d", "quality_gap_90_se"):
            notes.add(m, f"too few scored freelancers in [90,95) ({above.size}) or [85,90) "
                         f"({below.size})")

    just_above = q[(jss >= 90) & (jss < 92)]
    just_below = q[(jss >= 88) & (jss < 90)]
    if just_above.size >= 1 and just_below.size >= 1:
        out["p_above_beats_below_90"] = auc(just_above, just_below)
        out["p_above_beats_below_90_se"] = auc_se(out["p_above_beats_below_90"],
                                                  just_above.size, just_below.size)
    else:
        notes.add("p_above_beats_below_90_se", "no scored freelancers on one side of 90")
        notes.add("p_above_beats_below_90", f"no scored freelancers in [90,92) ({just_above.size})"
                                            f" or [88,90) ({just_below.size})")

    ge = jss >= CUTOFF
    out["mean_quality_jss_ge_90"] = float(q[ge].mean()) if ge.any() else math.nan
    out["mean_quality_jss_lt_90"] = float(q[~ge].mean()) if (~ge).any() else math.nan

    tables: dict[str, pd.DataFrame] = {}
    if q.size >= 4:
        good = q >= np.quantile(q, TOP_QUANTILE)
        if good.all() or not good.any():
            notes.add("auc_top_quartile", "true quality has no top quartile (all values equal)")
        else:
            out["auc_top_quartile"] = auc(jss[good], jss[~good])
        curve = _precision_recall(jss, q, good)
        tables["precision_recall"] = curve
        at90 = curve.loc[curve["cutoff"] == CUTOFF].iloc[0]
        out["precision_90"] = float(at90["precision"])
        out["recall_90"] = float(at90["recall"])
        above_median = q > np.median(q)
        if above_median.any():
            out["excluded_good_share_90"] = float(np.mean(jss[above_median] < CUTOFF))
    else:
        for m in ("auc_top_quartile", "precision_90", "recall_90", "excluded_good_share_90"):
            notes.add(m, f"only {q.size} scored freelancers")

    # the same with freelancers who have no JSS yet: a "90% & up" filter hides them too
    q_all = _num(active, "true_quality")
    jss_all = _num(active, "jss")
    if q_all.size >= 2:
        above_median_all = q_all > np.median(q_all)
        if above_median_all.any():
            hidden = ~(jss_all[above_median_all] >= CUTOFF)  # NaN (no JSS) counts as hidden
            out["excluded_good_share_90_incl_no_jss"] = float(hidden.mean())
    return out, tables


def _precision_recall(jss: np.ndarray, q: np.ndarray, good: np.ndarray) -> pd.DataFrame:
    """Filter JSS >= cutoff as a detector of top-quartile true quality, for each cut-off."""
    rows = []
    n_good = int(good.sum())
    for c in PR_CUTOFFS:
        sel = jss >= c
        n_sel = int(sel.sum())
        rows.append({
            "cutoff": float(c),
            "n_selected": n_sel,
            "share_selected": n_sel / jss.size,
            "precision": float(good[sel].mean()) if n_sel else math.nan,
            "recall": float(good[sel].sum() / n_good) if n_good else math.nan,
            "mean_quality_selected": float(q[sel].mean()) if n_sel else math.nan,
        })
    df = pd.DataFrame(rows)
    return df.astype({"n_selected": "int32", **{c: "float32" for c in df.columns
                                               if c not in ("n_selected",)}})


def _silenced(fn: Callable[[], Any]) -> Any:
    """Run rdrobust/rddensity without their console chatter and warnings."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _regression_discontinuity(scored: pd.DataFrame, seed: int, notes: _Notes
                              ) -> dict[str, float]:
    """Jump in true quality at JSS 90 (rdrobust) and the bunching test at 90 (rddensity).

    `rd_jump_90` is the conventional local-linear estimate and the CI is the robust bias-corrected
    one, as Calonico, Cattaneo and Titiunik recommend reporting. JSS has mass points (integers,
    a spike at 100); rdrobust's and rddensity's mass-point adjustments are on (their defaults),
    and a whole-percent JSS is de-discretised for the density test (see below).
    """
    out: dict[str, float] = {}
    x = _num(scored, "jss")
    y = _num(scored, "true_quality")
    n_left = int(np.sum((x >= CUTOFF - 20) & (x < CUTOFF)))
    n_right = int(np.sum((x >= CUTOFF) & (x < CUTOFF + 20)))
    rd_names = ("rd_jump_90", "rd_ci_low_90", "rd_ci_high_90", "rd_pvalue_90", "rd_bandwidth_90")
    enough = (
        n_left >= MIN_RD_SIDE and n_right >= MIN_RD_SIDE
        and np.unique(x[x < CUTOFF]).size >= 3 and np.unique(x[x >= CUTOFF]).size >= 3
    )
    if not enough:
        reason = (f"too few scored freelancers or distinct JSS values near 90 "
                  f"(left {n_left}, right {n_right}; need {MIN_RD_SIDE} and 3 values each side)")
        for m in (*rd_names, "density_test_p_90"):
            notes.add(m, reason)
        return out

    from rdrobust import rdrobust

    try:
        est = _silenced(lambda: rdrobust(y=y, x=x, c=CUTOFF))
        out["rd_jump_90"] = float(est.coef.iloc[0, 0])
        out["rd_ci_low_90"] = float(est.ci.loc["Robust"].iloc[0])
        out["rd_ci_high_90"] = float(est.ci.loc["Robust"].iloc[1])
        out["rd_pvalue_90"] = float(est.pv.loc["Robust"].iloc[0])
        out["rd_bandwidth_90"] = float(est.bws.loc["h"].iloc[0])
    except Exception as exc:  # rdrobust raises bare Exception on degenerate data
        for m in rd_names:
            notes.add(m, f"rdrobust failed: {type(exc).__name__}: {exc}")

    from rddensity import rddensity

    x_density, c_density = x, CUTOFF
    if np.all(x == np.round(x)):
        # Whole-percent JSS: a discrete running variable makes the density test over-reject
        # (about 35% at the 5% level with 8,000 scores and no manipulation), so spread each value
        # uniformly over its rounding interval; JSS >= 90 is then x >= 89.5.
        jitter = np.random.default_rng(seed).uniform(-0.5, 0.5, x.size)
        x_density, c_density = x + jitter, CUTOFF - 0.5
    try:
        dens = _silenced(lambda: rddensity(X=x_density, c=c_density))
        p = float(dens.test["p_jk"])
        if math.isnan(p):
            notes.add("density_test_p_90", "rddensity returned no p-value")
        out["density_test_p_90"] = p
    except Exception as exc:
        notes.add("density_test_p_90", f"rddensity failed: {type(exc).__name__}: {exc}")
    return out


def _score_distribution(active: pd.DataFrame, scored: pd.DataFrame) -> dict[str, float]:
    jss = _num(scored, "jss")
    out = {
        "n_active": float(len(active)),
        "n_scored": float(len(scored)),
        "share_with_jss": len(scored) / len(active) if len(active) else math.nan,
        "share_jss_ge_90": float(np.mean(jss >= CUTOFF)) if jss.size else math.nan,
        "share_jss_100": float(np.mean(jss >= 100.0)) if jss.size else math.nan,
    }
    if len(active) and "top_rated" in active.columns:
        out["share_top_rated"] = float(_bool(active, "top_rated").mean())
    return out


def _in_period(df: pd.DataFrame, column: str, start: float) -> pd.DataFrame:
    """Rows whose `column` week is in the analysed period (at or after `start`).

    A missing week (an ongoing contract's end) counts as in the period.
    """
    week = _num(df, column)
    return df.loc[np.isnan(week) | (week >= start)]


def _weekly(timeseries: pd.DataFrame | None, start: float) -> pd.DataFrame | None:
    """Timeseries rows of the analysed period, or None."""
    if timeseries is None:
        return None
    rows = timeseries.loc[_num(timeseries, "week") >= start]
    return rows if len(rows) else None


def _ratings(contracts: pd.DataFrame | None, timeseries: pd.DataFrame | None, start: float,
             notes: _Notes) -> dict[str, float]:
    """Public stars of every review given in the analysed period; the public-private wedge."""
    out: dict[str, float] = {}
    if contracts is not None:
        ended = _in_period(contracts, "end_week", start)
        stars = _num(ended, "public_stars")
        private = _num(ended, "private_score")
        has_stars = ~np.isnan(stars)
        if has_stars.any():
            out["mean_public_stars"] = float(stars[has_stars].mean())
            out["share_five_star"] = float(np.mean(stars[has_stars] >= 5.0))
        else:
            for m in ("mean_public_stars", "share_five_star"):
                notes.add(m, "no public review in the analysed period")
        dissatisfied = has_stars & (private <= PRIVATE_DISSATISFIED_MAX)
        if dissatisfied.any():
            out["share_pos_public_given_private_dissatisfied"] = float(
                np.mean(stars[dissatisfied] >= PUBLIC_POSITIVE_MIN))
        else:
            notes.add("share_pos_public_given_private_dissatisfied",
                      "no contract with public stars and a dissatisfied private score")
        return out
    weekly = _weekly(timeseries, start)
    if weekly is not None:
        # no contract table: mean of the weekly values (not weighted by reviews per week)
        for m in ("mean_public_stars", "share_five_star"):
            if m in weekly.columns:
                out[m] = float(np.nanmean(_num(weekly, m)))
    notes.add("share_pos_public_given_private_dissatisfied", "no contract table")
    return out


def _market(clients: pd.DataFrame | None, timeseries: pd.DataFrame | None, start: float,
            notes: _Notes) -> dict[str, float]:
    """Proposals per job and the share of posts that hire (weekly series over the analysed
    period when available, else client totals); hires per proposal and proposals read per hire
    (client totals over the whole run: the client table has no weeks)."""
    out: dict[str, float] = {}
    weekly = _weekly(timeseries, start)
    if weekly is not None and {"jobs_posted", "proposals_per_job",
                               "share_posts_hired"} <= set(weekly.columns):
        posted = np.nan_to_num(_num(weekly, "jobs_posted"))
        if posted.sum() > 0:
            out["proposals_per_job"] = float(
                np.nansum(posted * _num(weekly, "proposals_per_job")) / posted.sum())
            out["hire_rate"] = float(
                np.nansum(posted * _num(weekly, "share_posts_hired")) / posted.sum())
    if clients is None:
        for m in ("hires_per_proposal", "proposals_read_per_hire"):
            notes.add(m, "no client table")
        return out
    posted = np.nansum(_num(clients, "jobs_posted"))
    hires = np.nansum(_num(clients, "hires"))
    received = np.nansum(_num(clients, "proposals_received"))
    read = np.nansum(_num(clients, "proposals_read"))
    out.setdefault("proposals_per_job", received / posted if posted else math.nan)
    out.setdefault("hire_rate", hires / posted if posted else math.nan)
    out["hires_per_proposal"] = hires / received if received else math.nan
    out["proposals_read_per_hire"] = read / hires if hires else math.nan
    return out


def _hired_quality(contracts: pd.DataFrame | None, freelancers: pd.DataFrame, start: float,
                   notes: _Notes) -> dict[str, float]:
    """What clients get: the true quality of whom they hired (contracts started in the period)
    and the quality delivered on contracts that ended in it."""
    if contracts is None:
        for m in ("mean_quality_hired", "mean_delivered_quality"):
            notes.add(m, "no contract table")
        return {}
    out: dict[str, float] = {}
    quality = freelancers.drop_duplicates("freelancer_id", keep="last").set_index(
        "freelancer_id")["true_quality"]
    hired = contracts.loc[_num(contracts, "start_week") >= start, "freelancer_id"]
    q = pd.to_numeric(hired.map(quality), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if np.isfinite(q).any():
        out["mean_quality_hired"] = float(np.nanmean(q))
    else:
        notes.add("mean_quality_hired", "no hire in the analysed period")
    if "delivered_quality" in contracts.columns:
        ended = contracts.loc[_num(contracts, "end_week") >= start]
        d = _num(ended, "delivered_quality")
        if np.isfinite(d).any():
            out["mean_delivered_quality"] = float(np.nanmean(d))
    return out


def _refunds(contracts: pd.DataFrame | None, final: pd.DataFrame,
             timeseries: pd.DataFrame | None, start: float, notes: _Notes) -> dict[str, float]:
    """Money refunded in the analysed period (contracts ending in it) and the platform fee it
    would have carried.

    The fee lost on a refunded dollar is the contract's own fee rate (fee / kept earnings); for a
    full refund (nothing kept) the period's average fee rate is used.
    """
    out: dict[str, float] = {}
    if contracts is not None:
        ended = _in_period(contracts, "end_week", start)
        refunded = np.nan_to_num(_num(ended, "refunded_usd"))
        earnings = np.nan_to_num(_num(ended, "earnings_usd"))
        fees = np.nan_to_num(_num(ended, "fee_usd"))
        out["refunds_usd"] = float(refunded.sum())
        avg_rate = fees.sum() / earnings.sum() if earnings.sum() > 0 else math.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(earnings > 0, fees / earnings, avg_rate)
        lost = refunded[refunded > 0] * rate[refunded > 0]
        if np.isnan(lost).any():
            notes.add("fees_lost_to_refunds_usd", "no earnings to infer a fee rate from")
        else:
            out["fees_lost_to_refunds_usd"] = float(lost.sum())
        return out
    weekly = _weekly(timeseries, start)
    if weekly is not None and "refunds_usd" in weekly.columns:
        out["refunds_usd"] = float(np.nansum(_num(weekly, "refunds_usd")))
    else:
        notes.add("refunds_usd", "no contract table or weekly refunds")
    notes.add("fees_lost_to_refunds_usd", "no contract table")
    return out


def _jobs_and_earnings(final: pd.DataFrame, contracts: pd.DataFrame | None, start: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Jobs won and earnings (USD) in the analysed period for each row of `final`.

    From the contract table when present (contracts starting at or after `start`); otherwise the
    snapshot's lifetime totals (burn-in included).
    """
    if contracts is not None:
        in_run = contracts.loc[_num(contracts, "start_week") >= start]
        by = in_run.groupby("freelancer_id")
        jobs = by.size().reindex(final["freelancer_id"], fill_value=0).to_numpy(dtype=float)
        earn = (pd.to_numeric(in_run["earnings_usd"], errors="coerce").fillna(0.0)
                .groupby(in_run["freelancer_id"]).sum()
                .reindex(final["freelancer_id"], fill_value=0.0).to_numpy(dtype=float))
        return jobs, earn
    return (np.nan_to_num(_num(final, "n_contracts")),
            np.nan_to_num(_num(final, "earnings_usd_total")))


def _concentration(final: pd.DataFrame, contracts: pd.DataFrame | None, start: float, seed: int,
                   notes: _Notes) -> dict[str, float]:
    """Who gets the work: Ginis with their random-hiring floor, top shares, never hired."""
    incumbent = (_num(final, "entry_week") <= start) & _bool(final, "active")
    if incumbent.sum() < 2:
        for m in ("top20_earnings_share", "top10_earnings_share", "gini_jobs", "gini_earnings",
                  "random_allocation_gini_jobs", "never_hired_share", "spearman_quality_jobs"):
            notes.add(m, f"{int(incumbent.sum())} freelancers present the whole analysed period")
        return {}
    jobs, earnings = _jobs_and_earnings(final, contracts, start)
    jobs, earnings = jobs[incumbent], earnings[incumbent]
    quality = _num(final, "true_quality")[incumbent]
    return {
        "top20_earnings_share": top_share(earnings, 0.20),
        "top10_earnings_share": top_share(earnings, 0.10),
        "gini_jobs": gini(jobs),
        "gini_earnings": gini(earnings),
        "random_allocation_gini_jobs": random_allocation_gini(int(jobs.sum()), jobs.size, seed),
        "never_hired_share": float(np.mean(jobs == 0)),
        "spearman_quality_jobs": spearman(quality, jobs),
    }


def random_allocation_gini(n_jobs: int, n_freelancers: int, seed: int = 0,
                           draws: int = RANDOM_ALLOCATION_DRAWS) -> float:
    """Mean Gini of jobs when `n_jobs` go to `n_freelancers` uniformly at random (seeded).

    The floor against which an observed jobs Gini is read: pure chance already makes it > 0.
    """
    if n_jobs <= 0 or n_freelancers <= 0:
        return math.nan
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_jobs, np.full(n_freelancers, 1.0 / n_freelancers), size=draws)
    return float(np.mean([gini(c) for c in counts]))


def _newcomers(final: pd.DataFrame, start: float, notes: _Notes) -> dict[str, float]:
    """Weeks to the first hire for freelancers who entered after the burn-in.

    `first_hire_weeks_median` is the Kaplan-Meier median (statsmodels), so newcomers still waiting
    at the end count as censored rather than being dropped; `first_hire_weeks_median_hired` is the
    plain median among those hired (biased low, kept for comparison).
    """
    out: dict[str, float] = {}
    entry = _num(final, "entry_week")
    newcomer = entry > start
    if not newcomer.any():
        for m in ("first_hire_weeks_median", "first_hire_weeks_median_hired",
                  "newcomer_never_hired_share"):
            notes.add(m, "no newcomer entered after the burn-in")
        return out
    final_week = float(final["week"].max())
    first = _num(final, "first_hire_week")[newcomer]
    entry = entry[newcomer]
    hired = ~np.isnan(first)
    # never hired: censored when they left (exit_week) or at the end of the run
    left = _num(final, "exit_week")[newcomer] if "exit_week" in final.columns else entry * np.nan
    censor = np.where(np.isnan(left), final_week, left)
    duration = np.where(hired, np.maximum(first - entry, 0.0), np.maximum(censor - entry, 0.0))
    if hired.any():
        out["first_hire_weeks_median_hired"] = float(np.median(duration[hired]))
        from statsmodels.duration.survfunc import SurvfuncRight

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            km = SurvfuncRight(duration, hired.astype(float))
            median = float(km.quantile(0.5))
        if math.isnan(median):
            notes.add("first_hire_weeks_median", "fewer than half of newcomers were ever hired")
        out["first_hire_weeks_median"] = median
    else:
        for m in ("first_hire_weeks_median", "first_hire_weeks_median_hired"):
            notes.add(m, "no newcomer was hired")
    exposed = (final_week - entry) >= NEWCOMER_MIN_WEEKS
    if exposed.any():
        out["newcomer_never_hired_share"] = float(np.mean(~hired[exposed]))
    else:
        notes.add("newcomer_never_hired_share",
                  f"no newcomer has been on the market {NEWCOMER_MIN_WEEKS} weeks")
    return out


# ----------------------------------------------------------------------------- one negative



def _rules_for(params: Any) -> Any:
    """The scoring RuleSet a run used: `params.rules` with the rule-set overrides of its
    platform parameters (removal perk, client flagging, flagging thresholds), as the model
    reads them."""
    from marketplace.model.params import platform_rule_overrides
    from marketplace.scoring import get_rules
    from marketplace.scoring.rules import DEFAULT_RULES

    overrides = platform_rule_overrides(lambda name: _param(params, f"platform.{name}"))
    return get_rules(_param(params, "rules", DEFAULT_RULES), **overrides)


def _codes(series: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """An int-code column as float codes; names (e.g. 'negative') are mapped to their index."""
    if pd.api.types.is_numeric_dtype(series):
        return pd.to_numeric(series).to_numpy(dtype=float, na_value=np.nan)
    lookup = {name.lower(): float(i) for i, name in enumerate(names)}
    return series.astype("string").str.lower().map(lookup).to_numpy(dtype=float, na_value=np.nan)


def _running_outcomes(rows: pd.DataFrame, rules: Any) -> np.ndarray:
    """Outcome codes of running contracts as the scoring engine classifies them at the end."""
    from marketplace.scoring import classify_outcomes

    def col(name: str, default: float) -> np.ndarray:
        return _num(rows, name) if name in rows.columns else np.full(len(rows), default)

    outcome, _ = classify_outcomes(
        col("private_score", np.nan), col("public_stars", np.nan), np.zeros(len(rows), np.int8),
        col("earnings_usd", 0.0),
        _bool(rows, "client_flagged") if "client_flagged" in rows.columns else None,
        _bool(rows, "removed") if "removed" in rows.columns else None,
        rules, ongoing=np.ones(len(rows), bool), paid_weeks=col("paid_weeks", 0.0),
    )
    return outcome.astype(float)


def _history_band(n_outcomes: np.ndarray) -> np.ndarray:
    labels = np.full(n_outcomes.shape, "", dtype=object)
    for low, high, label in HISTORY_BANDS:
        labels[(n_outcomes >= low) & (n_outcomes <= high)] = label
    return labels


def _one_negative(contracts: pd.DataFrame | None, scored: pd.DataFrame, params: Any,
                  final_week: float, notes: _Notes) -> tuple[dict[str, float], pd.DataFrame | None]:
    """How far one extra negative outcome (weight 1, at the final week) pulls each JSS down.

    Counterfactual with the scoring engine on each scored freelancer's recorded contract history
    (outcome and weight columns as the run classified them; running contracts, which the table
    leaves without an outcome, are classified here as the engine does, a long paid one counting as
    a success): JSS now minus JSS with the extra negative from a new client, both at the final
    week. Averaged overall and by counted-outcome band.
    """
    names = ("jss_drop_after_one_negative", *HISTORY_BAND_COLUMNS.values())
    if contracts is None or len(scored) == 0:
        for m in names:
            notes.add(m, "no contract table" if contracts is None else "no scored freelancers")
        return {}, None
    from marketplace.scoring import Outcome, job_success_scores

    rules = _rules_for(params)
    # end NaN = ongoing: the engine dates it at the scoring week
    _, f_idx, c_codes, end, outcome, weight, reason = _history(contracts, scored, rules)
    n = len(scored)
    week = float(final_week)

    def score(extra: bool) -> Any:
        k = n if extra else 0
        return job_success_scores(
            np.concatenate([f_idx, np.arange(k)]),
            np.concatenate([c_codes, c_codes.max(initial=-1) + 1 + np.arange(k)]),
            np.concatenate([end, np.full(k, week)]),
            np.concatenate([outcome, np.full(k, float(Outcome.NEGATIVE))]).astype(np.int8),
            np.concatenate([weight, np.ones(k)]),
            week=week, n_freelancers=n, rules=rules,
            reason=None if reason is None else np.concatenate(
                [np.nan_to_num(reason, nan=-1), np.zeros(k)]).astype(np.int8),
        )

    base, cf = score(False), score(True)
    jss_now = np.asarray(base.jss, dtype=float)
    jss_cf = np.asarray(cf.jss, dtype=float)
    n_outcomes = np.asarray(base.n_outcomes, dtype=float)
    snapshot = _num(scored, "jss")
    both = ~np.isnan(jss_now) & ~np.isnan(snapshot)
    mismatch = float(np.mean(np.abs(jss_now[both] - snapshot[both]) > 0.5)) if both.any() else 0.0
    if mismatch > 0.05:  # expected when the final week is not a JSS update week
        log.info("JSS recomputed at week %g differs from the snapshot JSS for %.0f%% of "
                 "freelancers (snapshot from an earlier update, or history missing)", week,
                 100 * mismatch)

    ok = ~np.isnan(jss_now) & ~np.isnan(jss_cf)
    drop = (jss_now - jss_cf)[ok]
    bands = _history_band(n_outcomes[ok])
    out: dict[str, float] = {}
    if drop.size:
        out["jss_drop_after_one_negative"] = float(drop.mean())
    else:
        notes.add("jss_drop_after_one_negative", "no freelancer has a JSS before and after")
    rows = []
    for _, _, label in HISTORY_BANDS:
        d = drop[bands == label]
        rows.append({"band": label, "n_freelancers": d.size,
                     "mean_drop": float(d.mean()) if d.size else math.nan,
                     "median_drop": float(np.median(d)) if d.size else math.nan,
                     "mean_jss_before": float(jss_now[ok][bands == label].mean())
                     if d.size else math.nan})
        if d.size:
            out[HISTORY_BAND_COLUMNS[label]] = float(d.mean())
        else:
            notes.add(HISTORY_BAND_COLUMNS[label], f"no scored freelancer with {label} outcomes")
    table = pd.DataFrame(rows).astype({"band": "string", "n_freelancers": "int32",
                                       "mean_drop": "float32", "median_drop": "float32",
                                       "mean_jss_before": "float32"})
    return out, table


# ----------------------------------------------------------------------------- forum forces
# (issue 11) measured from the contract, client and timeseries tables; the model only records
# ground truth (satisfaction before a chase, feedback without it, JSS at and after each end).

QUALITY_BINS = 10
"""Quality bins (deciles of the scored population) within which chasers are compared to honest
freelancers."""
DRIFT_HAC_LAGS = 13
"""Newey-West lags (weeks) of the drift slopes' standard errors (JSS updates every 2 weeks make
the weekly series autocorrelated)."""
BUDGET_END_CAUSES = ("budget_shortfall", "change_of_direction")
"""Early-end causes unrelated to the work (the model's budget_end_* parameters apply to both)."""
FLAG_TARGET_TYPES = ("harsh", "dishonest")
"""Rater types flagging is meant to find (flag precision and recall are measured against them)."""


def _premium(y: np.ndarray, chaser: np.ndarray, q: np.ndarray) -> tuple[float, float]:
    """OLS coefficient of `chaser` in y ~ chaser + quality-bin dummies, with its HC1 SE."""
    from statsmodels.regression.linear_model import OLS  # (not statsmodels.api: all of it)

    bins = pd.qcut(pd.Series(q), QUALITY_BINS, labels=False, duplicates="drop").to_numpy()
    dummies = pd.get_dummies(bins, drop_first=True, dtype=float).to_numpy()
    x = np.column_stack([np.ones(y.size), chaser.astype(float), dummies])
    fit = OLS(y.astype(float), x).fit(cov_type="HC1")
    return float(fit.params[1]), float(fit.bse[1])


def _chasing(contracts: pd.DataFrame | None, clients: pd.DataFrame | None, final: pd.DataFrame,
             scored: pd.DataFrame, params: Any, start: float, notes: _Notes) -> dict[str, float]:
    """Does chasing pay? Premiums of chasers over honest freelancers of equal true quality, and
    what the offers did and cost."""
    out: dict[str, float] = {}
    strategy = scored["strategy"].astype("string").to_numpy() if "strategy" in scored else None
    if strategy is not None:
        chaser = strategy == "chaser"
        if chaser.sum() >= MIN_GROUP and (~chaser).sum() >= MIN_GROUP:
            q, jss = _num(scored, "true_quality"), _num(scored, "jss")
            out["chaser_jss_premium"], out["chaser_jss_premium_se"] = _premium(jss, chaser, q)
            out["chaser_share100_premium"], out["chaser_share100_premium_se"] = _premium(
                (jss >= 100).astype(float), chaser, q)
    for m in ("chaser_jss_premium", "chaser_jss_premium_se", "chaser_share100_premium",
              "chaser_share100_premium_se"):
        if m not in out:
            notes.add(m, "fewer than 2 scored chasers or honest freelancers")
    if contracts is None or "chase_action" not in contracts.columns:
        for m in ("chase_offers_per_contract", "chase_offer_share_to_honest",
                  "negatives_avoided_per_chaser", "refund_usd_per_point_gained"):
            notes.add(m, "no contract table with chase columns")
        return out
    from marketplace.scoring import feedback_class

    ended = _in_period(contracts, "end_week", start)
    ended = ended.loc[ended["end_week"].notna()]
    kind = final.set_index("freelancer_id")["strategy"].astype("string")
    is_chaser = (ended["freelancer_id"].map(kind) == "chaser").fillna(False).to_numpy(bool)
    offered = ended["chase_action"].astype("string").fillna("").to_numpy() != ""
    if is_chaser.any():
        out["chase_offers_per_contract"] = float(offered[is_chaser].mean())
    else:
        notes.add("chase_offers_per_contract", "no chaser contract ended in the period")
    if offered.any() and clients is not None:
        rater = clients.set_index("client_id")["rater_type"].astype("string")
        to = ended.loc[offered, "client_id"].map(rater)
        out["chase_offer_share_to_honest"] = float((to == "honest").mean())
    else:
        notes.add("chase_offer_share_to_honest", "no chase offer in the period")
    rules = _rules_for(params)
    negative_now = feedback_class(_num(ended, "private_score"), _num(ended, "public_stars"),
                                  rules) == 2
    if rules.dispute_is_negative:
        negative_now |= (ended["end_reason"].astype("string") == "dispute").to_numpy(bool)
    avoided = _bool(ended, "negative_without_chase") & ~negative_now
    chasers_working = ended.loc[is_chaser, "freelancer_id"].nunique()
    if chasers_working:
        out["negatives_avoided_per_chaser"] = float(avoided[is_chaser].sum() / chasers_working)
    else:
        notes.add("negatives_avoided_per_chaser", "no chaser contract ended in the period")
    premium = out.get("chaser_jss_premium", math.nan)
    n_scored_chasers = int((strategy == "chaser").sum()) if strategy is not None else 0
    if premium > 0 and n_scored_chasers:
        scored_ids = set(scored.loc[strategy == "chaser", "freelancer_id"])
        mine = ended["freelancer_id"].isin(scored_ids).to_numpy(bool)
        refund = float(np.nansum(_num(ended, "refunded_usd")[mine])) / n_scored_chasers
        out["refund_usd_per_point_gained"] = refund / premium
    else:
        notes.add("refund_usd_per_point_gained", "no JSS premium of chasers (<= 0 or unknown)")
    return out


def _client_flagged_at(ended: pd.DataFrame, clients: pd.DataFrame) -> np.ndarray:
    """Per contract: its client had been flagged at (or before) the contract's end week."""
    fw = clients.set_index("client_id")["flagged_week"]
    week = pd.to_numeric(ended["client_id"].map(fw), errors="coerce").to_numpy(
        float, na_value=np.nan)
    return ~np.isnan(week) & (week <= _num(ended, "end_week"))


def _lying_clients(contracts: pd.DataFrame | None, clients: pd.DataFrame | None, params: Any,
                   start: float, final_week: float, notes: _Notes) -> dict[str, float]:
    """'One lying client took me from 90 to 79': negatives from unflagged dishonest clients."""
    names = ("lying_client_events", "lying_client_drop_median", "lying_client_below_90_share",
             "lying_client_recovery_weeks_median")
    if contracts is None or clients is None or "jss_at_end" not in contracts.columns:
        for m in names:
            notes.add(m, "no contract or client table with the JSS-at-end columns")
        return {}
    from marketplace.scoring import feedback_class

    ended = _in_period(contracts, "end_week", start)
    ended = ended.loc[ended["end_week"].notna()]
    rater = ended["client_id"].map(clients.set_index("client_id")["rater_type"].astype("string"))
    rules = _rules_for(params)
    negative = feedback_class(_num(ended, "private_score"), _num(ended, "public_stars"),
                              rules) == 2
    if rules.dispute_is_negative:
        negative |= (ended["end_reason"].astype("string") == "dispute").to_numpy(bool)
    before = _num(ended, "jss_at_end")
    event = ((rater == "dishonest").to_numpy(bool) & ~_client_flagged_at(ended, clients)
             & negative & ~np.isnan(before))
    out: dict[str, float] = {"lying_client_events": float(event.sum())}
    ev = ended.loc[event]
    before, after = before[event], _num(ev, "jss_after_end")
    ok = ~np.isnan(after)
    if not ok.any():
        for m in names[1:]:
            notes.add(m, "no lying-client event with a JSS after it")
        return out
    drop = before[ok] - after[ok]
    out["lying_client_drop_median"] = float(np.median(drop))
    high = before[ok] >= CUTOFF
    if high.any():
        out["lying_client_below_90_share"] = float(np.mean(after[ok][high] < CUTOFF))
    else:
        notes.add("lying_client_below_90_share", "no event hit a freelancer at 90 or more")
    fell = drop > 0
    if fell.any():
        from statsmodels.duration.survfunc import SurvfuncRight

        end = _num(ev, "end_week")[ok][fell]
        rec = _num(ev, "jss_recovered_week")[ok][fell]
        done = ~np.isnan(rec)
        duration = np.where(done, rec - end, np.minimum(final_week - end, 156.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            median = float(SurvfuncRight(np.maximum(duration, 0.0),
                                         done.astype(float)).quantile(0.5))
        if math.isnan(median):
            notes.add("lying_client_recovery_weeks_median", "fewer than half recovered")
        out["lying_client_recovery_weeks_median"] = median
    else:
        notes.add("lying_client_recovery_weeks_median", "no event lowered a JSS")
    return out


def _flagging(contracts: pd.DataFrame | None, clients: pd.DataFrame | None, notes: _Notes
              ) -> dict[str, float]:
    """How well flags (the platform's rules on behaviour-based ratings) find harsh and dishonest
    clients: precision and recall against the true type, and the delay from the client's first
    ended contract to its flag."""
    names = ("flag_precision", "flag_recall", "flag_delay_weeks_median")
    if clients is None or contracts is None:
        for m in names:
            notes.add(m, "no client or contract table")
        return {}
    out: dict[str, float] = {}
    rater = clients["rater_type"].astype("string").to_numpy()
    target = np.isin(rater, FLAG_TARGET_TYPES)
    flagged = _bool(clients, "flagged")
    first_end = contracts.groupby("client_id")["end_week"].min()
    first = pd.to_numeric(clients["client_id"].map(first_end), errors="coerce").to_numpy(
        float, na_value=np.nan)
    hired = ~np.isnan(first)  # clients with at least one ended contract
    if flagged.any():
        out["flag_precision"] = float(target[flagged].mean())
    else:
        notes.add("flag_precision", "no client flagged")
    if (target & hired).any():
        out["flag_recall"] = float(flagged[target & hired].mean())
    else:
        notes.add("flag_recall", "no harsh or dishonest client with an ended contract")
    hits = target & flagged & hired
    if hits.any():
        delay = _num(clients, "flagged_week")[hits] - first[hits]
        out["flag_delay_weeks_median"] = float(np.median(delay))
    else:
        notes.add("flag_delay_weeks_median", "no harsh or dishonest client flagged")
    return out


def _history(contracts: pd.DataFrame, scored: pd.DataFrame, rules: Any):
    """Each scored freelancer's contract history as the scoring engine needs it (outcome and
    weight as the run classified them; running contracts classified here)."""
    from marketplace.scoring.outcomes import OUTCOME_NAMES, REASONS

    ids = scored["freelancer_id"].to_numpy()
    hist = contracts.loc[contracts["freelancer_id"].isin(ids)]
    end = _num(hist, "end_week")
    outcome = _codes(hist["outcome"], OUTCOME_NAMES)
    running = np.isnan(end) & np.isnan(outcome)
    if running.any():
        outcome[running] = _running_outcomes(hist.loc[running], rules)
    weight = _num(hist, "weight")
    keep = ~(np.isnan(outcome) | np.isnan(weight))
    hist, end, outcome, weight = hist.loc[keep], end[keep], outcome[keep], weight[keep]
    reason = (_codes(hist["exclusion_reason"], REASONS)
              if "exclusion_reason" in hist.columns else None)
    f_idx = pd.Index(ids).get_indexer(hist["freelancer_id"]).astype(np.int64)
    c_codes = pd.factorize(hist["client_id"])[0].astype(np.int64)
    return hist, f_idx, c_codes, end, outcome, weight, reason


def _budget_ends(contracts: pd.DataFrame | None, scored: pd.DataFrame, params: Any, start: float,
                 final_week: float, notes: _Notes) -> dict[str, float]:
    """Running out of money: how common budget-shortfall / change-of-direction ends are, how
    often they count as negative, and how much they move the JSS of those they hit (JSS now
    minus JSS with those contracts left out, scoring engine at the final week)."""
    names = ("budget_end_share", "budget_end_negative_share", "budget_end_jss_effect")
    if contracts is None:
        for m in names:
            notes.add(m, "no contract table")
        return {}
    out: dict[str, float] = {}
    ended = _in_period(contracts, "end_week", start)
    ended = ended.loc[ended["end_week"].notna()]
    budget = ended["early_end_cause"].astype("string").isin(BUDGET_END_CAUSES).to_numpy(bool)
    if len(ended):
        out["budget_end_share"] = float(budget.mean())
    if budget.any():
        out["budget_end_negative_share"] = float(
            (ended.loc[budget, "outcome"].astype("string") == "negative").mean())
    else:
        notes.add("budget_end_negative_share", "no budget-end contract in the period")
    if len(scored) == 0:
        notes.add("budget_end_jss_effect", "no scored freelancers")
        return out
    from marketplace.scoring import Outcome, job_success_scores

    rules = _rules_for(params)
    hist, f_idx, c_codes, end, outcome, weight, reason = _history(contracts, scored, rules)
    is_budget = hist["early_end_cause"].astype("string").isin(BUDGET_END_CAUSES).to_numpy(bool)
    counted = is_budget & (outcome < float(Outcome.EXCLUDED))

    def score(rows: np.ndarray) -> np.ndarray:
        return np.asarray(job_success_scores(
            f_idx[rows], c_codes[rows], end[rows], outcome[rows].astype(np.int8), weight[rows],
            week=float(final_week), n_freelancers=len(scored), rules=rules,
            reason=None if reason is None else np.nan_to_num(reason[rows], nan=-1).astype(
                np.int8)).jss, dtype=float)

    every = np.ones(f_idx.size, bool)
    hit = np.zeros(len(scored), bool)
    hit[np.unique(f_idx[counted])] = True
    if not hit.any():
        notes.add("budget_end_jss_effect", "no scored freelancer has a counted budget end")
        return out
    now, without = score(every), score(~counted)
    ok = hit & ~np.isnan(now) & ~np.isnan(without)
    if ok.any():
        out["budget_end_jss_effect"] = float(np.mean(now[ok] - without[ok]))
    else:
        notes.add("budget_end_jss_effect", "no JSS with and without the budget ends")
    return out


def _drift(timeseries: pd.DataFrame | None, start: float, notes: _Notes) -> dict[str, float]:
    """Is the analysed period in steady state? OLS slope per year of the weekly share at JSS
    >= 90 and of Spearman(JSS, quality), with Newey-West (HAC) standard errors."""
    from statsmodels.regression.linear_model import OLS  # (not statsmodels.api: all of it)
    from statsmodels.tools.tools import add_constant

    out: dict[str, float] = {}
    weekly = _weekly(timeseries, start)
    for column, name in (("share_jss_ge_90", "drift_share_jss_ge_90_per_year"),
                         ("spearman_jss_quality", "drift_spearman_per_year")):
        if weekly is None or column not in weekly.columns:
            notes.add(name, "no timeseries in the analysed period")
            continue
        y = _num(weekly, column)
        years = _num(weekly, "week") / 52.0
        ok = ~np.isnan(y)
        if ok.sum() < 2 * DRIFT_HAC_LAGS:
            notes.add(name, f"fewer than {2 * DRIFT_HAC_LAGS} weeks with a value")
            continue
        x = add_constant(years[ok] - years[ok].mean())
        fit = OLS(y[ok], x).fit(cov_type="HAC", cov_kwds={"maxlags": DRIFT_HAC_LAGS})
        out[name] = float(fit.params[1])
        out[f"{name}_se"] = float(fit.bse[1])
    return out


# ----------------------------------------------------------------------------- tables


def _jss_band_table(active: pd.DataFrame) -> pd.DataFrame:
    """True quality by JSS band, with a 'no JSS' row for active freelancers without a score."""
    jss = _num(active, "jss")
    q = _num(active, "true_quality")
    band = pd.cut(pd.Series(jss), bins=list(JSS_BAND_EDGES), right=False,
                  labels=list(JSS_BAND_LABELS))
    rows = []
    lows = (0.0, *JSS_BAND_EDGES[1:-1])
    highs = (*JSS_BAND_EDGES[1:-2], 100.0, 100.0)
    for label, low, high in zip(JSS_BAND_LABELS, lows, highs, strict=True):
        sel = (band == label).to_numpy()
        rows.append(_band_row(label, low, high, q[sel]))
    rows.append(_band_row("no JSS", math.nan, math.nan, q[np.isnan(jss)]))
    df = pd.DataFrame(rows)
    return df.astype({"band": "string", "n_freelancers": "int32", **{
        c: "float32" for c in ("jss_low", "jss_high", "mean_quality", "sd_quality")}})


def _band_row(label: str, low: float, high: float, q: np.ndarray) -> dict:
    return {"band": label, "jss_low": low, "jss_high": high, "n_freelancers": q.size,
            "mean_quality": float(q.mean()) if q.size else math.nan,
            "sd_quality": float(q.std(ddof=1)) if q.size > 1 else math.nan}


def freelancer_sample(active: pd.DataFrame, rows: int = SAMPLE_ROWS, seed: int = 0) -> pd.DataFrame:
    """A seeded random sample (at most `rows`) of the final snapshot's active freelancers."""
    cols = ["freelancer_id", "true_quality", "jss", "n_outcomes", "top_rated", "strategy"]
    df = active.sort_values("freelancer_id")
    if len(df) > rows:
        pick = np.random.default_rng(seed).choice(len(df), size=rows, replace=False)
        df = df.iloc[np.sort(pick)]
    out = pd.DataFrame({
        "freelancer_id": pd.to_numeric(df["freelancer_id"]).to_numpy(dtype=np.int64),
        "true_quality": _num(df, "true_quality").astype(np.float32),
        "jss": _num(df, "jss").astype(np.float32),
        "n_outcomes": _num(df, "n_outcomes").astype(np.float32)
        if "n_outcomes" in df.columns else np.full(len(df), np.nan, np.float32),
        "top_rated": _bool(df, "top_rated") if "top_rated" in df.columns
        else np.zeros(len(df), bool),
        "strategy": df["strategy"].astype("string").to_numpy()
        if "strategy" in df.columns else pd.array([pd.NA] * len(df), dtype="string"),
    })
    return out[cols]


# ----------------------------------------------------------------------------- entry point


def _policy_metrics(contracts, freelancers, clients, params, notes, timeseries):
    """Counterfactual scoring with every alternative score (analysis/policy.py, issue 14)."""
    from marketplace.analysis.policy import policy_metrics

    return policy_metrics(contracts, freelancers, clients, params, notes, timeseries)


def _guarded(names: tuple[str, ...], notes: _Notes, fn: Callable[[], Any], default: Any) -> Any:
    """Run one metric group; on an unexpected error log it, note it, and give NaNs."""
    try:
        return fn()
    except Exception as exc:  # a metric bug must not kill a research sweep
        log.exception("metric group %s failed", names[0])
        for m in names:
            notes.add(m, f"error: {type(exc).__name__}: {exc}")
        return default


def run_metrics(outputs: Any, params: Any = None, *, sample_rows: int = SAMPLE_ROWS,
                seed: int | None = None) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """Scalar metrics (every name in METRIC_NAMES) and small tables for one run.

    `outputs` has `contracts, freelancers, clients, timeseries` as attributes or keys (contracts
    may be missing or empty). `params` (ModelParams or dict) tells the scoring rules used for the
    one-negative counterfactual (default: `outputs.params`). `seed` seeds the freelancer sample,
    the random-allocation Gini and the density-test jitter (default: `outputs.seed`, else 0).
    Tables: `precision_recall`, `jss_bands`, `one_negative_drop`, `freelancer_sample`,
    `metric_notes` (why a metric is NaN); a table that cannot be computed is left out.
    """
    if params is None:
        params = getattr(outputs, "params", None)
    if seed is None:
        seed = getattr(outputs, "seed", None)
        seed = int(seed) if isinstance(seed, (int, np.integer)) else 0
    notes = _Notes()
    scalars: dict[str, float] = {}
    tables: dict[str, pd.DataFrame] = {}

    freelancers = _table(outputs, "freelancers")
    contracts = _table(outputs, "contracts")
    clients = _table(outputs, "clients")
    timeseries = _table(outputs, "timeseries")
    if freelancers is None:
        raise ValueError("run_metrics needs the freelancers snapshot table; got none or empty")

    final = final_snapshot(freelancers)
    final_week = float(final["week"].max())
    start = float(_param(params, "burn_in_weeks", START_WEEK))
    active = final.loc[_bool(final, "active")].reset_index(drop=True)
    scored = active.loc[active["jss"].notna()].reset_index(drop=True)

    scalars.update(_score_distribution(active, scored))
    groups: list[tuple[tuple[str, ...], Callable[[], Any]]] = [
        (("spearman_jss_quality", "quality_gap_90", "quality_gap_90_d", "p_above_beats_below_90",
          "auc_top_quartile", "precision_90", "recall_90", "excluded_good_share_90",
          "excluded_good_share_90_incl_no_jss"), lambda: _validity(scored, active, notes)),
        (("rd_jump_90", "rd_ci_low_90", "rd_ci_high_90", "rd_pvalue_90", "rd_bandwidth_90",
          "density_test_p_90"),
         lambda: _regression_discontinuity(scored, seed, notes)),
        (("mean_public_stars", "share_five_star", "share_pos_public_given_private_dissatisfied"),
         lambda: _ratings(contracts, timeseries, start, notes)),
        (("proposals_per_job", "hire_rate", "hires_per_proposal", "proposals_read_per_hire"),
         lambda: _market(clients, timeseries, start, notes)),
        (("mean_quality_hired", "mean_delivered_quality"),
         lambda: _hired_quality(contracts, freelancers, start, notes)),
        (("refunds_usd", "fees_lost_to_refunds_usd"),
         lambda: _refunds(contracts, final, timeseries, start, notes)),
        (("top20_earnings_share", "top10_earnings_share", "gini_jobs", "gini_earnings",
          "random_allocation_gini_jobs", "never_hired_share", "spearman_quality_jobs"),
         lambda: _concentration(final, contracts, start, seed, notes)),
        (("first_hire_weeks_median", "first_hire_weeks_median_hired",
          "newcomer_never_hired_share"),
         lambda: _newcomers(final, start, notes)),
        (("jss_drop_after_one_negative", *HISTORY_BAND_COLUMNS.values()),
         lambda: _one_negative(contracts, scored, params, final_week, notes)),
        (POLICY_METRIC_NAMES,
         lambda: _policy_metrics(contracts, freelancers, clients, params, notes, timeseries)),
        (FACT_METRIC_NAMES, lambda: fact_metrics(final, active, scored, contracts, clients,
                                                 start, params, notes)),
    ]
    groups += [
        (FORCE_METRICS[:8],
         lambda: _chasing(contracts, clients, final, scored, params, start, notes)),
        (FORCE_METRICS[8:12],
         lambda: _lying_clients(contracts, clients, params, start, final_week, notes)),
        (FORCE_METRICS[12:15], lambda: _flagging(contracts, clients, notes)),
        (FORCE_METRICS[15:18],
         lambda: _budget_ends(contracts, scored, params, start, final_week, notes)),
        (FORCE_METRICS[18:], lambda: _drift(timeseries, start, notes)),
    ]
    for names, compute in groups:
        result = _guarded(names, notes, compute, {})
        if isinstance(result, tuple):  # (scalars, table or tables)
            result, extra = result
            if isinstance(extra, pd.DataFrame):
                tables["one_negative_drop"] = extra
            elif extra:
                tables.update(extra)
        scalars.update(result)

    tables["jss_bands"] = _jss_band_table(active)
    tables["freelancer_sample"] = freelancer_sample(active, sample_rows, seed)
    tables["metric_notes"] = notes.frame()

    unknown = set(scalars) - set(METRIC_NAMES)
    if unknown:  # pragma: no cover - a programming error, caught by the tests
        raise RuntimeError(f"metrics not listed in METRIC_NAMES: {sorted(unknown)}")
    result = {name: float(scalars.get(name, math.nan)) for name in METRIC_NAMES}
    return result, tables
