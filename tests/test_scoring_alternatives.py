"""Known answers, bounds and properties of the alternative scores (issue 14)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.scoring import (
    AlternativeRules,
    Outcome,
    alternative_scores,
    client_rating_weights,
    client_reputation_scores,
    get_rules,
    job_success_scores,
    to_jss_scale,
)
from marketplace.scoring.alternatives import beta_lower_bound, wilson_lower_bound
from marketplace.scoring.outcomes import R_NO_FEEDBACK, R_PRIVATE

S, U, X, E = int(Outcome.SUCCESS), int(Outcome.NEUTRAL), int(Outcome.NEGATIVE), \
    int(Outcome.EXCLUDED)
WEEK = 100.0


def rules(**alt):
    return get_rules("upwork-2023", alternatives=AlternativeRules(**alt))


def score_one(outcomes, *, reasons=None, private=None, clients=None, rs=None, weights=None):
    """Scores of one freelancer (index 0) whose contracts ended at WEEK - 1."""
    k = len(outcomes)
    return alternative_scores(
        np.zeros(k, np.int64), np.arange(k) if clients is None else np.asarray(clients),
        np.full(k, WEEK - 1), np.asarray(outcomes, np.int8),
        np.ones(k) if weights is None else np.asarray(weights, float), week=WEEK,
        n_freelancers=1, rules=rs or rules(bayes_prior_mean=0.8),
        reason=None if reasons is None else np.asarray(reasons, np.int8),
        private_score=None if private is None else np.asarray(private, float))


# --------------------------------------------------------------- known answers (hand-computed)


def test_bayes_posterior_mean_and_lower_bound_by_hand():
    # prior Beta(0.8 x 4, 0.2 x 4) = Beta(3.2, 0.8); 3 successes, 1 negative -> Beta(6.2, 1.8)
    r = score_one([S, S, S, X])
    assert r.bayes_mean[0] == pytest.approx(6.2 / 8.0)
    from scipy.stats import beta

    assert r.bayes_lower[0] == pytest.approx(beta.ppf(0.05, 6.2, 1.8))
    assert r.score("bayes")[0] == pytest.approx(100 * 6.2 / 8.0)
    assert r.n_outcomes[0] == 4


def test_wilson_lower_bound_by_hand():
    # 8 of 10, z = 1.6449: (0.8 + z^2/20 - z sqrt(0.016 + z^2/400)) / (1 + z^2/10)
    z = 1.6448536269514722
    expect = (0.8 + z * z / 20 - z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400)) / (1 + z * z / 10)
    assert wilson_lower_bound(8, 10, 0.95) == pytest.approx(expect)
    r = score_one([S] * 8 + [X, U])
    assert r.wilson_lower[0] == pytest.approx(expect)
    assert np.isnan(wilson_lower_bound(0, 0, 0.95))


def test_epp_counts_silent_contracts_in_the_denominator():
    # 3 successes, 1 neutral, 2 without feedback: EPP = 3 / 6; JSS-style success share 3 / 4
    out = [S, S, S, U, E, E]
    reasons = [R_PRIVATE] * 4 + [R_NO_FEEDBACK] * 2
    r = score_one(out, reasons=reasons)
    assert r.epp[0] == pytest.approx(0.5)
    assert r.n_contracts[0] == 6 and r.n_outcomes[0] == 4
    assert score_one(out).epp[0] == pytest.approx(0.75)  # no reasons: silence unknown


def test_jss_interval_contains_the_jss_and_narrows_with_history():
    short = score_one([S, S])
    long = score_one([S] * 40, clients=np.arange(40))
    for r in (short, long):
        assert r.jss_low[0] <= r.jss[0] <= r.jss_high[0]
    assert short.jss[0] == long.jss[0] == 100
    assert (100 - long.jss_low[0]) < (100 - short.jss_low[0])
    assert short.score("jss-interval")[0] == short.jss_low[0]


def test_debiased_equals_success_share_when_every_client_weighs_one():
    r = score_one([S, S, X, U])
    assert r.debiased[0] == pytest.approx(0.5)


def test_client_weights_by_hand():
    # freelancers 0 and 1 each get 9 from client 0 and 9 from client 1; client 2 gives 0 to both
    f = np.array([0, 0, 0, 1, 1, 1])
    c = np.array([0, 1, 2, 0, 1, 2])
    x = np.array([9, 9, 0, 9, 9, 0], float)
    alt = AlternativeRules(debias_rounds=1)
    w = client_rating_weights(f, c, x, n_clients=3, alt=alt)
    # client 0: deviations 9 - mean(9, 0) = 4.5 twice -> v = (2 x 20.25 + 3 x 2.25) / 5 = 9.45
    v0 = (2 * 20.25 + 3 * 2.25) / 5
    assert w[0] == pytest.approx(1 / (1 + (v0 - 2.25) / 4))
    # client 2: 0 - 9 = -9 twice -> v = (2 x 81 + 6.75) / 5
    v2 = (2 * 81 + 3 * 2.25) / 5
    assert w[2] == pytest.approx(1 / (1 + (v2 - 2.25) / 4))
    assert w[2] < w[0]
    # per contract: a client judged without its own freelancer
    wc = client_rating_weights(f, c, x, n_clients=3, alt=alt, per_contract=True)
    v2_loo = (81 + 3 * 2.25) / 4
    assert wc[2] == pytest.approx(1 / (1 + (v2_loo - 2.25) / 4))


def test_client_reputation_score_by_hand():
    # ratings: client 0 five 5-star ratings, client 1 none; market mean 5 -> both at 1.0
    s = client_reputation_scores([25.0, 0.0], [5, 0])
    assert s == pytest.approx([1.0, 1.0])
    # client 0 one 1-star, client 1 three 5-star: market mean 4; k = 3
    s = client_reputation_scores([1.0, 15.0], [1, 3])
    assert s[0] == pytest.approx(((1 + 3 * 4) / 4 - 1) / 4)
    assert s[1] == pytest.approx(((15 + 3 * 4) / 6 - 1) / 4)


def test_visibility_and_jss_match_the_engine():
    r = score_one([S])
    assert np.isnan(r.jss[0]) and np.isnan(r.score("jss-interval")[0])  # 1 outcome: no JSS
    assert not np.isnan(r.score("bayes")[0])  # shown from 1 outcome
    none = score_one([E], reasons=[R_NO_FEEDBACK])
    assert np.isnan(none.score("bayes")[0]) and np.isnan(none.score("wilson")[0])
    assert none.score("epp")[0] == 0.0  # one silent contract: shown, nothing positive
    f = np.array([0, 0, 0, 1, 1]); c = np.array([0, 1, 2, 3, 4])  # noqa: E702
    out = np.array([S, X, S, S, U], np.int8)
    end = np.full(5, 50.0)
    jss = job_success_scores(f, c, end, out, np.ones(5), week=WEEK, n_freelancers=2,
                             rules=rules())
    alt = alternative_scores(f, c, end, out, np.ones(5), week=WEEK, n_freelancers=2,
                             rules=rules())
    np.testing.assert_array_equal(alt.jss, jss.jss)


def test_unknown_score_name_is_an_error():
    with pytest.raises(ValueError, match="unknown score"):
        score_one([S]).score("stars")


def test_alternative_rules_are_validated():
    with pytest.raises(ValueError, match="confidence_level"):
        rules(confidence_level=1.5)
    with pytest.raises(ValueError, match="bayes_prior_strength"):
        rules(bayes_prior_strength=0)


def test_quantile_mapping_keeps_the_admitted_share():
    rng = np.random.default_rng(0)
    ref = np.concatenate([rng.uniform(60, 100, 300), np.full(100, 100.0)])
    values = rng.uniform(0, 1, 400)
    mapped = to_jss_scale(values, ref)
    assert np.mean(mapped >= 90) == pytest.approx(np.mean(ref >= 90), abs=0.01)
    assert np.all(np.diff(mapped[np.argsort(values)]) >= 0)  # order kept
    np.testing.assert_array_equal(to_jss_scale(values, ref[:1]), values)  # no reference


# --------------------------------------------------------------- bounds and monotonicity

counts = st.tuples(st.integers(0, 60), st.integers(0, 30), st.integers(0, 30))


@settings(max_examples=60, deadline=None)
@given(counts)
def test_scores_are_bounded_and_bounds_below_means(c):
    s, u, x = c
    if s + u + x == 0:
        return
    r = score_one([S] * s + [U] * u + [X] * x)
    for v in (r.bayes_mean, r.bayes_lower, r.wilson_lower, r.epp, r.debiased):
        assert 0.0 <= v[0] <= 1.0
    assert r.bayes_lower[0] <= r.bayes_mean[0]
    assert r.wilson_lower[0] <= s / (s + u + x) + 1e-12


@settings(max_examples=60, deadline=None)
@given(counts)
def test_one_more_success_never_lowers_and_one_more_negative_never_raises(c):
    s, u, x = c
    base = score_one([S] * s + [U] * u + [X] * x + [S])  # at least one outcome
    more_s = score_one([S] * (s + 1) + [U] * u + [X] * x + [S])
    more_x = score_one([S] * s + [U] * u + [X] * (x + 1) + [S])
    for name in ("bayes", "wilson", "epp", "debiased"):
        b = base.score(name)[0]
        assert more_s.score(name)[0] >= b - 1e-9, name
        assert more_x.score(name)[0] <= b + 1e-9, name


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200), st.integers(0, 200))
def test_beta_lower_bound_rises_with_evidence_at_the_same_share(a, b):
    lo1 = beta_lower_bound(a + 1, b + 1, 0.95)
    lo2 = beta_lower_bound(2 * (a + 1), 2 * (b + 1), 0.95)
    assert lo2 >= lo1 - 1e-12


# --------------------------------------------------------------- controlled worlds


def _honest_world(n=300, k=30, seed=1):
    """Every rater honest, long histories: success with prob. q, negative (1 - q) / 2."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0, 1, n)
    f = np.repeat(np.arange(n), k)
    u = rng.uniform(0, 1, f.size)
    out = np.where(u < q[f], S, np.where(u < q[f] + (1 - q[f]) / 2, X, U)).astype(np.int8)
    private = np.where(out == S, 10.0, np.where(out == X, 3.0, 8.0))
    end = rng.integers(0, 100, f.size).astype(float)
    return q, f, np.arange(f.size), end, out, private


def test_every_score_ranks_quality_better_than_a_coin_when_raters_are_honest():
    from scipy.stats import spearmanr

    q, f, c, end, out, private = _honest_world()
    r = alternative_scores(f, c, end, out, np.ones(f.size), week=WEEK, n_freelancers=q.size,
                           rules=rules(), reason=np.zeros(f.size, np.int8),
                           private_score=private)
    for name in ("jss", "bayes", "wilson", "epp", "debiased", "jss-interval"):
        x = r.score(name)
        ok = ~np.isnan(x)
        assert ok.mean() > 0.9, name
        rho = spearmanr(x[ok], q[ok]).statistic
        assert rho > 0.5, (name, rho)  # a coin gives 0


def test_epp_falls_as_silent_unhappy_clients_rise_while_jss_does_not():
    epp, jss = [], []
    for silent in range(0, 6):
        out = [S] * 10 + [E] * silent
        reasons = [R_PRIVATE] * 10 + [R_NO_FEEDBACK] * silent
        r = score_one(out, reasons=reasons)
        epp.append(r.score("epp")[0])
        jss.append(r.score("jss")[0])
    assert all(b < a for a, b in itertools.pairwise(epp))
    assert len(set(jss)) == 1 and jss[0] == 100


def test_debiased_moves_less_than_jss_when_one_dishonest_client_is_added():
    # freelancers 0..20, each with 10 happy honest clients (9-10); a lying client has already
    # given freelancers 1..20 a 2 (their other clients say 9-10); then it rates freelancer 0
    n, k = 21, 10
    f = np.repeat(np.arange(n), k)
    c = np.arange(f.size)
    liar = f.size
    private = np.where(np.arange(f.size) % 2 == 0, 9.0, 10.0)
    out = np.full(f.size, S, np.int8)
    f_l = np.arange(1, n)
    f = np.concatenate([f, f_l])
    c = np.concatenate([c, np.full(f_l.size, liar)])
    private = np.concatenate([private, np.full(f_l.size, 2.0)])
    out = np.concatenate([out, np.full(f_l.size, X, np.int8)])

    def scores(extra: bool):
        ff = np.concatenate([f, [0]]) if extra else f
        cc = np.concatenate([c, [liar]]) if extra else c
        pp = np.concatenate([private, [2.0]]) if extra else private
        oo = np.concatenate([out, [X]]).astype(np.int8) if extra else out
        end = np.full(ff.size, WEEK - 1)
        return alternative_scores(ff, cc, end, oo, np.ones(ff.size), week=WEEK, n_freelancers=n,
                                  rules=rules(), private_score=pp)

    before, after = scores(False), scores(True)
    drop_jss = before.score("jss")[0] - after.score("jss")[0]
    drop_deb = before.score("debiased")[0] - after.score("debiased")[0]
    assert drop_jss > 5  # 10 successes and a negative: 100 -> 81.8
    assert 0 <= drop_deb < drop_jss / 3


def test_beta_lower_bound_is_betaincinv_of_every_element():
    """beta_lower_bound computes each distinct (successes, failures) pair once; every element
    must still be scipy's betaincinv of that element, bit for bit (NaN, -0.0 and inf included)."""
    from scipy.special import betaincinv

    from marketplace.scoring.alternatives import beta_lower_bound

    rng = np.random.default_rng(3)
    a = rng.integers(0, 6, (40, 7)) + rng.choice([0.0, 0.5, 0.25], (40, 7))
    b = rng.integers(0, 4, (40, 7)) + rng.choice([0.0, 0.5], (40, 7))
    a[0, :3] = [np.nan, -0.0, np.inf]
    for level in (0.9, 0.95):
        ours, scipys = beta_lower_bound(a, b, level), betaincinv(a, b, 1 - level)
        assert ours.shape == scipys.shape
        assert np.array_equal(ours.view(np.int64), scipys.view(np.int64))
    assert beta_lower_bound(np.array([]), np.array([]), 0.9).shape == (0,)


# --------------------------------------------------- gaps found by mutation testing (seed 21)


def test_rules_without_neutral_in_the_denominator_leave_neutral_outcomes_out():
    # 3 successes and 1 neutral; neutral not counted: Beta(3.2 + 3, 0.8 + 0), 3 outcomes
    rs = get_rules("upwork-2023", neutral_in_denominator=False,
                   alternatives=AlternativeRules(bayes_prior_mean=0.8))
    r = score_one([S, S, S, U], rs=rs)
    assert r.bayes_mean[0] == pytest.approx(6.2 / 7.0)
    assert r.wilson_lower[0] == pytest.approx(wilson_lower_bound(3, 3, 0.95))
    assert r.n_outcomes[0] == 3
    assert score_one([S, S, S, U]).bayes_mean[0] == pytest.approx(6.2 / 8.0)  # default: counted


def test_rater_weight_per_contract_weights_the_debiased_score():
    # a success weighing 1 and a negative weighing 0.25: debiased share 1 / 1.25
    args = (np.zeros(2, np.int64), np.arange(2), np.full(2, WEEK - 1), np.array([S, X], np.int8),
            np.ones(2))
    r = alternative_scores(*args, week=WEEK, n_freelancers=1, rules=rules(),
                           rater_weight=np.array([1.0, 0.25]))
    assert r.debiased[0] == pytest.approx(0.8)
    plain = alternative_scores(*args, week=WEEK, n_freelancers=1, rules=rules())
    assert plain.debiased[0] == pytest.approx(0.5)


def test_ratings_without_a_reference_do_not_change_a_clients_weight():
    # client 0 gave freelancer 0 a 0 where client 1 gave 10 (deviation 10 each way); its rating
    # of freelancer 1, whom nobody else rated, has no reference and must not count as a rating
    f = np.array([0, 0])
    c = np.array([0, 1])
    x = np.array([0.0, 10.0])
    base = client_rating_weights(f, c, x, n_clients=2)
    more = client_rating_weights(np.append(f, 1), np.append(c, 0), np.append(x, 5.0),
                                 n_clients=2)
    assert base[0] < 0.5  # a large deviation costs weight
    np.testing.assert_allclose(more, base)


def test_quantile_mapping_needs_two_reference_scores_and_uses_them_from_two():
    one = to_jss_scale([10.0, 90.0], [60.0])
    np.testing.assert_array_equal(one, [10.0, 90.0])  # one reference value: unchanged
    two = to_jss_scale([10.0, 90.0], [50.0, 70.0])
    np.testing.assert_allclose(two, np.quantile([50.0, 70.0], [0.25, 0.75]))


def test_alternative_rule_strengths_may_be_below_1():
    # positive numbers are allowed, also those in (0, 1)
    r = rules(bayes_prior_strength=0.5, debias_noise_sd=0.5, debias_scale=0.5,
              debias_prior_ratings=0.5, client_prior_ratings=0.5)
    assert r.alternatives.bayes_prior_strength == 0.5
    with pytest.raises(ValueError, match="bayes_prior_strength"):
        rules(bayes_prior_strength=0.0)
