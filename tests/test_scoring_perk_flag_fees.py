"""Feedback-removal perk, client flagging and fees: worked examples."""

import numpy as np
import pytest

from marketplace.scoring import (
    FlagCounts,
    Outcome,
    PerkState,
    classify_outcomes,
    contract_client_flagged,
    flag_clients,
    freelancer_fee_usd,
    get_rules,
    job_success_scores,
    select_removals,
)

S, U, N, X = Outcome.SUCCESS, Outcome.NEUTRAL, Outcome.NEGATIVE, Outcome.EXCLUDED
R = get_rules("upwork-2023")


def history(outcomes, weights=None, ends=None):
    k = len(outcomes)
    return dict(
        freelancer_idx=np.zeros(k, dtype=np.int64),
        client_idx=np.arange(k),
        end_week=np.full(k, 95.0) if ends is None else np.asarray(ends, dtype=float),
        outcome=np.asarray(outcomes, dtype=np.int8),
        weight=np.ones(k) if weights is None else np.asarray(weights, dtype=float),
    )


def remove(h, *, top_rated=True, state=None, week=100, rules=R, **kw):
    return select_removals(**h, top_rated=np.array([top_rated]), state=state, week=week,
                           n_freelancers=1, rules=rules, **kw)


def test_perk_removes_the_heaviest_negative_and_raises_jss():
    h = history([S] * 10 + [N, N, U], weights=[1] * 10 + [1, 1.5, 2])
    mask, state = remove(h)
    assert list(np.flatnonzero(mask)) == [11]  # negative before neutral, heaviest negative
    assert state.last_removal_week[0] == 100 and state.jobs_at_last_removal[0] == 13
    before = job_success_scores(**h, week=100, n_freelancers=1, rules=R).jss[0]
    h2 = dict(h, outcome=np.where(mask, X, h["outcome"]).astype(np.int8))
    after = job_success_scores(**h2, week=100, n_freelancers=1, rules=R).jss[0]
    assert after > before


def test_perk_only_for_top_rated_and_only_in_eras_that_have_it():
    h = history([S] * 10 + [N])
    assert not remove(h, top_rated=False)[0].any()
    assert not remove(h, rules=get_rules("upwork-2024"))[0].any()
    assert not remove(h, rules=get_rules(removal_perk_until_week=100))[0].any()
    assert remove(h, rules=get_rules(removal_perk_until_week=101))[0].any()
    assert not remove(h, wants=np.array([False]))[0].any()


def test_perk_at_most_every_13_weeks_and_every_10_jobs():
    h = history([S] * 20 + [N, N], ends=[10] * 20 + [95, 96])
    mask, state = remove(h)
    assert mask.sum() == 1
    # 12 weeks later: too soon, even with 10 more jobs.
    h2 = history([S] * 30 + [N], ends=[10] * 30 + [96])
    assert not remove(h2, state=state, week=112)[0].any()
    # 13 weeks later and 10 more jobs: allowed.
    h3 = history([S] * 31 + [N], ends=[10] * 31 + [96])
    assert remove(h3, state=state, week=113)[0].any()
    # 13 weeks later but fewer than 10 more jobs: not allowed.
    h4 = history([S] * 20 + [N, N], ends=[10] * 20 + [95, 96])
    assert not remove(h4, state=state, week=113)[0].any()
    # First use needs 10 jobs in total.
    assert not remove(history([S] * 8 + [N]))[0].any()


def test_perk_refused_when_removal_would_lower_jss():
    # 10 old jobs (beyond 24 months), 4 neutrals 20 weeks ago, a success and a neutral this
    # quarter: 3m = 50, 6m = 1/6, trending = 33.3 is displayed. The only candidates are
    # neutrals; the newest (in the 3-month window) is picked, but removing it leaves the 3-month
    # window with one outcome, so trending disappears and the JSS would fall to 6m = 20.
    h = history([S] * 10 + [U] * 4 + [S, U], ends=[-20] * 10 + [80] * 4 + [99, 99])
    before = job_success_scores(**h, week=100, n_freelancers=1, rules=R)
    assert before.jss[0] == pytest.approx(100 / 3)
    after_out = np.where(np.arange(16) == 15, X, h["outcome"]).astype(np.int8)
    after = job_success_scores(**dict(h, outcome=after_out), week=100, n_freelancers=1, rules=R)
    assert after.jss[0] == pytest.approx(20)
    mask, state = remove(h)
    assert not mask.any() and np.isnan(state.last_removal_week[0])
    # An older neutral would not lower it, so with the newest protected (wants-all policy picks
    # by weight first) a heavier old neutral is removed instead.
    h2 = history([S] * 10 + [U] * 4 + [S, U], weights=[1] * 10 + [2, 1, 1, 1, 1, 1],
                 ends=[-20] * 10 + [80] * 4 + [99, 99])
    mask2, _ = remove(h2)
    assert list(np.flatnonzero(mask2)) == [10]


def test_perk_state_grows_with_market():
    st = PerkState.empty(1).resized(3)
    assert st.last_removal_week.shape == (3,)


def test_flag_harsh_client_after_enough_contracts():
    # Client 0 gives 4 negatives out of 5 (80%): flagged. Client 1: 3/5 = 60%: flagged (>= 60%).
    # Client 2: 4 negatives of 4 (too few). Client 3: 2/5.
    c = np.repeat([0, 1, 2, 3], [5, 5, 4, 5])
    priv = np.array([2, 2, 2, 2, 10] + [1, 1, 1, 9, 9] + [0] * 4 + [0, 0, 9, 9, 9], float)
    ends = np.full(c.size, 50.0)
    flagged, when = flag_clients(c, ends, priv, np.full(c.size, np.nan), week=60, n_clients=4,
                                 rules=R)
    assert list(flagged) == [True, True, False, False]
    assert list(when[:2]) == [60, 60] and np.isnan(when[2])
    # Old feedback (beyond 104 weeks) is not used.
    flagged, _ = flag_clients(c, ends, priv, np.full(c.size, np.nan), week=160, n_clients=4,
                              rules=R)
    assert not flagged.any()
    # Switched off: nobody is flagged.
    flagged, _ = flag_clients(c, ends, priv, np.full(c.size, np.nan), week=60, n_clients=4,
                              rules=get_rules(client_flagging=False))
    assert not flagged.any()


def test_flag_is_permanent_and_keeps_its_week():
    flagged, when = flag_clients([0], [50.0], [5.0], [np.nan], week=200, n_clients=2, rules=R,
                                 flagged=np.array([True, False]), flagged_week=np.array([70.0,
                                                                                          np.nan]))
    assert list(flagged) == [True, False] and when[0] == 70


def test_flag_client_rated_poorly_by_freelancers():
    c = np.zeros(5, dtype=np.int64)
    flagged, _ = flag_clients(c, np.full(5, 50.0), np.full(5, 10.0), np.full(5, np.nan),
                              week=60, n_clients=1, rules=R,
                              rating_by_freelancer=np.array([1, 2, 2, 3, 4.0]))
    assert flagged[0]


def test_flagged_client_feedback_stops_counting():
    flagged = np.array([True, False])
    fw = np.array([60.0, np.nan])
    c = np.array([0, 0, 1])
    ends = np.array([40.0, 70.0, 70.0])
    assert list(contract_client_flagged(c, ends, flagged, fw, R)) == [True, True, False]
    r = get_rules(flag_retroactive=False)
    assert list(contract_client_flagged(c, ends, flagged, fw, r)) == [False, True, False]
    out, _ = classify_outcomes(np.array([0.0, 0.0, 0.0]), np.full(3, np.nan), np.zeros(3, np.int8),
                               np.full(3, 100.0), contract_client_flagged(c, ends, flagged, fw, R),
                               None, R)
    assert list(out) == [X, X, N]


@pytest.mark.parametrize("era", ["upwork-2015", "upwork-2023"])
def test_flag_counts_give_the_flags_of_the_full_count_at_every_update(era):
    """Contracts added as they end, aged out past the lookback: at every update the flags and
    flag weeks equal flag_clients over every contract ended so far (a short lookback so that
    many age out; harsh raters and poorly rated clients both present)."""
    rules = get_rules(era, flag_lookback_weeks=12, flag_min_contracts=3, flag_min_ratings=3)
    rng = np.random.default_rng(5)
    n_clients, weeks = 40, 80
    harsh = rng.random(n_clients) < 0.3
    c_all, e_all, p_all, s_all, r_all = [], [], [], [], []
    counts = FlagCounts(rules, n_clients)
    full = (None, None)
    incr = (None, None)
    n_flagged = 0
    for w in range(0, weeks, 2):
        k = int(rng.integers(5, 25))
        c = rng.integers(0, n_clients, k)
        ends = rng.integers(max(w - 1, 0), w + 1, k).astype(float)  # ended since last update
        private = np.where(harsh[c], rng.integers(0, 5, k), rng.integers(5, 11, k)).astype(float)
        private[rng.random(k) < 0.2] = np.nan
        stars = np.where(harsh[c], 2.0, 5.0)
        rating = np.where(rng.random(k) < 0.7, np.where(harsh[c], 1.0, 4.0), np.nan)
        order = np.argsort(ends, kind="stable")
        counts.add(c[order], ends[order], private[order], stars[order], rating[order])
        for lst, x in zip((c_all, e_all, p_all, s_all, r_all), (c, ends, private, stars, rating),
                          strict=True):
            lst.append(x)
        full = flag_clients(np.concatenate(c_all), np.concatenate(e_all),
                            np.concatenate(p_all), np.concatenate(s_all), week=w,
                            n_clients=n_clients, rules=rules, flagged=full[0],
                            flagged_week=full[1], rating_by_freelancer=np.concatenate(r_all))
        incr = counts.flag(w, incr[0], incr[1])
        assert np.array_equal(incr[0], full[0])
        np.testing.assert_array_equal(incr[1], full[1])
        n_flagged = int(full[0].sum())
    assert 0 < n_flagged < n_clients


def test_flag_counts_refuse_what_they_cannot_count_exactly():
    counts = FlagCounts(R, 3)
    with pytest.raises(ValueError, match="whole stars"):
        counts.add([0], [4.0], [9.0], [5.0], [4.5])
    with pytest.raises(ValueError, match="whole weeks"):
        counts.add([0], [np.nan], [9.0], [5.0], [4.0])
    counts.add([0], [6.0], [9.0], [5.0], [4.0])
    with pytest.raises(ValueError, match="order of end week"):
        counts.add([1], [5.0], [9.0], [5.0], [4.0])


def test_flat_fee_is_ten_percent():
    np.testing.assert_allclose(freelancer_fee_usd([100, 20_000], [0, 50_000], R), [10, 2000])


def test_tiered_fee_per_client_relationship():
    r = get_rules("upwork-2020")
    # First $500 at 20%, up to $10k at 10%, above at 5%.
    fee = freelancer_fee_usd([500, 1000, 10_000, 100, 100], [0, 0, 0, 9_950, 20_000], r)
    np.testing.assert_allclose(fee, [100, 100 + 50, 100 + 950 + 0, 5 + 2.5, 5])
    # Cumulative billing splits exactly: paying 1000 at once or 500 + 500.
    one = freelancer_fee_usd([1000], [0], r)[0]
    two = freelancer_fee_usd([500, 500], [0, 500], r).sum()
    assert one == pytest.approx(two)
