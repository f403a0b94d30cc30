"""Known signs: every weekly series and every summary metric, in a world where its sign is known.

Seven small module-scoped runs, each built so that a direction is known:

* ``honest``: honest raters, widely varying quality, no chasers: the score must track quality,
  and no client deserves a flag;
* ``chasers``: honest raters, many honest clients unhappy (lower mean quality), chasers whose
  offers move honest clients' satisfaction: chasing must pay (issue 11);
* ``liars``: a fifth of clients dishonest, flagging on, some chasers: lying-client events, flags
  with errors and delays, offers going to clients who only look unhappy;
* ``lenient`` versus ``harsh`` (flagging off): a direction is known for every score level;
* ``budget``: frequent budget-shortfall ends that leave a strongly negative private shift, and a
  market running on the Bayesian score (so ``<metric>_market`` must be the ``_bayes`` column);
* ``drift``: honest raters with strong standards drift (stars below the ceiling), a fixed
  population and no silence.

Each run lasts 151 weeks, so its final week (150) is a JSS update week: the JSS in the final
snapshot is the one a fresh scoring at that week gives, and the counterfactual-score metrics'
``_jss`` columns must repeat the JSS metrics exactly. Each check states the sign, order or
identity the metric must have, so a flipped sign, a swapped ratio or a metric computed on the
wrong group fails. Two guards make sure no weekly column or summary metric goes without a check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from mutmut_hits import record_hits, replay_hits

from marketplace.analysis.metrics import METRIC_NAMES, run_metrics
from marketplace.analysis.policy import POLICY_BASES, SCORE_KEYS
from marketplace.model import ModelParams, simulate
from marketplace.model.outputs import TIMESERIES_COLUMNS

BASE = {"n_freelancers": 1000, "weeks": 151, "burn_in_weeks": 45,
        "freelancers.quality": {"kind": "uniform", "low": 0.05, "high": 0.95},
        "freelancers.chaser_share": 0.0}
HONEST = {"honest": 1.0, "lenient": 0.0, "harsh": 0.0, "dishonest": 0.0}
WORLDS = {
    # 1,500 freelancers where a metric needs many scored freelancers (bands of history length,
    # freelancers at 88-92, chaser premium, lying-client events)
    "honest": {"clients.rater_mix": HONEST, "n_freelancers": 1500},
    "chasers": {"clients.rater_mix": HONEST, "n_freelancers": 1500,
                "freelancers.quality": {"kind": "beta", "a": 2.0, "b": 2.0},
                "freelancers.chaser_share": 0.5, "freelancers.chase_accept_prob": 1.0,
                "freelancers.chase_satisfaction_boost": 0.5},
    "liars": {"clients.rater_mix": {"honest": 0.8, "lenient": 0.0, "harsh": 0.0,
                                    "dishonest": 0.2},
              "freelancers.chaser_share": 0.3, "n_freelancers": 1500},
    "lenient": {"clients.rater_mix": {"honest": 0.0, "lenient": 1.0, "harsh": 0.0,
                                      "dishonest": 0.0}},
    "harsh": {"clients.rater_mix": {"honest": 0.5, "lenient": 0.0, "harsh": 0.5,
                                    "dishonest": 0.0}, "platform.flag_clients": False},
    "budget": {"clients.budget_shortfall_rate": 0.08, "clients.budget_end_feedback_prob": 0.9,
               "clients.budget_end_private_shift": -4.0, "platform.score": "bayes"},
    # full marks only for perfect work, so public stars sit well below the 5-star ceiling and
    # the drift shows
    "drift": {"clients.rater_mix": HONEST, "clients.public_inflation_stars_per_year": 0.5,
              "clients.public_full_marks": 1.0,
              "freelancers.entry_rate_per_week": 0.0, "freelancers.exit_prob_per_week": 0.0,
              # nobody is silent: excluding silent contracts changes no one's JSS
              "clients.feedback_prob_happy": 1.0, "clients.feedback_prob_slope": 0.0,
              "clients.budget_end_feedback_prob": 1.0},
}


def _make_runs():
    out = {}
    for name, overrides in WORLDS.items():
        p = ModelParams().with_overrides({**BASE, **overrides})
        o = simulate(p, seed=4, snapshot_every_weeks=0)
        metrics, _ = run_metrics(o, p, sample_rows=10)
        late = o.timeseries[o.timeseries.week >= p.burn_in_weeks]
        out[name] = {"out": o, "m": metrics, "w": late.mean(numeric_only=True), "p": p}
    return out


@pytest.fixture(scope="module")
def _made_once():
    return {}


@pytest.fixture
def runs(request, _made_once):
    """The worlds' runs, made once per module; for mutmut every test reading them made them
    (tests/mutmut_hits.py)."""
    if not _made_once:
        _made_once["runs"], _made_once["calls"] = record_hits(_make_runs,
                                                              test_id=request.node.nodeid)
    replay_hits(_made_once["calls"])
    return _made_once["runs"]


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


def _band_gap(r):
    """Mean true quality at JSS [90, 95) minus [85, 90), active freelancers, final snapshot."""
    f = r["out"].final_freelancers
    f = f.loc[f["active"] & f["jss"].notna()]
    upper = f.loc[(f["jss"] >= 90) & (f["jss"] < 95), "true_quality"]
    lower = f.loc[(f["jss"] >= 85) & (f["jss"] < 90), "true_quality"]
    return float(upper.mean() - lower.mean())


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
    # no sign is known for a 5-point band in a small world (the committed threshold_validity
    # gives +0.019 at 20,000 freelancers x 40 seeds): check the value against its definition
    "quality_gap_90": lambda r: r[H]["m"]["quality_gap_90"] == pytest.approx(_band_gap(r[H])),
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
    # One negative weighs more in a short history than in a long one. The band means also
    # depend on the JSS level (a negative cannot pull a JSS of 0 lower), and short histories
    # that stay short are often the poorly rated ones, so the order needs enough freelancers
    # per band (a 500-freelancer, 120-week run had 6 in 2-4, at a mean JSS of 28, and the order
    # flipped). In the lenient world every JSS is 100, so there the order is pure arithmetic.
    "jss_drop_after_one_negative_2_4": lambda r: all(
        r[w]["m"]["jss_drop_after_one_negative_2_4"]
        > r[w]["m"]["jss_drop_after_one_negative_5_9"] > 0 for w in (H, "lenient")),
    "jss_drop_after_one_negative_5_9": lambda r: r[H]["m"]["jss_drop_after_one_negative_5_9"]
    > r[H]["m"]["jss_drop_after_one_negative_10_19"] > 0,
    "jss_drop_after_one_negative_10_19": lambda r: r[H]["m"][
        "jss_drop_after_one_negative_10_19"] > 0,
    "jss_drop_after_one_negative_20plus": lambda r: math.isnan(r[H]["m"][
        "jss_drop_after_one_negative_20plus"]) or r[H]["m"][
        "jss_drop_after_one_negative_20plus"] > 0,
}


# --- issue 12: within-run standard errors
SUMMARY.update({
    "quality_gap_90_se": lambda r: 0 < r[H]["m"]["quality_gap_90_se"] < 0.5,
    "p_above_beats_below_90_se": lambda r: 0 < r[H]["m"]["p_above_beats_below_90_se"] < 0.5,
})


# --- issue 14: the same metrics for every alternative score (marketplace.analysis.policy)
def _finite(x):
    return not math.isnan(x)


def _newcomer_jss(run):
    """Final-snapshot JSS of the active freelancers who entered after the burn-in."""
    f = run["out"].freelancers
    final = f[(f.week == f.week.max()) & f.active.astype(bool)]
    return final.loc[final.entry_week > run["p"].burn_in_weeks, "jss"].astype(float)


def _policy(base, k):
    """Known sign of `<base>_<k>` (k a score key)."""
    name = f"{base}_{k}"

    def check(r):
        m = {w: r[w]["m"] for w in r}
        if base == "spearman_quality":  # every score tracks quality when raters are honest
            ok = m[H][name] > 0.3
            return ok and (k != "jss" or m[H][name] == pytest.approx(
                m[H]["spearman_jss_quality"]))
        if base == "auc_top_quartile":
            ok = m[H][name] > 0.6
            return ok and (k != "jss" or m[H][name] == pytest.approx(m[H]["auc_top_quartile"]))
        if base == "cutoff":  # a score on the 0-100 scale; the JSS's own cut-off is 90
            values = [m[w][name] for w in m]
            return all(0 <= v <= 100 for v in values) and (k != "jss" or values == [90.0] * len(
                values))
        if base == "p_above_beats_below":  # a probability; the JSS's own equals the 90 metric
            ok = all(math.isnan(m[w][name]) or 0 <= m[w][name] <= 1 for w in m) and _finite(
                m[H][name])
            return ok and (k != "jss" or m[H][name] == pytest.approx(
                m[H]["p_above_beats_below_90"]))
        if base == "drop_one_liar":
            # a negative lowers every score; with no dishonest client (honest world) the "liar"
            # is an unknown new client, so the JSS drop is the one-negative drop; only the
            # debiased score discounts a known liar's negative
            # (on average: under the documented best-of-windows rule one more outcome can make a
            # short window eligible whose score is higher, so a mean drop can dip just below 0)
            ok = all(m[w][name] >= -0.5 for w in m if _finite(m[w][name])) and m[H][name] > 0
            if k == "jss":
                ok = ok and m[H][name] == pytest.approx(m[H]["jss_drop_after_one_negative"])
            if k == "debiased":
                ok = ok and m["liars"][name] < 0.75 * m[H][name]
            return ok
        if base == "newcomers_visible":
            ok = all(0 < m[w][name] <= 1 for w in m if w != "drift") and math.isnan(
                m["drift"][name])  # no entry in the drift world: no newcomers
            return ok and (k != "jss" or all(m[w][name] == pytest.approx(
                _newcomer_jss(r[w]).notna().mean()) for w in m if w != "drift"))
        if base == "newcomers_admitted":  # admitted ones are visible ones
            vis = f"newcomers_visible_{k}"
            ok = all(0 <= m[w][name] <= m[w][vis] for w in m if w != "drift")
            return ok and (k != "jss" or all(m[w][name] == pytest.approx(
                (_newcomer_jss(r[w]) >= 90).mean()) for w in m if w != "drift"))
        if base == "volatility":  # everyone at 100 in the lenient world: the JSS hardly moves
            ok = all(m[w][name] >= 0 for w in m) and m[H][name] > 0
            return ok and (k != "jss" or m["lenient"][name] < 0.5 * m[H][name])
        raise AssertionError(f"no known sign for {name}")

    return check


def _market(base):
    """`<base>_market` repeats the column of the score the market ran on."""
    def check(r):
        ok = True
        for w in r:
            key = r[w]["p"].platform.score.replace("-", "_")
            a, b = r[w]["m"][f"{base}_market"], r[w]["m"][f"{base}_{key}"]
            ok = ok and (a == b or (math.isnan(a) and math.isnan(b)))
        return ok and r["budget"]["p"].platform.score == "bayes"

    return check


SUMMARY.update({f"{base}_{k}": _policy(base, k) for base in POLICY_BASES for k in SCORE_KEYS})
SUMMARY.update({f"{base}_market": _market(base) for base in POLICY_BASES if base != "cutoff"})
# fees are charged on earnings (net of refunded fees): positive, and the period sum of the weekly
# series
SUMMARY["platform_fees_usd"] = lambda r: all(0 < r[w]["m"]["platform_fees_usd"] == pytest.approx(
    r[w]["out"].timeseries.loc[r[w]["out"].timeseries.week >= r[w]["p"].burn_in_weeks,
                               "platform_fees_usd"].sum()) for w in r)


# --- issue 13: stylized-fact metrics (marketplace/analysis/facts.py)
def _m(r, world, name):
    return r[world]["m"][name]


SUMMARY.update({
    # Top Rated Plus is a subset of Top Rated; lenient raters make it commoner than harsh ones
    "share_top_rated_plus": lambda r: all(
        0 <= _m(r, w, "share_top_rated_plus") <= _m(r, w, "share_top_rated") for w in r)
    and _m(r, "harsh", "share_top_rated_plus") < _m(r, "lenient", "share_top_rated_plus"),
    # direct rehires (rehire_prob > 0) add hires without proposals
    "hires_per_proposal_excl_rehires": lambda r: 0 < _m(r, H, "hires_per_proposal_excl_rehires")
    < _m(r, H, "hires_per_proposal"),
    # clients filter and weigh on reviews and the JSS: reviewed freelancers are hired more
    "hire_rate_ratio_reviewed_vs_none": lambda r: _m(r, H, "hire_rate_ratio_reviewed_vs_none")
    > 1,
    "top20_earnings_share_earners": lambda r: all(
        0.2 < _m(r, w, "top20_earnings_share_earners") <= 1 for w in r),
    # strong standards drift with the same freelancers: most of the rise in stars is inflation
    "inflation_share_of_rating_rise": lambda r: 0.5 < _m(r, "drift",
                                                          "inflation_share_of_rating_rise") < 1.5,
    # no silent contract in the drift world: excluding them changes nothing; silence elsewhere
    "silence_lift_gradient": lambda r: _m(r, "drift", "silence_lift_gradient") == 0
    and _m(r, H, "silence_lift_gradient") != 0,
    # the engine keeps every documented limit, with refunds (chasers), flags (liars) and budget
    # ends
    "gaming_limit_violations": lambda r: all(_m(r, w, "gaming_limit_violations") == 0
                                             for w in r),
})


# --- issue 11: the forum thread's forces
def _ols_slope_per_year(r, world, column):
    ts = r[world]["out"].timeseries
    late = ts.loc[ts.week >= r[world]["p"].burn_in_weeks, ["week", column]].dropna()
    return float(np.polyfit(late.week / 52.0, late[column], 1)[0])


def _drift(name, column):
    # the slope of the weekly series over the analysed period (the HAC errors change only the
    # SE), in worlds where it rises and where it falls
    def check(r):
        ok = all(_m(r, w, name) == pytest.approx(_ols_slope_per_year(r, w, column), abs=1e-9)
                 for w in r)
        return ok and min(_m(r, w, name) for w in r) < 0 < max(_m(r, w, name) for w in r)

    return check


SUMMARY.update({
    # offers move honest clients' satisfaction: chasers beat honest freelancers of equal quality
    # (by more than one SE: over seeds 4-7 this world gives +8 to +16 points, SE 3-4.5; the 95%
    # CI above 0 is asserted in tests/test_model_forces.py)
    "chaser_jss_premium": lambda r: _m(r, "chasers", "chaser_jss_premium")
    - _m(r, "chasers", "chaser_jss_premium_se") > 0
    and math.isnan(_m(r, H, "chaser_jss_premium")),  # no chasers: no premium
    "chaser_jss_premium_se": lambda r: 0 < _m(r, "chasers", "chaser_jss_premium_se")
    < _m(r, "chasers", "chaser_jss_premium"),
    # a share difference; chasers avoid negatives, so they are not significantly less often at 100
    "chaser_share100_premium": lambda r: -1 <= _m(r, "chasers", "chaser_share100_premium") <= 1
    and _m(r, "chasers", "chaser_share100_premium")
    + 1.96 * _m(r, "chasers", "chaser_share100_premium_se") > 0,
    "chaser_share100_premium_se": lambda r: 0 < _m(r, "chasers", "chaser_share100_premium_se")
    < 0.5,
    "chase_offers_per_contract": lambda r: 0 < _m(r, "chasers", "chase_offers_per_contract") < 1
    and math.isnan(_m(r, H, "chase_offers_per_contract")),
    # only honest clients in the chasers world; with liars, threats make dishonest clients look
    # unhappy, so they get far more than their 20% share of offers
    "chase_offer_share_to_honest": lambda r: _m(r, "chasers", "chase_offer_share_to_honest") == 1
    and 0 < _m(r, "liars", "chase_offer_share_to_honest") < 0.8,
    "negatives_avoided_per_chaser": lambda r: _m(r, "chasers", "negatives_avoided_per_chaser")
    > 0,
    "refund_usd_per_point_gained": lambda r: _m(r, "chasers", "refund_usd_per_point_gained") > 0,
    # lying clients exist only in the liars (and default-mix budget) worlds
    "lying_client_events": lambda r: _m(r, "liars", "lying_client_events") > 10
    and _m(r, H, "lying_client_events") == 0 == _m(r, "chasers", "lying_client_events"),
    "lying_client_drop_median": lambda r: _m(r, "liars", "lying_client_drop_median") > 0,
    "lying_client_below_90_share": lambda r: 0 < _m(r, "liars", "lying_client_below_90_share")
    <= 1,
    "lying_client_recovery_weeks_median": lambda r: _m(
        r, "liars", "lying_client_recovery_weeks_median") > 0,
    # no harsh or dishonest client in the honest world: any flag there is a false positive
    "flag_precision": lambda r: 0 < _m(r, "liars", "flag_precision") <= 1
    and (math.isnan(_m(r, H, "flag_precision")) or _m(r, H, "flag_precision") == 0),
    # flags from behaviour miss some liars; with flagging off (harsh world) nobody is flagged
    "flag_recall": lambda r: 0 < _m(r, "liars", "flag_recall") < 1
    and _m(r, "harsh", "flag_recall") == 0 and math.isnan(_m(r, H, "flag_recall")),
    "flag_delay_weeks_median": lambda r: _m(r, "liars", "flag_delay_weeks_median") > 0,
    # budget ends are 8% a week in the budget world and leave a private score 4 points lower
    "budget_end_share": lambda r: 0 < _m(r, H, "budget_end_share")
    < _m(r, "budget", "budget_end_share") < 1,
    "budget_end_negative_share": lambda r: 0 <= _m(r, H, "budget_end_negative_share")
    < _m(r, "budget", "budget_end_negative_share") <= 1,
    "budget_end_jss_effect": lambda r: _m(r, "budget", "budget_end_jss_effect")
    < min(-5.0, _m(r, H, "budget_end_jss_effect")),
    "drift_share_jss_ge_90_per_year": _drift("drift_share_jss_ge_90_per_year",
                                             "share_jss_ge_90"),
    "drift_spearman_per_year": _drift("drift_spearman_per_year", "spearman_jss_quality"),
    "drift_share_jss_ge_90_per_year_se": lambda r: all(
        0 < _m(r, w, "drift_share_jss_ge_90_per_year_se") < 0.5 for w in r),
    "drift_spearman_per_year_se": lambda r: all(
        0 < _m(r, w, "drift_spearman_per_year_se") < 0.5 for w in r),
})

def test_every_summary_metric_has_a_known_sign_check():
    assert set(SUMMARY) == set(METRIC_NAMES)


@pytest.mark.parametrize("metric", sorted(SUMMARY))
def test_summary_metric_has_its_known_sign(runs, metric):
    assert SUMMARY[metric](runs), {name: r["m"][metric] for name, r in runs.items()}
