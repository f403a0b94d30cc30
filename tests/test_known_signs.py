"""Known signs: every weekly series and every summary metric, in a world where its sign is known.

Four small module-scoped runs: honest raters with widely varying quality and no chasers (the
score must track quality), the same with chasers (refunds happen), and all-lenient versus
all-harsh raters (a direction is known). Each check states the sign or order the metric must
have there, so a flipped sign, a swapped ratio or a metric computed on the wrong group fails.
Two guards make sure no weekly column or summary metric goes without a check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from marketplace.analysis.metrics import METRIC_NAMES, run_metrics
from marketplace.model import ModelParams, simulate
from marketplace.model.outputs import TIMESERIES_COLUMNS

BASE = {"n_freelancers": 500, "weeks": 120, "burn_in_weeks": 50,
        "freelancers.quality": {"kind": "uniform", "low": 0.05, "high": 0.95},
        "freelancers.chaser_share": 0.0}
WORLDS = {
    "honest": {"clients.rater_mix": {"honest": 1.0, "lenient": 0.0, "harsh": 0.0,
                                     "dishonest": 0.0}},
    "chasers": {"freelancers.chaser_share": 0.8, "clients.private_bias": -1.0},
    "lenient": {"clients.rater_mix": {"honest": 0.0, "lenient": 1.0, "harsh": 0.0,
                                      "dishonest": 0.0}},
    "harsh": {"clients.rater_mix": {"honest": 0.5, "lenient": 0.0, "harsh": 0.5,
                                    "dishonest": 0.0}, "platform.flag_clients": False},
}


@pytest.fixture(scope="module")
def runs():
    out = {}
    for name, overrides in WORLDS.items():
        p = ModelParams().with_overrides({**BASE, **overrides})
        o = simulate(p, seed=4, snapshot_every_weeks=0)
        metrics, _ = run_metrics(o, p, sample_rows=10)
        late = o.timeseries[o.timeseries.week >= p.burn_in_weeks]
        out[name] = {"out": o, "m": metrics, "w": late.mean(numeric_only=True)}
    return out


def pos(x):
    return x > 0


def share(x):
    return 0 < x <= 1


# ------------------------------------------------------------------ weekly series
# column -> check(late-period means by world) -> bool
WEEKLY = {
    "week": lambda w: w["honest"]["week"] > 50,
    "n_active_freelancers": lambda w: pos(w["honest"]["n_active_freelancers"]),
    "n_ongoing_contracts": lambda w: pos(w["honest"]["n_ongoing_contracts"]),
    "mean_public_stars": lambda w: 1 <= w["harsh"]["mean_public_stars"]
    < w["honest"]["mean_public_stars"] < w["lenient"]["mean_public_stars"] <= 5,
    "share_five_star": lambda w: 0 <= w["harsh"]["share_five_star"]
    < w["lenient"]["share_five_star"] <= 1,
    "share_with_jss": lambda w: share(w["honest"]["share_with_jss"]),
    "share_jss_ge_90": lambda w: 0 <= w["harsh"]["share_jss_ge_90"]
    < w["lenient"]["share_jss_ge_90"] <= 1,
    "share_jss_100": lambda w: 0 <= w["harsh"]["share_jss_100"]
    < w["lenient"]["share_jss_100"] <= 1,
    "share_top_rated": lambda w: 0 <= w["harsh"]["share_top_rated"]
    < w["lenient"]["share_top_rated"] <= 1,
    "jobs_posted": lambda w: pos(w["honest"]["jobs_posted"]),
    "proposals_per_job": lambda w: pos(w["honest"]["proposals_per_job"]),
    "share_posts_hired": lambda w: share(w["honest"]["share_posts_hired"]),
    "hires": lambda w: pos(w["honest"]["hires"]),
    "platform_fees_usd": lambda w: pos(w["honest"]["platform_fees_usd"]),
    "connects_revenue_usd": lambda w: pos(w["honest"]["connects_revenue_usd"]),
    "refunds_usd": lambda w: w["honest"]["refunds_usd"] == 0 < w["chasers"]["refunds_usd"],
    "spearman_jss_quality": lambda w: w["honest"]["spearman_jss_quality"] > 0.2,
}


def test_every_weekly_series_has_a_known_sign_check():
    assert set(WEEKLY) == set(TIMESERIES_COLUMNS)


@pytest.mark.parametrize("column", sorted(WEEKLY))
def test_weekly_series_has_its_known_sign(runs, column):
    w = {name: r["w"] for name, r in runs.items()}
    assert WEEKLY[column](w), {name: w[name][column] for name in w}


def test_weekly_spearman_positive_in_most_weeks_when_raters_are_honest(runs):
    ts = runs["honest"]["out"].timeseries
    late = ts.loc[ts.week >= 50, "spearman_jss_quality"].dropna()
    assert len(late) > 30 and (late > 0).mean() > 0.9


# ------------------------------------------------------------------ summary metrics
def _order(*values):
    return all(not math.isnan(v) for v in values) and list(values) == sorted(values)


def _rd(m):
    ok = _order(m["rd_ci_low_90"], m["rd_ci_high_90"]) or math.isnan(m["rd_jump_90"])
    return ok


def _population_quality(r):
    f = r["out"].freelancers
    return float(f.loc[f.active, "true_quality"].mean())


H = "honest"
SUMMARY = {
    "n_active": lambda r: r[H]["m"]["n_active"] >= r[H]["m"]["n_scored"] > 0,
    "n_scored": lambda r: 0 < r[H]["m"]["n_scored"] <= r[H]["m"]["n_active"],
    "share_with_jss": lambda r: r[H]["m"]["share_with_jss"] == pytest.approx(
        r[H]["m"]["n_scored"] / r[H]["m"]["n_active"]),
    "spearman_jss_quality": lambda r: r[H]["m"]["spearman_jss_quality"] > 0.2,
    "quality_gap_90": lambda r: r[H]["m"]["quality_gap_90"] > -0.05,
    "quality_gap_90_d": lambda r: np.sign(r[H]["m"]["quality_gap_90_d"]) == np.sign(
        r[H]["m"]["quality_gap_90"]),
    # a probability (few freelancers sit at 88-92 in a small run, so no direction is asserted)
    "p_above_beats_below_90": lambda r: math.isnan(r[H]["m"]["p_above_beats_below_90"])
    or 0 <= r[H]["m"]["p_above_beats_below_90"] <= 1,
    "auc_top_quartile": lambda r: r[H]["m"]["auc_top_quartile"] > 0.6,
    "precision_90": lambda r: r[H]["m"]["precision_90"] > 0.25,  # above the base rate
    "recall_90": lambda r: share(r[H]["m"]["recall_90"]),
    "excluded_good_share_90": lambda r: 0 <= r[H]["m"]["excluded_good_share_90"]
    <= r[H]["m"]["excluded_good_share_90_incl_no_jss"],
    "excluded_good_share_90_incl_no_jss": lambda r: share(
        r[H]["m"]["excluded_good_share_90_incl_no_jss"]),
    "mean_quality_jss_ge_90": lambda r: r[H]["m"]["mean_quality_jss_ge_90"]
    > r[H]["m"]["mean_quality_jss_lt_90"],
    "mean_quality_jss_lt_90": lambda r: 0 < r[H]["m"]["mean_quality_jss_lt_90"]
    < r[H]["m"]["mean_quality_jss_ge_90"],
    "rd_jump_90": lambda r: _rd(r[H]["m"]),
    "rd_ci_low_90": lambda r: _rd(r[H]["m"]),
    "rd_ci_high_90": lambda r: _rd(r[H]["m"]),
    "rd_pvalue_90": lambda r: math.isnan(r[H]["m"]["rd_pvalue_90"])
    or 0 <= r[H]["m"]["rd_pvalue_90"] <= 1,
    "rd_bandwidth_90": lambda r: math.isnan(r[H]["m"]["rd_bandwidth_90"])
    or r[H]["m"]["rd_bandwidth_90"] > 0,
    "density_test_p_90": lambda r: math.isnan(r[H]["m"]["density_test_p_90"])
    or 0 <= r[H]["m"]["density_test_p_90"] <= 1,
    "share_jss_ge_90": lambda r: 0 <= r["harsh"]["m"]["share_jss_ge_90"]
    < r["lenient"]["m"]["share_jss_ge_90"] <= 1,
    "share_jss_100": lambda r: 0 <= r["harsh"]["m"]["share_jss_100"]
    < r["lenient"]["m"]["share_jss_100"] <= 1,
    "share_top_rated": lambda r: 0 <= r["harsh"]["m"]["share_top_rated"]
    < r["lenient"]["m"]["share_top_rated"] <= 1,
    "mean_public_stars": lambda r: 1 <= r["harsh"]["m"]["mean_public_stars"]
    < r[H]["m"]["mean_public_stars"] < r["lenient"]["m"]["mean_public_stars"] <= 5,
    "share_five_star": lambda r: r["harsh"]["m"]["share_five_star"]
    < r["lenient"]["m"]["share_five_star"],
    # honest clients inflate public stars: some privately unhappy ones still give >= 4 stars
    "share_pos_public_given_private_dissatisfied": lambda r: 0 < r[H]["m"][
        "share_pos_public_given_private_dissatisfied"] < 1,
    "proposals_per_job": lambda r: pos(r[H]["m"]["proposals_per_job"]),
    "hire_rate": lambda r: share(r[H]["m"]["hire_rate"]),
    "hires_per_proposal": lambda r: 0 < r[H]["m"]["hires_per_proposal"] < 1,
    "proposals_read_per_hire": lambda r: r[H]["m"]["proposals_read_per_hire"] >= 1,
    # clients see a noisy quality signal and the JSS: they hire better than the average
    "mean_quality_hired": lambda r: r[H]["m"]["mean_quality_hired"] > _population_quality(r[H]),
    "mean_delivered_quality": lambda r: 0 < r["harsh"]["m"]["mean_delivered_quality"] < 1
    and 0 < r[H]["m"]["mean_delivered_quality"] < 1,
    "refunds_usd": lambda r: r[H]["m"]["refunds_usd"] == 0 < r["chasers"]["m"]["refunds_usd"],
    "fees_lost_to_refunds_usd": lambda r: r[H]["m"]["fees_lost_to_refunds_usd"] == 0
    < r["chasers"]["m"]["fees_lost_to_refunds_usd"] < r["chasers"]["m"]["refunds_usd"],
    "top20_earnings_share": lambda r: 0.2 < r[H]["m"]["top20_earnings_share"] <= 1,
    "top10_earnings_share": lambda r: 0.1 < r[H]["m"]["top10_earnings_share"]
    < r[H]["m"]["top20_earnings_share"],
    "gini_jobs": lambda r: r[H]["m"]["gini_jobs"] > r[H]["m"]["random_allocation_gini_jobs"],
    "gini_earnings": lambda r: 0 < r[H]["m"]["gini_earnings"] < 1,
    "random_allocation_gini_jobs": lambda r: 0 < r[H]["m"]["random_allocation_gini_jobs"]
    < r[H]["m"]["gini_jobs"],
    "never_hired_share": lambda r: 0 <= r[H]["m"]["never_hired_share"] < 1,
    "spearman_quality_jobs": lambda r: r[H]["m"]["spearman_quality_jobs"] > 0,
    # weeks from entry to a first hire: positive (no one is hired before entering)
    # (Kaplan-Meier median: NaN when fewer than half the newcomers are hired in a small run)
    "first_hire_weeks_median": lambda r: math.isnan(r[H]["m"]["first_hire_weeks_median"])
    or r[H]["m"]["first_hire_weeks_median"] >= r[H]["m"]["first_hire_weeks_median_hired"] > 0,
    "first_hire_weeks_median_hired": lambda r: 0 < r[H]["m"]["first_hire_weeks_median_hired"]
    < 120,
    "newcomer_never_hired_share": lambda r: 0 <= r[H]["m"]["newcomer_never_hired_share"] < 1,
    "jss_drop_after_one_negative": lambda r: r[H]["m"]["jss_drop_after_one_negative"] > 0,
    # one negative weighs more in a short history than in a long one
    "jss_drop_after_one_negative_2_4": lambda r: r[H]["m"]["jss_drop_after_one_negative_2_4"]
    > r[H]["m"]["jss_drop_after_one_negative_5_9"] > 0,
    "jss_drop_after_one_negative_5_9": lambda r: r[H]["m"]["jss_drop_after_one_negative_5_9"]
    > r[H]["m"]["jss_drop_after_one_negative_10_19"] > 0,
    "jss_drop_after_one_negative_10_19": lambda r: r[H]["m"][
        "jss_drop_after_one_negative_10_19"] > 0,
    "jss_drop_after_one_negative_20plus": lambda r: math.isnan(r[H]["m"][
        "jss_drop_after_one_negative_20plus"]) or r[H]["m"][
        "jss_drop_after_one_negative_20plus"] > 0,
}


def test_every_summary_metric_has_a_known_sign_check():
    assert set(SUMMARY) == set(METRIC_NAMES)


@pytest.mark.parametrize("metric", sorted(SUMMARY))
def test_summary_metric_has_its_known_sign(runs, metric):
    assert SUMMARY[metric](runs), {name: r["m"][metric] for name, r in runs.items()}
