"""Top Rated, Top Rated Plus and Rising Talent as vectorized state.

Top Rated [V]: current JSS >= 90; JSS >= 90 *or Rising Talent* in at least 13 of the last 16 weeks;
>= $1,000 earned in the last 52 weeks; first contract more than 13 weeks (90 days) ago; activity in
the last 13 weeks. The 16-week history is one bit per week per freelancer (bit 0 = this week), so a
whole market updates with a few integer operations.

Top Rated Plus [V]: Top Rated, > $10,000 earned in 52 weeks and a large contract in the last 52
weeks without a negative outcome. Rising Talent [V]: no JSS yet, no negative outcome, and active in
the last 13 weeks or joined in the last 4 weeks (Upwork's readiness test and profile checks are not
modelled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .outcomes import Outcome
from .rules import RuleSet


@dataclass(frozen=True)
class BadgeState:
    """Badge state of every freelancer after the update at ``last_week``."""

    eligible_bits: np.ndarray
    """uint32 per freelancer: bit i set = eligible week ``last_week - i`` (JSS >= 90 or RT)."""
    top_rated: np.ndarray
    top_rated_plus: np.ndarray
    rising_talent: np.ndarray
    last_week: float | None = None

    @classmethod
    def empty(cls, n_freelancers: int) -> BadgeState:
        z = np.zeros(n_freelancers, dtype=bool)
        return cls(np.zeros(n_freelancers, dtype=np.uint32), z, z.copy(), z.copy(), None)

    @property
    def eligible_weeks(self) -> np.ndarray:
        """Number of eligible weeks in the history (uint8)."""
        return np.bitwise_count(self.eligible_bits)

    def resized(self, n_freelancers: int) -> BadgeState:
        """The same state for a market that grew to ``n_freelancers`` (new ones start empty)."""
        extra = n_freelancers - self.eligible_bits.size
        if extra <= 0:
            return self
        pad = np.zeros(extra, dtype=bool)
        return BadgeState(
            np.concatenate([self.eligible_bits, np.zeros(extra, dtype=np.uint32)]),
            np.concatenate([self.top_rated, pad]),
            np.concatenate([self.top_rated_plus, pad]),
            np.concatenate([self.rising_talent, pad]),
            self.last_week,
        )


def _shift_history(bits: np.ndarray, current: np.ndarray, elapsed: int, history: int):
    """Advance the weekly eligibility history by ``elapsed`` weeks.

    Weeks between two updates keep the eligibility of the previous update (the JSS shown did not
    change in between); the newest bit is this week's eligibility.
    """
    hist_mask = np.uint32((1 << history) - 1)
    cur = current.astype(np.uint32)
    if elapsed <= 0:  # re-evaluation of the same week
        return ((bits & ~np.uint32(1)) | cur) & hist_mask
    prev = bits & np.uint32(1)
    if elapsed >= history:
        fill = np.uint32(int(hist_mask) & ~1)  # (np.uint32 & -2 overflows in numpy 2)
        return (prev * fill) | cur
    fill = np.uint32(((1 << elapsed) - 1) & ~1)
    shifted = (bits.astype(np.uint64) << np.uint64(elapsed)).astype(np.uint32)
    return (shifted | (prev * fill) | cur) & hist_mask


def update_badges(
    state: BadgeState | None,
    *,
    jss,
    earnings_52w_usd,
    first_contract_week,
    last_activity_week,
    week: float,
    rules: RuleSet,
    entry_week=None,
    n_negative=None,
    has_large_contract=None,
) -> BadgeState:
    """Badges of every freelancer at ``week`` (call weekly, or at each scoring week).

    Per-freelancer arrays: ``jss`` (NaN = none), ``earnings_52w_usd``, ``first_contract_week`` and
    ``last_activity_week`` (NaN = never), optional ``entry_week`` (joined), ``n_negative`` (negative
    outcomes in the 24-month window; Rising Talent needs none), ``has_large_contract`` (for Top
    Rated Plus, see ``large_contract_flags``). ``state`` None starts with an empty history.
    """
    j = np.asarray(jss, dtype=np.float64)
    n = j.size
    state = BadgeState.empty(n) if state is None else state.resized(n)
    last = np.asarray(last_activity_week, dtype=np.float64)
    first = np.asarray(first_contract_week, dtype=np.float64)
    earned = np.asarray(earnings_52w_usd, dtype=np.float64)

    active = week - last < rules.tr_max_weeks_inactive
    if rules.rising_talent:
        new_account = (
            week - np.asarray(entry_week, dtype=np.float64) < rules.rt_new_account_weeks
            if entry_week is not None else np.zeros(n, dtype=bool)
        )
        rising = np.isnan(j) & (active | new_account)
        if n_negative is not None:
            rising &= np.asarray(n_negative) == 0
    else:
        rising = np.zeros(n, dtype=bool)

    high = j >= rules.tr_min_jss
    elapsed = 1 if state.last_week is None else int(np.rint(week - state.last_week))
    bits = _shift_history(state.eligible_bits, high | rising, elapsed, rules.tr_history_weeks)

    top_rated = (
        high
        & (np.bitwise_count(bits) >= rules.tr_min_eligible_weeks)
        & (earned >= rules.tr_min_earnings_52w_usd)
        & (week - first > rules.tr_min_tenure_weeks)
        & active
    )
    if rules.top_rated_plus and has_large_contract is not None:
        plus = top_rated & (earned > rules.trp_min_earnings_52w_usd) & np.asarray(
            has_large_contract, dtype=bool)
    else:
        plus = np.zeros(n, dtype=bool)
    return BadgeState(bits, top_rated, plus, rising, float(week))


def large_contract_flags(
    freelancer_idx, earnings_usd, outcome, end_week, *, week: float, n_freelancers: int,
    rules: RuleSet, threshold_usd=None,
) -> np.ndarray:
    """Bool per freelancer: a contract of at least the large-contract bar that is ongoing or ended
    within 52 weeks, without a negative outcome (Top Rated Plus requirement [V]).

    The bar is ``threshold_usd`` (a number, or one per contract: Upwork sets it by the job's
    category, $5,000 to $30,000 [V]) or, when None, ``rules.trp_large_contract_usd``. Earnings of
    separate contracts with the same client do not combine [V].
    """
    e = np.asarray(earnings_usd, dtype=np.float64)
    ew = np.asarray(end_week, dtype=np.float64)
    bar = rules.trp_large_contract_usd if threshold_usd is None else np.asarray(
        threshold_usd, dtype=np.float64)
    recent = np.isnan(ew) | ((week - ew >= 0) & (week - ew < 52))
    ok = (e >= bar) & recent & (np.asarray(outcome) != Outcome.NEGATIVE)
    f = np.asarray(freelancer_idx)
    return np.bincount(f, weights=ok, minlength=n_freelancers)[:n_freelancers] > 0
