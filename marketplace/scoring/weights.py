"""Weight of each contract in the Job Success Score.

Upwork (help article 34958134307475 [V]): earnings $1-250 weigh 1.0, $251-1,000 1.25, above $1,000
1.5; "for contract length every three months with payment is weighted as an extra job up to a
maximum weight of eight jobs". We read "an extra job" as ``rules.long_term_extra_weight`` (1.0)
added per full ``long_term_period_weeks`` (13) paid weeks, the total capped at ``weight_cap`` (8).
"""

from __future__ import annotations

import numpy as np

from .rules import RuleSet


def contract_weights(earnings_usd, paid_weeks, rules: RuleSet) -> np.ndarray:
    """Float64 weight per contract. ``paid_weeks`` may be None (no long-term extra) or hold NaN."""
    e = np.asarray(earnings_usd, dtype=np.float64)
    w0, w1, w2 = rules.size_weights
    if rules.job_size_weights:
        lo, hi = rules.size_weight_cutoffs_usd
        weight = np.where(e > hi, w2, np.where(e > lo, w1, w0))
    else:
        weight = np.full(e.shape, w0, dtype=np.float64)
    if paid_weeks is not None and rules.long_term_extra_weight > 0:
        pw = np.nan_to_num(np.asarray(paid_weeks, dtype=np.float64))
        weight = weight + rules.long_term_extra_weight * np.floor(
            np.maximum(pw, 0.0) / rules.long_term_period_weeks
        )
    return np.minimum(weight, rules.weight_cap)
