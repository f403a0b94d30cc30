"""Window scores, best-of display, visibility and "enough outcomes": worked examples."""

import numpy as np
import pytest

from marketplace.scoring import (
    Outcome,
    classify_outcomes,
    contract_weights,
    get_rules,
    job_success_scores,
    window_score,
)

S, U, N, X = Outcome.SUCCESS, Outcome.NEUTRAL, Outcome.NEGATIVE, Outcome.EXCLUDED


def score(outcomes, weights=None, *, end_weeks=None, clients=None, week=100, rules=None, **kw):
    """Score one freelancer (index 0) whose contracts are given as lists."""
    k = len(outcomes)
    rules = rules or get_rules("upwork-2023")
    return job_success_scores(
        np.zeros(k, dtype=np.int64),
        np.arange(k) if clients is None else np.asarray(clients),
        np.full(k, float(week)) if end_weeks is None else np.asarray(end_weeks, dtype=float),
        np.asarray(outcomes, dtype=np.int8),
        np.ones(k) if weights is None else np.asarray(weights, dtype=float),
        week=week,
        n_freelancers=1,
        rules=rules,
        **kw,
    )


def test_nine_successes_one_negative_give_80_not_90():
    res = score([S] * 9 + [N])
    assert res.window_24m[0] == pytest.approx(80.0)
    assert res.jss[0] == pytest.approx(80.0)


def test_eight_successes_one_neutral_one_negative_give_70():
    # A neutral adds to the denominator only.
    assert score([S] * 8 + [U, N]).jss[0] == pytest.approx(70.0)


def test_neutral_dropped_entirely_when_rule_off():
    rules = get_rules("upwork-2023", neutral_in_denominator=False)
    assert score([S] * 8 + [U, N], rules=rules).jss[0] == pytest.approx(700 / 9)


def test_weighted_example_eight_small_positive_one_large_negative_gives_68_4():
    earnings = np.array([200.0] * 8 + [2000.0])
    rules = get_rules("upwork-2023")
    w = contract_weights(earnings, np.ones(9), rules)
    np.testing.assert_allclose(w, [1.0] * 8 + [1.5])
    res = score([S] * 8 + [N], w)
    assert res.jss[0] == pytest.approx(100 * 6.5 / 9.5)
    assert round(res.jss[0], 1) == 68.4


def test_score_is_floored_at_zero():
    assert score([S, N, N]).jss[0] == 0.0


def test_upwork_example_92_88_94_trending_96_displays_96():
    # Buckets by age at week 110: A 60 (24m only), B 30 (24m,12m), C 15 (+6m), D 5 (all).
    # Weights chosen so 3m = 98, 6m = 94, 12m = 88, 24m = 92 (Upwork's own example).
    ages = {"A": 60, "B": 30, "C": 15, "D": 5}
    parts = {"A": (198, 2), "B": (88, 12), "C": (95, 5), "D": (99, 1)}
    outcomes, weights, ends = [], [], []
    for b, (sw, nw) in parts.items():
        outcomes += [S, N]
        weights += [sw, nw]
        ends += [110 - ages[b]] * 2
    res = score(outcomes, weights, end_weeks=ends, week=110)
    assert res.window_3m[0] == pytest.approx(98)
    assert res.window_6m[0] == pytest.approx(94)
    assert res.window_12m[0] == pytest.approx(88)
    assert res.window_24m[0] == pytest.approx(92)
    assert res.trending[0] == pytest.approx(96)
    assert res.jss[0] == pytest.approx(96)
    # Without the trending score (2015 display) the best is the 6-month 94.
    no_trend = get_rules("upwork-2023", displayed=("24m", "12m", "6m"))
    assert score(outcomes, weights, end_weeks=ends, week=110, rules=no_trend).jss[0] == (
        pytest.approx(94)
    )


def test_window_boundaries_drop_contract_on_the_day_it_is_window_length_old():
    rules = get_rules("upwork-2023")
    # Two successes at week 100, a negative exactly 26 weeks old: out of 6m, in 12m.
    res = score([S, S, N], end_weeks=[100, 100, 74], week=100, rules=rules)
    assert res.window_6m[0] == 100.0
    assert res.window_12m[0] == pytest.approx(100 / 3)
    # 25 weeks old: still inside the 6-month window.
    res = score([S, S, N], end_weeks=[100, 100, 75], week=100, rules=rules)
    assert res.window_6m[0] == pytest.approx(100 / 3)


def test_contracts_after_scoring_week_and_older_than_24m_are_ignored():
    res = score([S, S, N, N], end_weeks=[100, 99, 101, -4], week=100)
    assert res.jss[0] == 100.0
    assert res.n_outcomes[0] == 2


def test_visibility_needs_two_outcomes_from_two_clients_2023():
    assert np.isnan(score([S]).jss[0])
    assert np.isnan(score([S, S], clients=[7, 7]).jss[0])  # one client only
    assert score([S, S], clients=[7, 8]).jss[0] == 100.0
    res = score([S, S], clients=[7, 7])
    assert not res.visible[0]
    assert res.n_outcomes[0] == 2 and res.n_clients[0] == 1


def test_visibility_2020_needs_four_outcomes():
    rules = get_rules("upwork-2020")
    assert np.isnan(score([S, S, S], rules=rules).jss[0])
    assert score([S, S, S, S], clients=[1, 2, 1, 1], rules=rules).jss[0] == 100.0


def test_visibility_2015_needs_three_clients():
    rules = get_rules("upwork-2015")
    why = np.zeros(4, np.int8)  # all classified from private scores
    assert np.isnan(score([S, S, S, S], clients=[1, 2, 1, 2], rules=rules, reason=why).jss[0])
    assert score([S, S, S], clients=[1, 2, 3], rules=rules, reason=why[:3]).jss[0] == 100.0


def test_window_without_enough_outcomes_is_not_scored():
    # Only one outcome in the last 3 months: 3m and trending are NaN, 24m is shown.
    res = score([S, N, N, S], end_weeks=[100, 60, 60, 60], week=100)
    assert np.isnan(res.window_3m[0]) and np.isnan(res.trending[0])
    assert np.isnan(res.window_6m[0])  # also a single outcome
    assert res.window_24m[0] == 0.0 and res.jss[0] == 0.0
    # Enough outcomes but from one client only: still not scored.
    res = score([S, S, N], end_weeks=[100, 100, 60], clients=[1, 1, 2], week=100)
    assert np.isnan(res.window_3m[0])
    assert res.window_24m[0] == pytest.approx(100 / 3)


def test_displayed_is_best_of_windows():
    # Bad old history, good recent: 6m/trending win.
    res = score([N, N, S, S, S], end_weeks=[40, 40, 99, 98, 97], week=100)
    assert res.window_24m[0] == pytest.approx(20)
    assert res.jss[0] == 100.0


def test_jss_rounding_options():
    outcomes = [S] * 18 + [U, N]  # 17/20 = 85
    assert score(outcomes, rules=get_rules(jss_rounding="floor")).jss[0] == 85
    res = score([S] * 29 + [U, U, N], rules=get_rules(jss_rounding="round"))  # 28/32 = 87.5
    assert res.jss[0] == 88
    res = score([S] * 29 + [U, U, N], rules=get_rules(jss_rounding="floor"))
    assert res.jss[0] == 87


def test_excluded_contracts_do_not_count():
    assert score([S, S, X, X]).jss[0] == 100.0
    assert score([S, S, X, X]).n_outcomes[0] == 2


def test_many_freelancers_at_once_match_one_by_one():
    rng = np.random.default_rng(3)
    k, n = 400, 25
    f = rng.integers(0, n, k)
    c = rng.integers(0, 30, k)
    ew = rng.integers(0, 120, k).astype(float)
    o = rng.integers(0, 4, k).astype(np.int8)
    w = rng.choice([1.0, 1.25, 1.5, 3.0], k)
    rules = get_rules("upwork-2023")
    allr = job_success_scores(f, c, ew, o, w, week=110, n_freelancers=n, rules=rules)
    for i in range(n):
        m = f == i
        one = job_success_scores(np.zeros(m.sum(), int), c[m], ew[m], o[m], w[m], week=110,
                                 n_freelancers=1, rules=rules)
        for name in ("jss", "window_24m", "window_12m", "window_6m", "window_3m", "trending",
                     "n_outcomes", "n_clients"):
            np.testing.assert_allclose(getattr(allr, name)[i], getattr(one, name)[0])


def test_pair_idx_gives_same_result_as_sort_path():
    rng = np.random.default_rng(4)
    k, n = 2000, 60
    f = rng.integers(0, n, k)
    c = rng.integers(0, 15, k)
    ew = rng.integers(0, 120, k).astype(float)
    o = rng.integers(0, 4, k).astype(np.int8)
    w = np.ones(k)
    _, pair = np.unique(f * 1000 + c, return_inverse=True)
    rules = get_rules("upwork-2023", window_min_clients=4, visibility_min_clients=4)
    a = job_success_scores(f, c, ew, o, w, week=110, n_freelancers=n, rules=rules)
    b = job_success_scores(f, c, ew, o, w, week=110, n_freelancers=n, rules=rules, pair_idx=pair)
    np.testing.assert_array_equal(a.n_clients, b.n_clients)
    np.testing.assert_array_equal(a.jss, b.jss)


def test_ongoing_long_term_contract_counts_as_success_dated_at_scoring_week():
    rules = get_rules("upwork-2023")
    nan = np.nan
    out, _ = classify_outcomes(
        np.array([nan, nan, 9.0]), np.array([nan, nan, nan]), np.zeros(3, np.int8),
        np.array([5000.0, 300.0, 100.0]), None, None, rules,
        ongoing=np.array([True, True, False]), paid_weeks=np.array([26, 5, 1]),
        last_payment_week=np.array([99, 99, 10]), week=100,
    )
    assert list(out) == [S, X, S]
    w = contract_weights([5000.0, 300.0, 100.0], [26, 5, 1], rules)
    np.testing.assert_allclose(w, [3.5, 1.25, 1.0])
    res = score(out, w, end_weeks=[nan, nan, 10], week=100)
    # The ongoing contract is in every window; the old one only in none (90 weeks: 24m only).
    assert res.window_3m[0] is not None and res.n_outcomes[0] == 2
    assert np.isnan(res.window_3m[0])  # one outcome only in 3m
    assert res.jss[0] == 100.0


def test_window_score_helper_matches_definition():
    assert window_score(9, 0, 1) == pytest.approx(80)
    assert np.isnan(window_score(0, 0, 0))
