"""Property-based tests of the window scores and the displayed JSS (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.scoring import (
    RULE_SET_NAMES,
    SCORE_NAMES,
    Outcome,
    get_rules,
    job_success_scores,
)

WEEK = 120
N_FREELANCERS = 4

contract = st.tuples(
    st.integers(0, N_FREELANCERS - 1),  # freelancer
    st.integers(0, 6),  # client
    st.integers(0, WEEK + 5),  # end week (a few after the scoring week)
    st.sampled_from([Outcome.SUCCESS, Outcome.NEUTRAL, Outcome.NEGATIVE, Outcome.EXCLUDED]),
    st.sampled_from([1.0, 1.25, 1.5, 2.5, 8.0]),
)
histories = st.lists(contract, min_size=0, max_size=40)
rule_names = st.sampled_from([n for n in RULE_SET_NAMES if n != "upwork-2015"])


def scores(rows, rules, **kw):
    arr = np.array(rows, dtype=float).reshape(-1, 5)
    return job_success_scores(
        arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2],
        arr[:, 3].astype(np.int8), arr[:, 4], week=WEEK, n_freelancers=N_FREELANCERS,
        rules=rules, reason=np.zeros(len(rows), np.int8), **kw,
    )


def all_scores(res):
    return np.stack([res.jss, *(res.score(n) for n in SCORE_NAMES)])


@settings(max_examples=150, deadline=None)
@given(histories, rule_names)
def test_window_scores_stay_in_0_100(rows, name):
    s = all_scores(scores(rows, get_rules(name)))
    finite = s[~np.isnan(s)]
    assert ((finite >= 0) & (finite <= 100)).all()


@settings(max_examples=150, deadline=None)
@given(histories, st.integers(0, N_FREELANCERS - 1), st.integers(0, 6),
       st.integers(WEEK - 150, WEEK), st.sampled_from([1.0, 1.5, 8.0]), rule_names)
def test_adding_a_success_never_lowers_a_window_score(rows, f, c, end, w, name):
    rules = get_rules(name)
    before = scores(rows, rules)
    after = scores([*rows, (f, c, end, Outcome.SUCCESS, w)], rules)
    for n in SCORE_NAMES:
        b, a = before.score(n)[f], after.score(n)[f]
        if not np.isnan(b):
            assert a >= b - 1e-9
    # The displayed JSS too (more outcomes can only make more windows eligible).
    if not np.isnan(before.jss[f]):
        assert after.jss[f] >= before.jss[f] - 1e-9


@settings(max_examples=150, deadline=None)
@given(histories, st.integers(0, N_FREELANCERS - 1), st.integers(0, 6),
       st.integers(0, WEEK), rule_names)
def test_adding_an_excluded_contract_changes_nothing(rows, f, c, end, name):
    rules = get_rules(name)
    before = scores(rows, rules)
    after = scores([*rows, (f, c, end, Outcome.EXCLUDED, 1.5)], rules)
    np.testing.assert_array_equal(all_scores(before), all_scores(after))
    np.testing.assert_array_equal(before.n_outcomes, after.n_outcomes)
    np.testing.assert_array_equal(before.n_clients, after.n_clients)


@settings(max_examples=150, deadline=None)
@given(histories, st.randoms(use_true_random=False), st.sampled_from(RULE_SET_NAMES))
def test_permuting_rows_changes_nothing(rows, rnd, name):
    rules = get_rules(name)
    shuffled = list(rows)
    rnd.shuffle(shuffled)
    a, b = scores(rows, rules), scores(shuffled, rules)
    np.testing.assert_allclose(all_scores(a), all_scores(b), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a.n_clients, b.n_clients)


@settings(max_examples=100, deadline=None)
@given(histories, st.sampled_from(RULE_SET_NAMES))
def test_displayed_jss_is_the_best_eligible_window(rows, name):
    rules = get_rules(name)
    res = scores(rows, rules)
    best = np.fmax.reduce(np.stack([res.score(n) for n in rules.displayed]), axis=0)
    shown = ~np.isnan(res.jss)
    np.testing.assert_allclose(res.jss[shown], best[shown])
    assert (res.n_outcomes[shown] >= rules.visibility_min_outcomes).all()
    assert (res.n_clients[shown] >= rules.visibility_min_clients).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.5, 1.0, 90.0, 91.0, 100.0, -3.25]), min_size=1,
                max_size=300),
       st.integers(0, 2**32 - 1))
def test_average_ranks_equal_scipys_rankdata_with_many_ties(values, seed):
    """The weekly Spearman ranks JSS values, which tie a lot: every member of a tied run gets the
    run's average rank whatever order the (unstable) sort leaves them in."""
    from scipy.stats import rankdata

    from marketplace.scoring import average_ranks

    x = np.random.default_rng(seed).permutation(np.array(values))
    np.testing.assert_array_equal(average_ranks(x), rankdata(x, method="average"))


@given(st.lists(st.integers(0, 100), min_size=1, max_size=400), st.sampled_from([0, 4000, 4097]))
def test_average_ranks_of_whole_numbers_equal_rankdata(values, shift):
    """A JSS on 0-100 is ranked by counting (whole numbers up to 4096), anything else by sorting:
    both give scipy's average ranks."""
    from scipy.stats import rankdata

    from marketplace.scoring import average_ranks

    x = np.array(values, dtype=np.float64) + shift
    np.testing.assert_array_equal(average_ranks(x), rankdata(x, method="average"))
