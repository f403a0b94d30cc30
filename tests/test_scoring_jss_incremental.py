"""Incremental JSS (``WindowSums``) against the full computation (``job_success_scores``).

A random stream of contracts (starts, ends, ongoing long-term contracts that start to count and
gain weight, reclassifications as by a client flag or a removal) is scored every two weeks both
ways; every array of the result must be bit-identical at every update, under every rule era.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from marketplace.scoring import (
    RULE_SET_NAMES,
    Outcome,
    WindowSums,
    get_rules,
    job_success_scores,
)
from marketplace.scoring.outcomes import R_FLAGGED, R_NO_FEEDBACK, R_ONGOING, R_ONGOING_LT

FIELDS = ("jss", "window_24m", "window_12m", "window_6m", "window_3m", "trending", "visible",
          "n_outcomes", "n_clients", "n_success", "n_neutral", "n_negative")


def _stream(seed: int, n_f: int = 40, n_c: int = 25, n_k: int = 1000, weeks: int = 160):
    rng = np.random.default_rng(seed)
    f = rng.integers(0, n_f, n_k)
    c = rng.integers(0, n_c, n_k)
    start = rng.integers(0, weeks, n_k)
    length = rng.integers(0, 40, n_k)
    end = start + length
    out = rng.choice(4, n_k, p=[0.6, 0.15, 0.15, 0.1]).astype(np.int8)
    reason = np.where(out == Outcome.EXCLUDED, R_NO_FEEDBACK, 0).astype(np.int8)
    weight = rng.choice([1.0, 1.25, 1.5], n_k) + np.floor(length / 13)
    weight = np.minimum(weight, 8.0)
    pair_key = f * n_c + c
    _, pair = np.unique(pair_key, return_inverse=True)
    flag_week = rng.integers(0, 3 * weeks, n_c)  # some clients get flagged during the run
    return dict(f=f, c=c, start=start, end=end, out=out, reason=reason, weight=weight, pair=pair,
                flag_week=flag_week, n_f=n_f, weeks=weeks)


def _state_at(s, week):
    """Outcome, reason, weight and end week of every started contract as seen at ``week``."""
    started = np.flatnonzero(s["start"] <= week)
    ended = s["end"][started] <= week
    end_week = np.where(ended, s["end"][started], np.nan)
    out = s["out"][started].copy()
    reason = s["reason"][started].copy()
    weight = s["weight"][started].copy()
    # a running contract counts as a long-term success after 13 paid weeks, with its weight so far
    paid = week - s["start"][started]
    run = ~ended
    lt = run & (paid >= 13)
    out[run] = Outcome.EXCLUDED
    reason[run] = R_ONGOING
    out[lt] = Outcome.SUCCESS
    reason[lt] = R_ONGOING_LT
    weight[run] = np.minimum(1.0 + np.floor(paid[run] / 13), 8.0)
    flagged = s["flag_week"][s["c"][started]] <= week
    out[flagged] = Outcome.EXCLUDED
    reason[flagged] = R_FLAGGED
    return started, end_week, out, reason, weight


@pytest.mark.parametrize("era", RULE_SET_NAMES)
@pytest.mark.parametrize("every_contract", [False, True])
def test_window_sums_equal_full_computation_at_every_update(era, every_contract):
    rules = get_rules(era)
    s = _stream(seed=7)
    ws = WindowSums(rules)
    prev = None
    checked = 0
    for week in range(0, s["weeks"] + 120, 2):
        ids, end_week, out, reason, weight = _state_at(s, week)
        if every_contract or prev is None:
            changed = np.ones(ids.size, bool)
        else:  # only what may have changed: running, just ended, new, reclassified
            p_ids, p_end, p_out, p_reason, p_w = prev
            known = np.isin(ids, p_ids)
            old = np.searchsorted(p_ids, ids)
            old = np.minimum(old, p_ids.size - 1)
            same = (known & (p_out[old] == out) & (p_reason[old] == reason)
                    & (p_w[old] == weight) & ((p_end[old] == end_week)
                                              | (np.isnan(p_end[old]) & np.isnan(end_week))))
            changed = ~same
        ws.update(week, ids[changed], freelancer=s["f"], pair=s["pair"],
                  end_week=end_week[changed], outcome=out[changed], reason=reason[changed],
                  weight=weight[changed], n_freelancers=s["n_f"], n_pairs=int(s["pair"].max()) + 1)
        prev = (ids, end_week, out, reason, weight)
        full = job_success_scores(s["f"][ids], s["c"][ids], end_week, out, weight, week=week,
                                  n_freelancers=s["n_f"], rules=rules, reason=reason,
                                  pair_idx=s["pair"][ids])
        inc = ws.result(np.arange(s["n_f"]))
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(inc, name), getattr(full, name),
                                          err_msg=f"{era} week {week} {name}")
        checked += int(np.isfinite(full.jss).sum())
    assert checked > 300  # the comparison covered many shown scores


def test_window_sums_on_a_subset_and_growing_ids():
    """Scores of any subset of freelancers; ids may grow between updates."""
    rules = get_rules("upwork-2023")
    ws = WindowSums(rules)
    f, pair = np.array([0, 0, 1, 1, 5]), np.array([0, 1, 2, 3, 4])
    ws.update(10, [0, 1, 2, 3], freelancer=f, pair=pair, end_week=[3.0, 4.0, 5.0, 6.0],
              outcome=[0, 2, 0, 0], reason=[0, 0, 0, 0], weight=[1.0, 1.0, 1.5, 1.25],
              n_freelancers=2, n_pairs=4)
    ws.update(12, [4], freelancer=f, pair=pair, end_week=[11.0], outcome=[0], reason=[0],
              weight=[1.0], n_freelancers=6, n_pairs=5)
    res = ws.result([1, 0, 5])
    np.testing.assert_array_equal(res.jss, [100.0, 0.0, np.nan])
    np.testing.assert_array_equal(res.n_outcomes, [2, 2, 1])


def test_unsupported_weights_and_backwards_weeks_are_refused():
    odd = dataclasses.replace(get_rules("upwork-2023"), size_weights=(1.0, 1.1, 1.5))
    assert not WindowSums.supports(odd)
    with pytest.raises(ValueError, match="multiples of 1/4"):
        WindowSums(odd)
    ws = WindowSums(get_rules("upwork-2023"))
    ws.update(4, [], freelancer=np.zeros(0, int), pair=np.zeros(0, int), end_week=[],
              outcome=[], reason=[], weight=[], n_freelancers=1, n_pairs=0)
    with pytest.raises(ValueError, match="before"):
        ws.update(2, [], freelancer=np.zeros(0, int), pair=np.zeros(0, int), end_week=[],
                  outcome=[], reason=[], weight=[], n_freelancers=1, n_pairs=0)


def test_window_sums_without_reasons_and_without_freelancers():
    """``reason=None`` (no reasons known) scores as ``job_success_scores`` without reasons;
    scores of no freelancer are empty (gaps found by mutation testing)."""
    rules = get_rules("upwork-2023")
    assert WindowSums(rules).result([]).jss.shape == (0,)
    f, pair = np.array([0, 0, 0, 1]), np.array([0, 1, 2, 3])
    end, out, w = np.array([3.0, 5.0, np.nan, 6.0]), np.array([0, 2, 0, 0]), np.ones(4)
    ws = WindowSums(rules)
    ws.update(10, [0, 1, 2, 3], freelancer=f, pair=pair, end_week=end, outcome=out, reason=None,
              weight=w, n_freelancers=2, n_pairs=4)
    full = job_success_scores(f, pair, end, out, w, week=10, n_freelancers=2, rules=rules)
    res = ws.result([0, 1])
    for name in ("jss", "n_outcomes", "n_clients", "visible"):
        np.testing.assert_array_equal(getattr(res, name), getattr(full, name), err_msg=name)
        assert getattr(res, name).dtype == getattr(full, name).dtype, name
    # each contract taken out in turn (a running one, an ended one): as scoring without it
    for k in (1, 2):
        rest = np.arange(4) != k
        without = ws.scores_without([k], [f[k]], [pair[k]])
        ref = job_success_scores(f[rest], pair[rest], end[rest], out[rest], w[rest], week=10,
                                 n_freelancers=2, rules=rules)
        for name in ("jss", "window_24m", "n_outcomes", "n_clients"):
            np.testing.assert_array_equal(getattr(without, name)[0], getattr(ref, name)[f[k]],
                                          err_msg=f"{name} without contract {k}")
