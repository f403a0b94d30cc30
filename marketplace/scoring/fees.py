"""Upwork's service fee on the freelancer's earnings.

Flat 10% since 3 May 2023 [V]; from 2016 to May 2023 a sliding scale per client relationship:
20% of the first $500 billed with a client, 10% of billings from $500.01 to $10,000, 5% above [V].
"""

from __future__ import annotations

import numpy as np

from .rules import RuleSet


def freelancer_fee_usd(payment_usd, billed_before_usd, rules: RuleSet) -> np.ndarray:
    """Fee (USD) on each payment. ``billed_before_usd`` is the lifetime amount already billed in
    the same freelancer-client relationship before this payment (ignored by the flat fee)."""
    p = np.asarray(payment_usd, dtype=np.float64)
    if rules.fee_schedule == "flat":
        return rules.fee_flat_rate * p
    b = np.asarray(billed_before_usd, dtype=np.float64)
    lo, hi = rules.fee_tier_limits_usd
    r0, r1, r2 = rules.fee_tier_rates
    start, end = b, b + p

    def overlap(a, z):
        return np.clip(np.minimum(end, z) - np.maximum(start, a), 0.0, None)

    return r0 * overlap(0.0, lo) + r1 * overlap(lo, hi) + r2 * overlap(hi, np.inf)
