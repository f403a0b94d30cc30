"""Outcome of each contract: success, neutral, negative or excluded, with the reason.

Vectorized over a struct of contract arrays. Precedence (first match wins):

1. ``removed`` with the Top Rated perk                 -> excluded, "removed"
2. client flagged or suspended (``rules.client_flagging``) -> excluded, "flagged_client"
3. ongoing contract: paid long enough and recently     -> success, "ongoing_long_term"
                     otherwise                         -> excluded, "ongoing"
4. dispute (``rules.dispute_is_negative``)             -> negative, "dispute"
5. private score 0-10 present: 9-10 success, 7-8 neutral, 0-6 negative, "private_score"
6. else public stars 1-5 present (``rules.use_public_stars_fallback``): >= 4.5 success,
   >= 3.5 neutral, else negative, "public_stars"
7. else                                                -> excluded, "no_feedback"
8. $0 earned and not negative (``rules.exclude_zero_earnings_non_negative``) -> excluded,
   "zero_earnings". A full refund (earnings 0, public stars hidden) with a negative private score
   therefore still counts as negative, as Upwork documents.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np

from .rules import RuleSet


class Outcome(IntEnum):
    SUCCESS = 0
    NEUTRAL = 1
    NEGATIVE = 2
    EXCLUDED = 3


OUTCOME_NAMES: tuple[str, ...] = tuple(o.name.lower() for o in Outcome)

#: How a contract ended; the int8 code of a contract is its index here.
END_REASONS: tuple[str, ...] = ("completed", "client_ended", "freelancer_ended", "dispute")
DISPUTE = END_REASONS.index("dispute")

#: Why a contract got its outcome; the int8 ``reason`` code is the index. The first four go with
#: counted outcomes, the rest with ``Outcome.EXCLUDED``.
REASONS: tuple[str, ...] = (
    "private_score",
    "public_stars",
    "dispute",
    "ongoing_long_term",
    "no_feedback",
    "zero_earnings",
    "flagged_client",
    "removed",
    "ongoing",
)
#: Same tuple as REASONS (the name used in docs/architecture.md).
EXCLUSION_REASONS = REASONS
R_PRIVATE, R_PUBLIC, R_DISPUTE, R_ONGOING_LT, R_NO_FEEDBACK, R_ZERO, R_FLAGGED, R_REMOVED, \
    R_ONGOING = range(len(REASONS))

_NONE = np.int8(-1)


def _bands(x: np.ndarray, success_min: float, neutral_min: float) -> np.ndarray:
    """int8 class of a score: 0 success, 1 neutral, 2 negative (NaN -> 2; masked by callers)."""
    return np.int8(2) - (x >= neutral_min).view(np.int8) - (x >= success_min).view(np.int8)


def feedback_class(private_score, public_stars, rules: RuleSet) -> np.ndarray:
    """Outcome implied by feedback alone (int8: 0 success, 1 neutral, 2 negative, -1 none).

    Private score first; public stars only where no private score exists and the rule allows.
    """
    p = np.asarray(private_score, dtype=np.float64)
    cls = _bands(p, rules.private_success_min, rules.private_neutral_min)
    no_p = np.isnan(p)
    if rules.use_public_stars_fallback and public_stars is not None:
        s = np.asarray(public_stars, dtype=np.float64)
        from_s = _bands(s, rules.public_success_min, rules.public_neutral_min)
        from_s[np.isnan(s)] = _NONE
        np.copyto(cls, from_s, where=no_p)
    else:
        cls[no_p] = _NONE
    return cls


def classify_outcomes(
    private_score,
    public_stars,
    end_reason,
    earnings_usd,
    client_flagged,
    removed,
    rules: RuleSet,
    *,
    ongoing=None,
    paid_weeks=None,
    last_payment_week=None,
    week: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Outcome (int8 ``Outcome``) and reason (int8 index of ``REASONS``) of each contract.

    Arrays have one entry per contract. ``private_score`` and ``public_stars`` are floats with NaN
    for none/hidden; ``end_reason`` holds codes of ``END_REASONS`` (ignored for ongoing contracts);
    ``client_flagged``/``removed`` are bools (None = all False).

    Ongoing contracts (``ongoing`` True) count as a success when ``rules.count_ongoing_long_term``,
    ``paid_weeks >= rules.ongoing_min_paid_weeks`` and, if ``last_payment_week`` and ``week`` are
    given, the last payment is less than ``rules.ongoing_max_weeks_since_payment`` weeks old.
    ``job_success_scores`` dates such contracts at the scoring week (their end_week is NaN).
    """
    fb = feedback_class(private_score, public_stars, rules)
    none = fb < 0
    outcome = fb.copy()
    outcome[none] = Outcome.EXCLUDED
    # reason: private_score (0) where a private score exists, public_stars (1) where only stars
    # decided, no_feedback (4) where neither.
    reason = np.isnan(np.asarray(private_score, dtype=np.float64)).view(np.int8).copy()
    reason[none] = R_NO_FEEDBACK

    if rules.exclude_zero_earnings_non_negative:
        zero = (np.asarray(earnings_usd, dtype=np.float64) <= 0) & (outcome < Outcome.NEGATIVE)
        outcome[zero] = Outcome.EXCLUDED
        reason[zero] = R_ZERO

    if rules.dispute_is_negative:
        disp = np.asarray(end_reason) == DISPUTE
        outcome[disp] = Outcome.NEGATIVE
        reason[disp] = R_DISPUTE

    if ongoing is not None:
        og = np.asarray(ongoing, dtype=bool)
        if og.any():
            eligible = og & rules.count_ongoing_long_term
            if paid_weeks is None:
                eligible = eligible & False
            else:
                pw = np.nan_to_num(np.asarray(paid_weeks, dtype=np.float64))
                eligible = eligible & (pw >= rules.ongoing_min_paid_weeks)
            if last_payment_week is not None and week is not None:
                lp = np.asarray(last_payment_week, dtype=np.float64)
                eligible = eligible & (week - lp < rules.ongoing_max_weeks_since_payment)
            outcome[og] = Outcome.EXCLUDED
            reason[og] = R_ONGOING
            outcome[eligible] = Outcome.SUCCESS
            reason[eligible] = R_ONGOING_LT

    if rules.client_flagging and client_flagged is not None:
        fl = np.asarray(client_flagged, dtype=bool)
        outcome[fl] = Outcome.EXCLUDED
        reason[fl] = R_FLAGGED

    if removed is not None:
        rm = np.asarray(removed, dtype=bool)
        outcome[rm] = Outcome.EXCLUDED
        reason[rm] = R_REMOVED

    return outcome, reason
