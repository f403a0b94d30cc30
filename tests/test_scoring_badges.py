"""Top Rated (13 of 16 weeks), Top Rated Plus, Rising Talent: worked examples."""

import numpy as np

from marketplace.scoring import (
    BadgeState,
    Outcome,
    get_rules,
    large_contract_flags,
    update_badges,
)

R = get_rules("upwork-2023")


def run_weeks(jss_by_week, *, earned=5000.0, first=0.0, last_activity=None, entry=None,
              n_negative=None, large=None, start=20, rules=R, step=1):
    """Update one freelancer's badges week by week; returns the final state and TR per week."""
    state, tr = None, []
    for i, j in enumerate(jss_by_week):
        week = start + i * step
        state = update_badges(
            state, jss=np.array([j]), earnings_52w_usd=np.array([earned]),
            first_contract_week=np.array([first]),
            last_activity_week=np.array([week if last_activity is None else last_activity]),
            week=week, rules=rules,
            entry_week=None if entry is None else np.array([entry]),
            n_negative=None if n_negative is None else np.array([n_negative]),
            has_large_contract=None if large is None else np.array([large]),
        )
        tr.append(bool(state.top_rated[0]))
    return state, tr


def test_top_rated_needs_13_eligible_weeks_of_16():
    state, tr = run_weeks([95] * 13)
    assert tr[:12] == [False] * 12 and tr[12]
    assert state.eligible_weeks[0] == 13


def test_top_rated_survives_three_bad_weeks_but_not_current_jss_below_90():
    _, tr = run_weeks([95] * 13 + [85] + [95] * 2)
    assert tr[13] is False  # current JSS below 90
    assert tr[14] and tr[15]  # 15 of 16 eligible again
    _, tr = run_weeks([95] * 13 + [85] * 4 + [95])
    assert tr[-1] is False  # only 12 of the last 16 weeks eligible (hysteresis)


def test_top_rated_needs_earnings_tenure_and_activity():
    assert not run_weeks([95] * 16, earned=999.0)[1][-1]
    assert run_weeks([95] * 16, earned=1000.0)[1][-1]
    # first contract at week 30, scored at week 35 (start 20 + 15): only 5 weeks of tenure.
    assert not run_weeks([95] * 16, first=30.0)[1][-1]
    assert not run_weeks([95] * 16, last_activity=5.0)[1][-1]  # 30 weeks inactive


def test_rising_talent_weeks_count_toward_top_rated():
    # 12 weeks without JSS as Rising Talent, then JSS 100: TR at once (13 eligible weeks).
    state, tr = run_weeks([np.nan] * 12 + [100], n_negative=0)
    assert tr[-1] and state.eligible_weeks[0] == 13
    # With Rising Talent switched off those weeks do not count.
    _, tr = run_weeks([np.nan] * 12 + [100], n_negative=0,
                      rules=get_rules(rising_talent=False))
    assert not tr[-1]


def test_rising_talent_rules():
    state, _ = run_weeks([np.nan], n_negative=0)
    assert state.rising_talent[0]
    state, _ = run_weeks([np.nan], n_negative=1)
    assert not state.rising_talent[0]
    state, _ = run_weeks([95], n_negative=0)
    assert not state.rising_talent[0]  # has a JSS
    state, _ = run_weeks([np.nan], last_activity=-50.0)  # inactive 70 weeks, old account
    assert not state.rising_talent[0]
    state, _ = run_weeks([np.nan], last_activity=np.nan, entry=18.0)  # joined 2 weeks ago
    assert state.rising_talent[0]


def test_biweekly_updates_fill_the_weeks_between():
    # Updates every 2 weeks: 7 updates cover 13 weeks (1 + 6*2) of JSS >= 90.
    _, tr = run_weeks([95] * 7, step=2)
    assert tr[-1] and not tr[-2]
    # The week between two updates keeps the earlier (displayed) JSS; the new week the new one.
    state, _ = run_weeks([95] * 8 + [85], step=2)
    assert state.eligible_weeks[0] == 15
    assert state.eligible_bits[0] & 1 == 0 and state.eligible_bits[0] & 2 == 2


def test_top_rated_plus():
    st, _ = run_weeks([95] * 13, earned=12_000.0, large=True)
    assert st.top_rated_plus[0]
    st, _ = run_weeks([95] * 13, earned=9_000.0, large=True)
    assert st.top_rated[0] and not st.top_rated_plus[0]
    st, _ = run_weeks([95] * 13, earned=12_000.0, large=False)
    assert not st.top_rated_plus[0]
    st, _ = run_weeks([95] * 13, earned=12_000.0, large=True, rules=get_rules("upwork-2015"))
    assert not st.top_rated_plus[0]


def test_large_contract_flags():
    f = np.array([0, 1, 2, 3, 3])
    earn = np.array([20_000, 20_000, 500, 20_000, 20_000.0])
    out = np.array([Outcome.SUCCESS, Outcome.NEGATIVE, Outcome.SUCCESS, Outcome.SUCCESS,
                    Outcome.EXCLUDED])
    ends = np.array([90, 90, 90, 10, np.nan])
    flags = large_contract_flags(f, earn, out, ends, week=100, n_freelancers=5, rules=R)
    assert list(flags) == [True, False, False, True, False]  # 3: ongoing counts


def test_state_grows_with_the_market():
    st = BadgeState.empty(2)
    st2 = update_badges(st, jss=np.array([95, 95, 95.0]), earnings_52w_usd=np.zeros(3),
                        first_contract_week=np.zeros(3), last_activity_week=np.zeros(3),
                        week=1, rules=R)
    assert st2.eligible_bits.shape == (3,)


def test_large_contract_flags_per_contract_bar():
    # Upwork sets the large-contract bar by category: the same $12,000 contract is large under a
    # $10,000 bar and not under a $20,000 one; a scalar bar applies to every contract.
    f = np.array([0, 1])
    earn = np.array([12_000.0, 12_000.0])
    out = np.array([Outcome.SUCCESS, Outcome.SUCCESS])
    ends = np.array([90.0, 90.0])
    flags = large_contract_flags(f, earn, out, ends, week=100, n_freelancers=2, rules=R,
                                 threshold_usd=np.array([10_000.0, 20_000.0]))
    assert list(flags) == [True, False]
    flags = large_contract_flags(f, earn, out, ends, week=100, n_freelancers=2, rules=R,
                                 threshold_usd=5_000.0)
    assert list(flags) == [True, True]
