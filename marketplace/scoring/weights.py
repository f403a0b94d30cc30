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
    if rules.job_size_weights:
        lo, hi = rules.size_weight_cutoffs_usd
        size_class = (e > lo).view(np.int8) + (e > hi).view(np.int8)
        weight = np.asarray(rules.size_weights, dtype=np.float64)[size_class]
    else:
        weight = np.full(e.shape, rules.size_weights[0], dtype=np.float64)
    if paid_weeks is not None and rules.long_term_extra_weight > 0:
        periods = np.asarray(paid_weeks, dtype=np.float64) / rules.long_term_period_weeks
        np.floor(periods, out=periods)
        np.fmax(periods, 0.0, out=periods)  # NaN or negative paid weeks: no extra weight
        periods *= rules.long_term_extra_weight
        weight += periods
    np.minimum(weight, rules.weight_cap, out=weight)
    return weight
