"""Client flagging: clients with a history of poor feedback stop counting in the JSS.

Upwork [V]: "A client that repeatedly receives poor feedback from freelancers will be flagged, and
their inputs omitted from your score"; its internal KB lists clients with "a habit of giving a
significant amount of bad feedback that's considered unreasonable" and clients with "a very low FL
feedback rating". Upwork publishes no numbers, so the rule here (parameters in ``RuleSet``) is:

* harsh rater: among the client's contracts with feedback that ended within
  ``flag_lookback_weeks`` (104), at least ``flag_min_contracts`` (5) exist and at least
  ``flag_min_negative_share`` (60%) of them are negative outcomes;
* poorly rated: the freelancers' ratings of the client (1-5 stars) over the same lookback number at
  least ``flag_min_ratings`` (5) with a mean of at most ``flag_max_mean_rating`` (2.5).

A flag is permanent. From then on the client's contracts are excluded from every freelancer's JSS
(also earlier ones when ``flag_retroactive``: "their inputs omitted"); see
``contract_client_flagged``.
"""

from __future__ import annotations

import numpy as np

from .outcomes import feedback_class
from .rules import RuleSet


def flag_clients(
    client_idx,
    end_week,
    private_score,
    public_stars,
    *,
    week: float,
    n_clients: int,
    rules: RuleSet,
    flagged=None,
    flagged_week=None,
    rating_by_freelancer=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Flagged clients after ``week``: (bool per client, week flagged as float, NaN = never).

    Contract arrays: ``client_idx``, ``end_week`` (NaN = ongoing, not used), the client's
    ``private_score``/``public_stars`` given to the freelancer, optional ``rating_by_freelancer``
    (stars the freelancer gave the client, NaN = none). ``flagged``/``flagged_week`` are the
    previous state (None = no client flagged yet).
    """
    m = int(n_clients)
    flagged = np.zeros(m, dtype=bool) if flagged is None else np.asarray(flagged, dtype=bool)
    flagged_week = (np.full(m, np.nan) if flagged_week is None
                    else np.asarray(flagged_week, dtype=np.float64))
    if flagged.size < m:
        flagged = np.concatenate([flagged, np.zeros(m - flagged.size, dtype=bool)])
        flagged_week = np.concatenate([flagged_week, np.full(m - flagged_week.size, np.nan)])
    if not rules.client_flagging:
        return flagged, flagged_week

    c = np.asarray(client_idx)
    age = week - np.asarray(end_week, dtype=np.float64)
    recent = (age >= 0) & (age < rules.flag_lookback_weeks)
    cls = feedback_class(private_score, public_stars, rules)
    rated = recent & (cls >= 0)
    n_rated = np.bincount(c, weights=rated, minlength=m)[:m]
    n_negative = np.bincount(c, weights=rated & (cls == 2), minlength=m)[:m]
    harsh = (n_rated >= rules.flag_min_contracts) & (
        n_negative >= rules.flag_min_negative_share * n_rated)
    new = harsh
    if rating_by_freelancer is not None:
        r = np.asarray(rating_by_freelancer, dtype=np.float64)
        has = recent & ~np.isnan(r)
        n_r = np.bincount(c, weights=has, minlength=m)[:m]
        total = np.bincount(c, weights=np.where(has, r, 0.0), minlength=m)[:m]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / n_r
        new = new | ((n_r >= rules.flag_min_ratings) & (mean <= rules.flag_max_mean_rating))
    new &= ~flagged
    flagged = flagged | new
    flagged_week = np.where(new, float(week), flagged_week)
    return flagged, flagged_week


def contract_client_flagged(client_idx, end_week, flagged, flagged_week, rules: RuleSet):
    """Per contract: its client's feedback no longer counts (input ``client_flagged`` of
    ``classify_outcomes``). With ``rules.flag_retroactive`` False only contracts ending (or still
    running) at or after the flag week are excluded."""
    c = np.asarray(client_idx)
    out = np.asarray(flagged, dtype=bool)[c]
    if not rules.flag_retroactive:
        ew = np.asarray(end_week, dtype=np.float64)
        fw = np.asarray(flagged_week, dtype=np.float64)[c]
        out &= np.isnan(ew) | (ew >= fw)
    return out
