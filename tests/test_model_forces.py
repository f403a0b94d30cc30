"""The forum thread's forces emerge from behaviour (issue 11), in small controlled worlds.

Each test builds a world where a force must (or must not) show and checks the run-summary metric
that measures it (marketplace.analysis.metrics), so both the behaviour and the metric are tested.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from marketplace.analysis.metrics import run_metrics
from marketplace.model import ModelParams
from marketplace.model.model import simulate

SMALL = {"n_freelancers": 800, "weeks": 120, "burn_in_weeks": 40}


def _metrics(overrides: dict, seed: int = 1) -> tuple[dict, object]:
    out = simulate(ModelParams().with_overrides({**SMALL, **overrides}), seed=seed)
    return run_metrics(out)[0], out


def test_unhappy_is_one_definition_harsh_clients_are_not_always_unhappy():
    """A chaser offers on what it observes of satisfaction, not on the client's type: with a
    noiseless signal every offer goes to a contract whose honest private score is negative."""
    _, out = _metrics({"freelancers.chase_signal_noise_sd": 0.0,
                       "clients.dishonest_threat_prob": 0.0, "freelancers.chaser_share": 0.5})
    ct = out.contracts[out.contracts.end_week.notna()]
    offered = ct.chase_action.astype(str) != ""
    assert offered.sum() > 20
    private_if_honest = np.clip(np.rint(10 * ct.satisfaction_before_chase + 1.0), 0, 10)
    assert (private_if_honest[offered] <= 6).all()
    rater = ct.client_id.map(out.clients.set_index("client_id").rater_type.astype(str))
    harsh = rater == "harsh"
    # harsh clients get offers only when they are unhappy, not always
    assert (offered & harsh).sum() < 0.5 * harsh.sum()


def test_chasing_pays_where_honest_unhappy_clients_are_common_and_offers_move_them():
    # one small run has ~130 scored freelancers and a premium SE of ~3.5 points: pool 3 seeds
    # (inverse-variance weights) so the test asks about the mechanism, not one draw
    world = {"freelancers.quality.a": 2.0, "freelancers.quality.b": 2.0,
             "freelancers.chaser_share": 0.5, "freelancers.chase_accept_prob": 1.0,
             "freelancers.chase_satisfaction_boost": 0.5, "clients.rater_mix.honest": 1.0,
             "n_freelancers": 2000, "weeks": 160, "burn_in_weeks": 60}
    premiums, weights = [], []
    for seed in (3, 4, 5):
        m, _ = _metrics(world, seed=seed)
        assert m["chase_offer_share_to_honest"] == 1.0
        assert m["negatives_avoided_per_chaser"] > 0
        premiums.append(m["chaser_jss_premium"])
        weights.append(1.0 / m["chaser_jss_premium_se"] ** 2)
    pooled = sum(w * x for w, x in zip(weights, premiums, strict=True)) / sum(weights)
    pooled_se = sum(weights) ** -0.5
    assert pooled - 1.96 * pooled_se > 0, (premiums, pooled, pooled_se)
    assert m["refund_usd_per_point_gained"] > 0


def test_offers_that_move_no_one_avoid_no_negative_and_act_only_through_the_rules():
    """With no satisfaction boost an accepted offer changes no client's private score: no
    negative is avoided, and every accepted offer on a contract with a negative private score still
    counts as negative (a refund hides the stars only). Chasing can still lift a JSS here, through
    the documented rules alone: a full refund leaves $0 of earnings, so a neutral or better outcome
    is excluded ($0 contracts with non-negative feedback do not count) and a negative weighs 1.
    The premium is therefore not asserted to be zero (it was, by luck of one seed, before the
    recalibration; one run's SE is about 5 points)."""
    m, out = _metrics({"freelancers.quality.a": 2.0, "freelancers.quality.b": 2.0,
                       "freelancers.chaser_share": 0.5, "freelancers.chase_accept_prob": 1.0,
                       "freelancers.chase_satisfaction_boost": 0.0,
                       "clients.rater_mix.honest": 1.0, "n_freelancers": 1500}, seed=3)
    assert m["negatives_avoided_per_chaser"] == 0
    ct = out.contracts[out.contracts.end_week.notna()]
    accepted = ct.chase_accepted.astype(bool)
    assert accepted.sum() > 20
    counted = ~ct.exclusion_reason.astype(str).isin(["removed", "no_feedback"])
    negative_private = ct.private_score <= 6
    outcome = ct.outcome.astype(str)
    assert (accepted & negative_private & counted).sum() > 5
    assert (outcome[accepted & negative_private & counted] == "negative").all()
    full_refund = accepted & (ct.chase_action.astype(str) == "full_refund")
    zero_non_negative = full_refund & (ct.private_score >= 7) & counted
    assert (ct.earnings_usd[full_refund] == 0).all()
    assert zero_non_negative.sum() >= 1
    assert (ct.exclusion_reason.astype(str)[zero_non_negative] == "zero_earnings").all()
    assert (ct.weight[full_refund & negative_private & counted] == 1.0).all()


def test_few_flags_without_harsh_or_dishonest_clients():
    m, out = _metrics({"clients.rater_mix.honest": 0.9, "clients.rater_mix.lenient": 0.1,
                       "clients.rater_mix.harsh": 0.0, "clients.rater_mix.dishonest": 0.0})
    flagged_share = out.clients.flagged.mean()
    assert math.isnan(m["flag_precision"]) or flagged_share <= 0.01
    assert math.isnan(m["flag_recall"])  # no harsh or dishonest client to find


def test_flags_from_behaviour_are_imperfect_and_late():
    m, out = _metrics({"clients.rater_mix.dishonest": 0.2})
    assert 0 < m["flag_recall"] < 1
    assert m["flag_delay_weeks_median"] > 0
    assert 0 < m["flag_precision"] <= 1
    # freelancers rate what clients did: dishonest clients' ratings overlap honest ones
    ct = out.contracts[out.contracts.end_week.notna()]
    rater = ct.client_id.map(out.clients.set_index("client_id").rater_type.astype(str))
    dishonest = ct.client_rating_by_freelancer[rater == "dishonest"]
    assert (dishonest >= 4).mean() > 0.1  # a lying client often looks fine


def test_lying_client_events_are_counted_with_their_drop():
    m, _ = _metrics({"clients.rater_mix.dishonest": 0.2, "n_freelancers": 1200})
    assert m["lying_client_events"] > 0
    assert m["lying_client_drop_median"] > 0


@pytest.mark.parametrize("seed", [1, 2])
def test_budget_ends_with_zero_shift_change_nothing_and_a_negative_shift_hurts(seed):
    base = {"clients.budget_shortfall_rate": 0.08, "clients.budget_end_feedback_prob": 0.9}
    zero, out = _metrics({**base, "clients.budget_end_private_shift": 0.0}, seed=seed)
    neg, _ = _metrics({**base, "clients.budget_end_private_shift": -4.0}, seed=seed)
    assert zero["budget_end_share"] > 0.2
    # zero shift: budget ends are not negative more often than other ends and do not lower the
    # JSS of those they hit (leaving them out moves it by noise only)
    ct = out.contracts[out.contracts.end_week.notna() & (out.contracts.end_week >= 40)]
    other = ~ct.early_end_cause.astype(str).isin(["budget_shortfall", "change_of_direction"])
    other_negative = (ct.outcome[other].astype(str) == "negative").mean()
    assert zero["budget_end_negative_share"] <= other_negative + 0.02
    assert zero["budget_end_jss_effect"] > -1.0
    assert neg["budget_end_jss_effect"] < -10.0
    assert neg["budget_end_negative_share"] > zero["budget_end_negative_share"] + 0.2


def test_drift_slopes_are_reported_with_a_standard_error():
    m, _ = _metrics({})
    for name in ("drift_share_jss_ge_90_per_year", "drift_spearman_per_year"):
        assert np.isfinite(m[name]) and m[f"{name}_se"] > 0


@pytest.mark.slow
def test_default_analysed_period_is_in_steady_state():
    """Under the default burn-in, both drift slopes' 95% CIs reach within +-0.02 a year (the
    committed threshold_validity, 20,000 freelancers x 40 seeds: +0.015 and -0.017 a year)."""
    # a small market drifts more (at 1,500 freelancers Spearman falls ~0.05 a year): 5,000
    p = ModelParams(n_freelancers=5000)  # default weeks and burn-in
    m = run_metrics(simulate(p, seed=1, keep_contracts=False))[0]
    for name in ("drift_share_jss_ge_90_per_year", "drift_spearman_per_year"):
        low = m[name] - 1.96 * m[f"{name}_se"]
        high = m[name] + 1.96 * m[f"{name}_se"]
        assert low <= 0.02 and high >= -0.02, (name, m[name], m[f"{name}_se"])


def test_standards_drift_raises_public_stars_over_time_with_quality_fixed():
    """Same seed with and without drift: the same work (true quality fixed, no entry or exit),
    and the stars that drift adds grow with time. Quality is middling (Beta(2, 2)) so that the
    5-star ceiling does not swallow the drift: at the defaults most ratings are already 5."""
    def stars_by_period(drift: float) -> tuple[float, float]:
        out = simulate(ModelParams().with_overrides({
            **SMALL, "clients.public_inflation_stars_per_year": drift,
            "freelancers.entry_rate_per_week": 0.0, "freelancers.exit_prob_per_week": 0.0,
            "freelancers.quality.a": 2.0, "freelancers.quality.b": 2.0}), seed=4)
        ct = out.contracts[out.contracts.end_week.notna() & out.contracts.public_stars.notna()]
        early = ct.public_stars[ct.end_week.astype(int) < 60].mean()
        late = ct.public_stars[ct.end_week.astype(int) >= 90].mean()
        return early, late

    early_0, late_0 = stars_by_period(0.0)
    early_d, late_d = stars_by_period(0.5)
    assert early_d > early_0
    assert late_d - late_0 > (early_d - early_0) + 0.025


def _silent_share_by_quartile(out) -> pd.Series:
    ct = out.contracts[out.contracts.end_week.notna()
                       & (out.contracts.early_end_cause.astype(str) == "")]
    q = ct.freelancer_id.map(out.final_freelancers.set_index("freelancer_id").true_quality)
    quartile = pd.qcut(q, 4, labels=False)
    return ct.private_score.isna().groupby(quartile).mean()


def test_satisfaction_dependent_silence_hides_more_of_low_quality_work():
    base = {"clients.rater_mix.honest": 1.0, "freelancers.quality.a": 2.0,
            "freelancers.quality.b": 2.0, "clients.feedback_prob_slope": 2.0}
    cont = simulate(ModelParams().with_overrides({**SMALL, **base, "clients.silence":
                                                  "continuous"}), seed=5)
    flat = simulate(ModelParams().with_overrides({**SMALL, **base, "clients.silence": "continuous",
                                                  "clients.feedback_prob_slope": 0.0}), seed=5)
    s_cont, s_flat = _silent_share_by_quartile(cont), _silent_share_by_quartile(flat)
    # excluding silent contracts lifts the bottom quartile most when silence follows satisfaction:
    # the bottom-minus-top gap in silent shares is larger than with silence flat in satisfaction
    # (flat silence still has a small gap of its own: budget ends and rehires differ by quality)
    gap_cont = s_cont.iloc[0] - s_cont.iloc[-1]
    gap_flat = s_flat.iloc[0] - s_flat.iloc[-1]
    assert gap_cont > 0.03
    assert gap_cont - gap_flat > 0.03, (gap_cont, gap_flat)
