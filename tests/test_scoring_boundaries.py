"""Both sides of every documented threshold and window of the scoring engine (docs/ODD.md 7.1).

Each test puts one input on the last value that passes an edge and on the first value that does
not (one week, one dollar, one point), so an off-by-one (``<`` for ``<=``, ``L`` for ``L - 1``), a
hard-coded constant instead of the rule field, or a swapped comparison fails here.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from marketplace.scoring import (
    REASONS,
    WINDOW_NAMES,
    Outcome,
    PerkState,
    classify_outcomes,
    contract_client_flagged,
    contract_weights,
    flag_clients,
    freelancer_fee_usd,
    get_rules,
    job_success_scores,
    large_contract_flags,
    score_history,
    select_removals,
    update_badges,
)

S, U, N, X = Outcome.SUCCESS, Outcome.NEUTRAL, Outcome.NEGATIVE, Outcome.EXCLUDED
R23 = get_rules("upwork-2023")
ERAS = ("upwork-2015", "upwork-2020", "upwork-2023", "upwork-2024")
WEEK = 200
NO_FB = REASONS.index("no_feedback")
PRIVATE = REASONS.index("private_score")


def score(outcomes, ages=None, clients=None, *, rules=R23, weights=None, reason=None, week=WEEK):
    """Scores of one freelancer whose contracts ended ``ages`` weeks before ``week``."""
    k = len(outcomes)
    ages = np.zeros(k) if ages is None else np.asarray(ages, dtype=float)
    if reason is None and rules.missing_feedback == "negative_if_large_share":
        reason = np.where(np.asarray(outcomes) == X, NO_FB, PRIVATE).astype(np.int8)
    return job_success_scores(
        np.zeros(k, dtype=np.int64),
        np.arange(k) if clients is None else np.asarray(clients),
        week - ages,
        np.asarray(outcomes, dtype=np.int8),
        np.ones(k) if weights is None else np.asarray(weights, dtype=float),
        week=week, n_freelancers=1, rules=rules, reason=reason,
    )


def window(res, name):
    return float(res.score(name)[0])


# ------------------------------------------------------------------ windows (weeks)
CUSTOM_WINDOWS = get_rules("upwork-2023", window_weeks=(90, 40, 20, 8))


@pytest.mark.parametrize("rules", [R23, CUSTOM_WINDOWS], ids=["104-52-26-13", "90-40-20-8"])
@pytest.mark.parametrize("i", range(4), ids=WINDOW_NAMES)
def test_window_holds_a_contract_length_minus_one_weeks_old_but_not_length(rules, i):
    name, length = WINDOW_NAMES[i], rules.window_weeks[i]
    # Two fresh successes (two clients) and one negative at the edge of the window.
    inside = score([S, S, N], ages=[0, 0, length - 1], rules=rules)
    outside = score([S, S, N], ages=[0, 0, length], rules=rules)
    assert window(inside, name) == pytest.approx(100 / 3)
    assert window(outside, name) == 100.0
    if i > 0:  # the next longer window still holds it
        assert window(outside, WINDOW_NAMES[i - 1]) == pytest.approx(100 / 3)


def test_contract_ending_one_week_after_the_scoring_week_is_ignored():
    assert window(score([S, S, N], ages=[0, 0, 0]), "3m") == pytest.approx(100 / 3)
    assert window(score([S, S, N], ages=[0, 0, -1]), "3m") == 100.0


# ------------------------------------------------------------------ visibility and "enough"
@pytest.mark.parametrize("era", ERAS)
def test_visibility_needs_exactly_the_era_minimum_of_outcomes(era):
    r = get_rules(era)
    k = r.visibility_min_outcomes
    clients = np.arange(k) % max(r.visibility_min_clients, 1)
    assert score([S] * k, clients=clients, rules=r).jss[0] == 100.0
    assert np.isnan(score([S] * (k - 1), clients=clients[:-1], rules=r).jss[0])


@pytest.mark.parametrize("era", ERAS)
def test_visibility_needs_exactly_the_era_minimum_of_clients(era):
    r = get_rules(era)
    k = max(r.visibility_min_outcomes, r.window_min_outcomes) + 2
    m = r.visibility_min_clients
    enough = score([S] * k, clients=np.arange(k) % m, rules=r)
    short = score([S] * k, clients=np.arange(k) % (m - 1), rules=r)
    assert enough.jss[0] == 100.0 and enough.visible[0]
    assert np.isnan(short.jss[0]) and not short.visible[0]


@pytest.mark.parametrize("era", ERAS)
def test_window_needs_exactly_the_era_minimum_of_outcomes_and_clients(era):
    r = get_rules(era)
    k, m = r.window_min_outcomes, r.window_min_clients
    # k outcomes from m clients in the 3-month window, plus old ones so the JSS is visible
    old = [S] * 6
    old_ages, old_clients = [60] * 6, list(range(100, 106))
    res = score([N] * k + old, ages=[0] * k + old_ages,
                clients=[i % m for i in range(k)] + old_clients, rules=r)
    assert window(res, "3m") == 0.0
    res = score([N] * (k - 1) + old, ages=[0] * (k - 1) + old_ages,
                clients=[i % m for i in range(k - 1)] + old_clients, rules=r)
    assert np.isnan(window(res, "3m"))
    res = score([N] * k + old, ages=[0] * k + old_ages,
                clients=[i % (m - 1) for i in range(k)] + old_clients, rules=r)
    assert np.isnan(window(res, "3m"))


def test_visibility_window_edge_and_custom_visibility_window():
    # 2023: a contract 103 weeks old counts toward visibility, 104 weeks old does not.
    assert score([S, S], ages=[0, 103]).jss[0] == 100.0
    assert np.isnan(score([S, S], ages=[0, 104]).jss[0])
    # A visibility window (30 weeks) shorter than the 24-month window: the 24m window is scored
    # from contracts 40 weeks old, but they do not make the score visible.
    r = get_rules("upwork-2023", visibility_window_weeks=30)
    res = score([S, S], ages=[0, 29], rules=r)
    assert res.jss[0] == 100.0
    res = score([S, S], ages=[0, 30], rules=r)
    assert window(res, "24m") == 100.0 and np.isnan(res.jss[0]) and not res.visible[0]


def test_visibility_threshold_higher_than_window_threshold():
    r = get_rules("upwork-2023", visibility_min_outcomes=4, visibility_min_clients=3)
    three = score([S, S, S], rules=r)  # windows scored (2 from 2) but not visible
    assert window(three, "24m") == 100.0 and np.isnan(three.jss[0]) and not three.visible[0]
    assert score([S, S, S, S], clients=[0, 1, 2, 2], rules=r).jss[0] == 100.0
    # four outcomes but two clients: one client short of the visibility threshold
    assert np.isnan(score([S, S, S, S], clients=[0, 1, 1, 1], rules=r).jss[0])


def test_window_threshold_higher_than_visibility_threshold():
    r = get_rules("upwork-2023", window_min_outcomes=4, window_min_clients=3)
    three = score([S, S, S], rules=r)  # visible by count, but no window has enough: no JSS
    assert np.isnan(window(three, "24m")) and np.isnan(three.jss[0]) and not three.visible[0]
    assert score([S, S, S, S], clients=[0, 1, 2, 2], rules=r).jss[0] == 100.0
    assert np.isnan(score([S, S, S, S], clients=[0, 1, 1, 1], rules=r).jss[0])


# ------------------------------------------------------------------ trending and display
def test_trending_needs_both_6m_and_3m_scored():
    # 6m scored (two negatives, weeks 20 old) and 3m not (one success): trending is NaN and the
    # JSS is the best of the scored windows, not the lone 3-month success.
    res = score([S, N, N], ages=[0, 20, 20], clients=[0, 1, 2])
    assert window(res, "6m") == 0.0
    assert np.isnan(window(res, "3m")) and np.isnan(window(res, "trending"))
    assert res.jss[0] == 0.0
    # 3m scored too: trending = mean of 6m and 3m
    res = score([S, S, N, N], ages=[0, 0, 20, 20], clients=[0, 1, 2, 3])
    assert window(res, "trending") == pytest.approx((0.0 + 100.0) / 2)
    assert res.jss[0] == pytest.approx(50.0)


def test_3m_window_alone_is_never_displayed():
    # 3m = 100, 6m = 0 -> trending 50; the JSS shows 50, not the 3-month 100.
    res = score([S, S, N, N, N, N], ages=[0, 0, 20, 20, 20, 20])
    assert window(res, "3m") == 100.0 and window(res, "6m") == 0.0
    assert res.jss[0] == pytest.approx(50.0)


def test_2015_rules_never_display_trending():
    r = get_rules("upwork-2015")
    res = score([S] * 3 + [N] * 6, ages=[0] * 3 + [20] * 6, rules=r)
    # 6m = (3 - 6) / 9 -> 0; 3m = 100; trending 50 would win, but 2015 shows best of 24/12/6m
    assert window(res, "trending") == pytest.approx(50.0)
    assert res.jss[0] == 0.0


def test_score_floor_at_zero_one_negative_either_side_of_equal():
    assert window(score([S, S, N, N]), "24m") == 0.0
    assert window(score([S, S, N, N, N]), "24m") == 0.0  # would be -20 without the floor
    assert window(score([S, S, S, N, N]), "24m") == pytest.approx(20.0)


@pytest.mark.parametrize(("mode", "value", "shown"),
                         [("floor", 89.9, 89.0), ("round", 89.5, 90.0), ("round", 89.49, 89.0)])
def test_jss_rounding_edges(mode, value, shown):
    # successes s and negatives n with s + n = 1000 weight-units: score = 100 (s - n) / 1000
    s = (1000 + value * 10) / 2
    res = score([S, N], weights=[s, 1000 - s], rules=get_rules("upwork-2023", jss_rounding=mode))
    assert res.jss[0] == pytest.approx(shown)


# ------------------------------------------------------------------ outcome of a contract
def classify(private=np.nan, stars=np.nan, end=0, earnings=100.0, flagged=False, removed=False,
             rules=R23, **kw):
    o, r = classify_outcomes(np.array([private], float), np.array([stars], float),
                             np.array([end], np.int8), np.array([earnings], float),
                             np.array([flagged]), np.array([removed]), rules, **kw)
    return Outcome(int(o[0])), REASONS[int(r[0])]


@pytest.mark.parametrize(("private", "outcome"), [(10, S), (9, S), (8, U), (7, U), (6, N), (0, N)])
def test_private_score_band_edges(private, outcome):
    assert classify(private=private)[0] == outcome


@pytest.mark.parametrize(("stars", "outcome"),
                         [(5.0, S), (4.5, S), (4.49, U), (3.5, U), (3.49, N), (1.0, N)])
def test_public_stars_band_edges(stars, outcome):
    assert classify(stars=stars) == (outcome, "public_stars")


def test_custom_band_edges_follow_the_rule_fields():
    r = get_rules("upwork-2023", private_success_min=8, private_neutral_min=5,
                  public_success_min=4.0, public_neutral_min=3.0)
    assert [classify(private=p, rules=r)[0] for p in (8, 7, 5, 4)] == [S, U, U, N]
    assert [classify(stars=s, rules=r)[0] for s in (4.0, 3.99, 3.0, 2.99)] == [S, U, U, N]


def test_zero_earnings_edge_one_dollar():
    assert classify(private=10, earnings=0.0) == (X, "zero_earnings")
    assert classify(private=10, earnings=1.0) == (S, "private_score")
    assert classify(private=8, earnings=0.0) == (X, "zero_earnings")
    assert classify(private=6, earnings=0.0) == (N, "private_score")
    # 2015 rules count $0 positive jobs
    assert classify(private=10, earnings=0.0, rules=get_rules("upwork-2015"))[0] == S


def test_dispute_with_no_feedback_at_all_is_negative():
    dispute = 3
    assert classify(end=dispute) == (N, "dispute")
    assert classify(end=dispute, earnings=0.0) == (N, "dispute")
    assert classify(end=2) == (X, "no_feedback")  # same contract ended by the freelancer
    assert classify(end=dispute, flagged=True) == (X, "flagged_client")
    assert classify(end=dispute, removed=True) == (X, "removed")
    off = get_rules("upwork-2023", dispute_is_negative=False)
    assert classify(end=dispute, rules=off) == (X, "no_feedback")


def test_dispute_with_no_feedback_counts_in_the_jss_and_history():
    df = pd.DataFrame({
        "freelancer_id": ["a"] * 3, "client_id": ["c1", "c2", "c3"], "start_week": [0, 0, 0],
        "end_week": [5, 5, 5], "earnings": [100, 100, 100], "public_stars": [np.nan] * 3,
        "private_score": [10, 10, np.nan], "end_reason": ["completed", "completed", "dispute"],
    })
    res = score_history(df, week=5)
    assert res.freelancers.jss.iloc[0] == pytest.approx(100 / 3)
    assert list(res.contracts.reason) == ["private_score", "private_score", "dispute"]
    # 2015 rules: the dispute is negative, not a no-feedback contract (which would be judged by
    # the share rule); 3 outcomes from 3 clients are visible
    res15 = score_history(df, week=5, rules="upwork-2015")
    assert res15.freelancers.jss.iloc[0] == pytest.approx(100 / 3)


# ------------------------------------------------------------------ ongoing long-term contracts
def ongoing(paid_weeks, last_payment_age, rules=R23):
    return classify(earnings=5000.0, rules=rules, ongoing=np.array([True]),
                    paid_weeks=np.array([paid_weeks], float),
                    last_payment_week=np.array([WEEK - last_payment_age], float), week=WEEK)


def test_ongoing_contract_13_paid_weeks_edge():
    assert ongoing(13, 0) == (S, "ongoing_long_term")
    assert ongoing(12, 0) == (X, "ongoing")


def test_ongoing_contract_last_payment_13_weeks_edge():
    assert ongoing(40, 12) == (S, "ongoing_long_term")
    assert ongoing(40, 13) == (X, "ongoing")


def test_ongoing_contract_custom_edges_and_switch():
    r = get_rules("upwork-2023", ongoing_min_paid_weeks=20, ongoing_max_weeks_since_payment=5)
    assert ongoing(20, 4, r)[0] == S
    assert ongoing(19, 4, r)[0] == X
    assert ongoing(20, 5, r)[0] == X
    assert ongoing(40, 0, get_rules("upwork-2023", count_ongoing_long_term=False))[0] == X


def test_ongoing_long_term_is_dated_at_the_scoring_week_in_history():
    # started 12 weeks before the scoring week = 13 paid weeks (inclusive): counts in the 3m window
    base = {"freelancer_id": ["a", "a"], "client_id": ["c1", "c2"], "earnings": [500, 500],
            "public_stars": [np.nan, np.nan], "private_score": [np.nan, 10],
            "end_reason": ["", "completed"]}
    df = pd.DataFrame({**base, "start_week": [88, 50], "end_week": [np.nan, 60]})
    res = score_history(df, week=100)
    assert res.contracts.reason.iloc[0] == "ongoing_long_term"
    assert "3m" in res.contracts.windows.iloc[0]
    df = pd.DataFrame({**base, "start_week": [89, 50], "end_week": [np.nan, 60]})
    assert score_history(df, week=100).contracts.reason.iloc[0] == "ongoing"


# ------------------------------------------------------------------ 2015 missing-feedback rule
def test_2015_missing_feedback_share_edge():
    r = get_rules("upwork-2015")
    # 1 no-feedback contract of 4 = 25%: not more than the share, excluded
    res = score([S, S, S, X], rules=r)
    assert window(res, "24m") == 100.0 and res.n_outcomes[0] == 3
    # 3 of 12 = 25% excluded; 3 of 11 (27%): all no-feedback contracts count as negatives
    assert window(score([S] * 9 + [X] * 3, rules=r), "24m") == 100.0
    assert window(score([S] * 8 + [X] * 3, rules=r), "24m") == pytest.approx(100 * 5 / 11)
    # 2 of 8 = 25% excluded; 3 of 9 counts
    assert window(score([S] * 6 + [X] * 2, rules=r), "24m") == 100.0
    assert window(score([S] * 6 + [X] * 3, rules=r), "24m") == pytest.approx(100 / 3)


def test_2015_missing_feedback_clients_do_not_make_a_score_visible():
    r = get_rules("upwork-2015")
    # 2 successes (2 clients) and 2 no-feedback contracts of 2 other clients: counted negative,
    # 4 outcomes but only 2 distinct clients with an outcome -> no JSS (needs 3)
    res = score([S, S, X, X], clients=[0, 1, 2, 3], rules=r)
    assert np.isnan(res.jss[0])
    res = score([S, S, S, X, X], clients=[0, 1, 2, 3, 4], rules=r)
    assert res.jss[0] == pytest.approx(100 * (3 - 2) / 5)


def test_missing_feedback_share_is_the_rule_field():
    r = get_rules("upwork-2015", missing_feedback_share=0.5)
    assert window(score([S] * 3 + [X] * 3, rules=r), "24m") == 100.0  # 50%: not more
    assert window(score([S] * 3 + [X] * 4, rules=r), "24m") == 0.0


def test_other_excluded_reasons_never_count_under_2015():
    r = get_rules("upwork-2015")
    reason = np.array([PRIVATE] * 3 + [REASONS.index("flagged_client")] * 3, np.int8)
    res = score([S, S, S, X, X, X], rules=r, reason=reason)
    assert window(res, "24m") == 100.0


# ------------------------------------------------------------------ weights (dollars, weeks)
@pytest.mark.parametrize(("earnings", "weight"),
                         [(1, 1.0), (250, 1.0), (251, 1.25), (1000, 1.25), (1001, 1.5)])
def test_size_weight_edges_one_dollar(earnings, weight):
    assert contract_weights([earnings], None, R23)[0] == weight


def test_size_weights_off_in_2015():
    assert contract_weights([5000.0], None, get_rules("upwork-2015"))[0] == 1.0


@pytest.mark.parametrize(("paid", "extra"),
                         [(0, 0), (12, 0), (13, 1), (25, 1), (26, 2), (77, 5), (78, 6)])
def test_long_term_extra_weight_per_13_paid_weeks(paid, extra):
    assert contract_weights([100.0], [paid], R23)[0] == 1.0 + extra


@pytest.mark.parametrize(("paid", "weight"), [(78, 7.0), (91, 8.0), (104, 8.0), (500, 8.0)])
def test_weight_cap_at_eight(paid, weight):
    assert contract_weights([100.0], [paid], R23)[0] == weight
    # a $2,000 contract: 1.5 + 6 = 7.5 under the cap, 1.5 + 7 capped at 8
    assert contract_weights([2000.0], [78], R23)[0] == 7.5
    assert contract_weights([2000.0], [91], R23)[0] == 8.0


def test_custom_weight_cap():
    r = get_rules("upwork-2023", weight_cap=3.0)
    assert list(contract_weights([100.0, 100.0], [26, 39], r)) == [3.0, 3.0]
    assert contract_weights([100.0], [13], r)[0] == 2.0


# ------------------------------------------------------------------ fees (tiers in dollars)
TIERED = get_rules("upwork-2020")


@pytest.mark.parametrize(("before", "payment", "fee"), [
    (0, 500, 100.0),          # exactly the first tier
    (0, 501, 100.1),          # one dollar into the second
    (499, 1, 0.2),            # last dollar of the first tier
    (500, 1, 0.1),            # first dollar of the second
    (0, 10000, 1050.0),       # 20% of 500 + 10% of 9,500
    (0, 10001, 1050.05),      # one dollar into the third
    (9999, 1, 0.1),
    (10000, 1, 0.05),
    (9999, 2, 0.15),          # straddles the edge
])
def test_tiered_fee_edges(before, payment, fee):
    assert freelancer_fee_usd([payment], [before], TIERED)[0] == pytest.approx(fee)


def test_flat_fee_ignores_the_relationship():
    assert freelancer_fee_usd([100.0], [50_000.0], R23)[0] == pytest.approx(10.0)
    assert TIERED.fee_schedule == "tiered" and get_rules("upwork-2015").fee_schedule == "tiered"


# ------------------------------------------------------------------ client flagging
def flag(ages, classes, *, ratings=None, rules=R23, week=WEEK):
    """Flag one client whose contracts ended ``ages`` weeks ago with private scores by class."""
    k = len(ages)
    private = np.array([{S: 10.0, U: 8.0, N: 2.0}.get(c, np.nan) for c in classes])
    return flag_clients(np.zeros(k, np.int64), week - np.asarray(ages, float), private,
                        np.full(k, np.nan), week=week, n_clients=1, rules=rules,
                        rating_by_freelancer=None if ratings is None else np.asarray(ratings,
                                                                                     float))


def test_flag_needs_exactly_five_contracts_with_feedback():
    assert flag([0] * 5, [N] * 5)[0][0]
    assert not flag([0] * 4, [N] * 4)[0][0]
    assert not flag([0] * 5, [N] * 4 + [X])[0][0]  # a contract without feedback does not count


def test_flag_negative_share_edge_sixty_percent():
    assert flag([0] * 5, [N, N, N, S, S])[0][0]      # 3 of 5 = 60%
    assert not flag([0] * 5, [N, N, U, S, S])[0][0]  # 2 of 5
    assert not flag([0] * 10, [N] * 5 + [S] * 5)[0][0]  # 50%
    assert flag([0] * 10, [N] * 6 + [S] * 4)[0][0]


def test_flag_lookback_edge_104_weeks():
    # five negatives, one of them at the edge of the lookback
    assert flag([0, 0, 0, 0, 103], [N] * 5)[0][0]
    assert not flag([0, 0, 0, 0, 104], [N] * 5)[0][0]
    assert not flag([0, 0, 0, 0, -1], [N] * 5)[0][0]  # ends after the scoring week
    r = get_rules("upwork-2023", flag_lookback_weeks=30)
    assert flag([0, 0, 0, 0, 29], [N] * 5, rules=r)[0][0]
    assert not flag([0, 0, 0, 0, 30], [N] * 5, rules=r)[0][0]


def test_flag_by_freelancer_ratings_edges():
    good = [S] * 5
    assert flag([0] * 5, good, ratings=[2.5] * 5)[0][0]        # mean exactly 2.5
    assert not flag([0] * 5, good, ratings=[2.6] * 5)[0][0]    # 0.1 point above
    assert not flag([0] * 4, good[:4], ratings=[1.0] * 4)[0][0]  # four ratings only
    assert not flag([0] * 4 + [104], good, ratings=[1.0] * 5)[0][0]  # fifth out of lookback


def test_flag_switched_off_and_flag_week():
    flagged, week = flag([0] * 5, [N] * 5)
    assert flagged[0] and week[0] == WEEK
    off = flag([0] * 5, [N] * 5, rules=get_rules("upwork-2023", client_flagging=False))
    assert not off[0][0]
    assert off[1].shape == (1,) and np.isnan(off[1]).all()  # one 'never' week per client


def test_non_retroactive_flag_edge_at_the_flag_week():
    r = get_rules("upwork-2023", flag_retroactive=False)
    out = contract_client_flagged(np.zeros(3, np.int64), np.array([49.0, 50.0, np.nan]),
                                  np.array([True]), np.array([50.0]), r)
    assert list(out) == [False, True, True]
    out = contract_client_flagged(np.zeros(3, np.int64), np.array([49.0, 50.0, np.nan]),
                                  np.array([True]), np.array([50.0]), R23)
    assert list(out) == [True, True, True]


# ------------------------------------------------------------------ removal perk
def perk(outcomes, ages=None, *, top_rated=True, state=None, week=WEEK, rules=R23, weights=None,
         clients=None):
    k = len(outcomes)
    ages = np.full(k, 5.0) if ages is None else np.asarray(ages, float)
    return select_removals(
        np.zeros(k, np.int64), np.arange(k) if clients is None else np.asarray(clients),
        week - ages, np.asarray(outcomes, np.int8),
        np.ones(k) if weights is None else np.asarray(weights, float),
        top_rated=np.array([top_rated]), state=state, week=week, n_freelancers=1, rules=rules)


def test_perk_13_weeks_between_removals_edge():
    h = [S] * 20 + [N]
    state = PerkState(np.array([WEEK - 13.0]), np.array([0]))
    assert perk(h, state=state)[0].any()
    state = PerkState(np.array([WEEK - 12.0]), np.array([0]))
    assert not perk(h, state=state)[0].any()


def test_perk_10_jobs_between_removals_edge():
    h = [S] * 9 + [N]  # 10 ended contracts
    assert perk(h)[0].any()
    assert not perk([S] * 8 + [N])[0].any()  # 9 jobs
    state = PerkState(np.array([np.nan]), np.array([10]))
    assert not perk([S] * 18 + [N], state=state)[0].any()  # 19 jobs, 9 since the last removal
    assert perk([S] * 19 + [N], state=state)[0].any()


def test_perk_candidates_end_within_24_months_and_must_have_ended():
    assert perk([S] * 10 + [N], ages=[5] * 10 + [103])[0][-1]
    assert not perk([S] * 10 + [N], ages=[5] * 10 + [104])[0].any()
    # an ongoing contract (NaN end) is never removed, and does not count as a job
    ages = np.array([5.0] * 10 + [np.nan])
    assert not perk([S] * 10 + [N], ages=ages)[0].any()


def test_perk_kept_when_the_jss_does_not_change():
    # The JSS is the 3m window's 100 (trending 100 too); the negative, 30 weeks old, only lowers
    # the 12m and 24m windows, so removing it leaves the JSS at 100: allowed ("not lower").
    outcomes = [S] * 10 + [N]
    ages = [0] * 10 + [30]
    before = score(outcomes, ages=ages)
    assert before.jss[0] == 100.0
    mask, state = perk(outcomes, ages=ages)
    assert mask[-1] and state.last_removal_week[0] == WEEK and state.jobs_at_last_removal[0] == 11


def test_perk_refused_when_removal_would_lose_the_score():
    # a negative that is needed for the window/visibility count: removing it hides the JSS
    mask, state = perk([S] * 9 + [N], clients=[0] * 9 + [1])
    assert not mask.any() and np.isnan(state.last_removal_week[0])


def test_perk_until_week_edge():
    r = get_rules("upwork-2023", removal_perk_until_week=WEEK + 1)
    assert perk([S] * 10 + [N], rules=r)[0].any()
    r = get_rules("upwork-2023", removal_perk_until_week=WEEK)
    assert not perk([S] * 10 + [N], rules=r)[0].any()
    assert not perk([S] * 10 + [N], rules=get_rules("upwork-2024"))[0].any()
    assert not perk([S] * 10 + [N], top_rated=False)[0].any()


# ------------------------------------------------------------------ badges
def badges(jss, *, earned=5000.0, first=0.0, last=None, entry=None, n_negative=0, large=True,
           week=WEEK, rules=R23, state=None):
    return update_badges(
        state, jss=np.array([jss], float), earnings_52w_usd=np.array([earned], float),
        first_contract_week=np.array([first], float),
        last_activity_week=np.array([week if last is None else last], float), week=week,
        rules=rules, entry_week=None if entry is None else np.array([entry], float),
        n_negative=np.array([n_negative]), has_large_contract=np.array([large]))


def weeks_of(jss_by_week, rules=R23, **kw):
    state = None
    for i, j in enumerate(jss_by_week):
        state = badges(j, week=WEEK - len(jss_by_week) + 1 + i, state=state, rules=rules, **kw)
    return state


def test_top_rated_jss_edge_one_point():
    assert weeks_of([90.0] * 16).top_rated[0]
    assert not weeks_of([89.99] * 16).top_rated[0]
    assert not weeks_of([95.0] * 15 + [89.0]).top_rated[0]


def test_top_rated_13_of_16_weeks_edge():
    assert weeks_of([80.0] * 3 + [95.0] * 13).top_rated[0]
    assert not weeks_of([80.0] * 4 + [95.0] * 12).top_rated[0]
    # 13 eligible weeks of which the first is 17 weeks ago: outside the 16-week history
    assert not weeks_of([95.0] + [80.0] * 4 + [95.0] * 12).top_rated[0]


def test_top_rated_earnings_edge_one_dollar():
    assert weeks_of([95.0] * 16, earned=1000.0).top_rated[0]
    assert not weeks_of([95.0] * 16, earned=999.0).top_rated[0]


def test_top_rated_tenure_edge_one_week():
    assert weeks_of([95.0] * 16, first=WEEK - 14.0).top_rated[0]
    assert not weeks_of([95.0] * 16, first=WEEK - 13.0).top_rated[0]


def test_top_rated_activity_edge_one_week():
    st = weeks_of([95.0] * 15)
    assert badges(95.0, last=WEEK - 12.0, state=st).top_rated[0]
    assert not badges(95.0, last=WEEK - 13.0, state=st).top_rated[0]


def test_top_rated_plus_edges():
    tr = [95.0] * 16
    assert weeks_of(tr, earned=10001.0).top_rated_plus[0]
    assert not weeks_of(tr, earned=10000.0).top_rated_plus[0]
    assert not weeks_of(tr, earned=20000.0, large=False).top_rated_plus[0]
    assert not weeks_of(tr, earned=20000.0, rules=get_rules("upwork-2015")).top_rated_plus[0]
    assert not weeks_of([89.0] * 16, earned=20000.0).top_rated_plus[0]


def test_large_contract_edges():
    def large(earnings, age, outcome=S):
        return large_contract_flags(np.array([0]), np.array([earnings], float),
                                    np.array([outcome], np.int8), np.array([WEEK - age], float),
                                    week=WEEK, n_freelancers=1, rules=R23)[0]
    assert large(10000.0, 0) and not large(9999.0, 0)
    assert large(10000.0, 51) and not large(10000.0, 52)
    assert not large(10000.0, -1)  # ends after the scoring week
    assert large(10000.0, np.nan)  # ongoing
    assert not large(20000.0, 0, N) and large(20000.0, 0, U)


def test_rising_talent_edges():
    assert badges(np.nan, last=WEEK - 12.0).rising_talent[0]
    assert not badges(np.nan, last=WEEK - 13.0).rising_talent[0]
    # inactive but joined within 4 weeks
    assert badges(np.nan, last=np.nan, entry=WEEK - 3.0).rising_talent[0]
    assert not badges(np.nan, last=np.nan, entry=WEEK - 4.0).rising_talent[0]
    assert not badges(np.nan, n_negative=1).rising_talent[0]
    assert not badges(95.0).rising_talent[0]
    off = dataclasses.replace(R23, rising_talent=False)
    assert not badges(np.nan, rules=off).rising_talent[0]


def test_rising_talent_weeks_need_13_of_16_for_top_rated():
    assert weeks_of([80.0] * 3 + [np.nan] * 12 + [95.0]).top_rated[0]
    assert not weeks_of([80.0] * 4 + [np.nan] * 11 + [95.0]).top_rated[0]


# ------------------------------------------------------------------ paths mutation testing found
def test_2015_share_counts_negatives_in_the_denominator():
    r = get_rules("upwork-2015")
    # 1 no-feedback of 4 contracts (two of them negative): 25%, excluded
    assert window(score([S, N, N, X], rules=r, clients=[0, 1, 2, 3]), "24m") == 0.0
    res = score([S, S, S, N, N, X], rules=r)  # 1 of 6: excluded -> (3 - 2) / 5
    assert window(res, "24m") == pytest.approx(20.0)


def history_frame(**cols):
    base = {"freelancer_id": ["a", "a", "a"], "client_id": ["c1", "c2", "c3"],
            "start_week": [0, 0, 0], "end_week": [10, 10, 10], "earnings": [100, 100, 100],
            "public_stars": [np.nan] * 3, "private_score": [10, 10, 2],
            "end_reason": ["completed"] * 3}
    return pd.DataFrame({**base, **cols})


def test_history_columns_hold_each_window_and_trending():
    df = history_frame(end_week=[30, 30, 10], paid_weeks=[1, 1, 1])  # negative 20 weeks old
    f = score_history(df, week=30).freelancers.iloc[0]
    assert f.window_24m == pytest.approx(100 / 3) and f.window_6m == pytest.approx(100 / 3)
    assert f.window_3m == 100.0 and f.trending == pytest.approx(200 / 3)
    assert f.jss == pytest.approx(200 / 3)


def test_history_windows_column_lists_counted_contracts_only():
    df = history_frame(private_score=[10, 10, np.nan], client_flagged=["false", "true", "false"])
    c = score_history(df, week=10).contracts
    assert list(c.windows) == ["24m 12m 6m 3m", "", ""]
    c15 = score_history(history_frame(private_score=[10, 10, np.nan]), week=10,
                        rules="upwork-2015").contracts
    assert list(c15.windows) == ["24m 12m 6m 3m"] * 3  # 1 of 3 without feedback counts


def test_history_caps_paid_weeks_of_a_running_contract_at_its_duration():
    df = history_frame(start_week=[0, 0, 95], end_week=[10, 10, np.nan],
                       end_reason=["completed", "completed", ""], paid_weeks=[11, 11, 20])
    c = score_history(df, week=100).contracts
    assert c.reason.iloc[2] == "ongoing"  # 6 weeks running: not 20 paid weeks


def test_history_records_round_and_give_none():
    df = history_frame(private_score=[10, 10, 8])
    rec = score_history(df, week=10).to_records()
    assert rec[0]["jss"] == pytest.approx(66.67)
    assert rec[0]["windows"]["trending"] == pytest.approx(66.67)
    assert [c["contract_id"] for c in rec[0]["contracts"]] == ["1", "2", "3"]
    assert [c["outcome"] for c in rec[0]["contracts"]] == ["success", "success", "neutral"]
    df = pd.concat([history_frame(), history_frame(freelancer_id=["b"] * 3).iloc[:1]])
    recs = score_history(df.reset_index(drop=True), week=10).to_records()
    assert [r["freelancer_id"] for r in recs] == ["a", "b"]
    assert recs[1]["jss"] is None and len(recs[1]["contracts"]) == 1


@pytest.mark.parametrize(("column", "value"), [("private_score", 11), ("earnings", ""),
                                               ("earnings", "abc"), ("freelancer_id", "")])
def test_history_rejects_bad_cells(column, value):
    from marketplace.scoring import HistoryValidationError
    df = history_frame().astype(object)
    df.loc[1, column] = value
    with pytest.raises(HistoryValidationError) as err:
        score_history(df, week=10)
    assert err.value.column == column and err.value.row == 2


def test_history_uses_the_contract_id_column():
    c = score_history(history_frame(contract_id=["x", "y", "z"]), week=10).contracts
    assert list(c.contract_id) == ["x", "y", "z"]


def test_ongoing_without_paid_weeks_or_week_given():
    assert classify(earnings=5000.0, ongoing=np.array([True]))[0] == X
    # last payment given without a scoring week: only the paid weeks decide
    res = classify(earnings=5000.0, ongoing=np.array([True]), paid_weeks=np.array([20.0]),
                   last_payment_week=np.array([0.0]))
    assert res == (S, "ongoing_long_term")


def test_flag_state_grows_with_new_clients():
    flagged, week = flag_clients(np.array([0, 0, 0, 0, 0, 2]), np.full(6, 10.0),
                                 np.full(6, 1.0), np.full(6, np.nan), week=10, n_clients=4,
                                 rules=R23, flagged=np.array([False, True]),
                                 flagged_week=np.array([np.nan, 3.0]))
    assert list(flagged) == [True, True, False, False]
    assert week[1] == 3.0 and week[0] == 10.0 and np.isnan(week[3])


def test_badge_history_after_a_gap_longer_than_16_weeks():
    st = badges(95.0, week=WEEK - 20)
    st = badges(95.0, week=WEEK, state=st)
    assert st.eligible_weeks[0] == 16
    grown = st.resized(3)
    assert grown.rising_talent.size == 3 and grown.top_rated_plus.size == 3


def test_perk_counts_only_ended_jobs_and_works_for_several_freelancers():
    outcomes = np.array([S] * 9 + [S, N], np.int8)
    mask, _ = perk(outcomes[[*range(8), 9, 10]], ages=np.array([5.0] * 8 + [np.nan, 5.0]))
    assert not mask.any()  # 9 ended jobs, one running: the perk needs 10
    # two freelancers each with 10 jobs and a negative: each gets its own removal
    k = 11
    f = np.repeat([0, 1], k)
    out = np.tile(np.array([S] * 10 + [N], np.int8), 2)
    mask, _ = select_removals(f, np.arange(2 * k), np.full(2 * k, WEEK - 5.0), out,
                                  np.ones(2 * k), top_rated=np.array([True, True]), state=None,
                                  week=WEEK, n_freelancers=2, rules=R23)
    assert mask[k - 1] and mask[2 * k - 1] and mask.sum() == 2


def test_perk_with_freelancers_beyond_the_last_one_with_contracts():
    # freelancer 1 of 3 has the contracts; 0 and 2 have none (each gets no removal)
    k = 11
    mask, state = select_removals(np.ones(k, np.int64), np.arange(k), np.full(k, WEEK - 5.0),
                                  np.array([S] * 10 + [N], np.int8), np.ones(k),
                                  top_rated=np.array([True, True, True]), state=None, week=WEEK,
                                  n_freelancers=3, rules=R23)
    assert mask[-1] and mask.sum() == 1
    assert state.last_removal_week[1] == WEEK and np.isnan(state.last_removal_week[[0, 2]]).all()


def test_perk_under_2015_rules_scores_with_the_reasons():
    r = get_rules("upwork-2015")
    k = 11
    mask, _ = select_removals(np.zeros(k, np.int64), np.arange(k), np.full(k, WEEK - 5.0),
                              np.array([S] * 10 + [N], np.int8), np.ones(k),
                              top_rated=np.array([True]), state=None, week=WEEK, n_freelancers=1,
                              rules=r, reason=np.zeros(k, np.int8))
    assert mask[-1]


@pytest.mark.parametrize("override", [{"missing_feedback_share": 1.5},
                                      {"window_min_outcomes": -1},
                                      {"window_min_outcomes": 2.5},
                                      {"fee_tier_limits_usd": (1.0, 2.0, 3.0)}])
def test_rule_values_out_of_range_are_refused(override):
    with pytest.raises(ValueError, match=next(iter(override)).split("_usd")[0][:8]):
        get_rules("upwork-2023", **override)


def test_history_checks_the_payment_age_of_running_contracts():
    # the CSV path dates the last payment at the scoring week: 0 weeks old, which a rule that
    # allows no weeks since payment refuses
    df = history_frame(start_week=[0, 0, 50], end_week=[10, 10, np.nan],
                       end_reason=["completed", "completed", ""])
    assert score_history(df, week=100).contracts.reason.iloc[2] == "ongoing_long_term"
    strict = get_rules("upwork-2023", ongoing_max_weeks_since_payment=0)
    assert score_history(df, week=100, rules=strict).contracts.reason.iloc[2] == "ongoing"


def test_perk_picks_per_freelancer_among_several_candidates():
    # freelancer 0: 10 successes, a neutral and a negative; freelancer 1: the same
    one = [S] * 10 + [U, N]
    k = len(one)
    f = np.repeat([0, 1], k)
    mask, _ = select_removals(f, np.arange(2 * k), np.full(2 * k, WEEK - 5.0),
                              np.tile(np.array(one, np.int8), 2), np.ones(2 * k),
                              top_rated=np.array([True, True]), state=None, week=WEEK,
                              n_freelancers=2, rules=R23)
    assert mask.dtype == bool
    assert list(np.flatnonzero(mask)) == [k - 1, 2 * k - 1]  # each one's negative, not neutral
