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

import collections

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
    flagged, flagged_week = _previous_flags(flagged, flagged_week, m)
    if not rules.client_flagging:
        return flagged, flagged_week

    c = np.asarray(client_idx)
    age = week - np.asarray(end_week, dtype=np.float64)
    recent = (age >= 0) & (age < rules.flag_lookback_weeks)
    cls = feedback_class(private_score, public_stars, rules)
    rated = recent & (cls >= 0)
    n_rated = np.bincount(c, weights=rated, minlength=m)[:m]
    n_negative = np.bincount(c, weights=rated & (cls == 2), minlength=m)[:m]
    n_r = total = None
    if rating_by_freelancer is not None:
        r = np.asarray(rating_by_freelancer, dtype=np.float64)
        has = recent & ~np.isnan(r)
        n_r = np.bincount(c, weights=has, minlength=m)[:m]
        total = np.bincount(c, weights=np.where(has, r, 0.0), minlength=m)[:m]
    return _apply_flag_rule(n_rated, n_negative, n_r, total, week, flagged, flagged_week, rules)


def _previous_flags(flagged, flagged_week, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The previous flag state for ``m`` clients (None = no client flagged yet; clients added
    since are not flagged)."""
    flagged = np.zeros(m, dtype=bool) if flagged is None else np.asarray(flagged, dtype=bool)
    flagged_week = (np.full(m, np.nan) if flagged_week is None
                    else np.asarray(flagged_week, dtype=np.float64))
    if flagged.size < m:
        flagged = np.concatenate([flagged, np.zeros(m - flagged.size, dtype=bool)])
        flagged_week = np.concatenate([flagged_week, np.full(m - flagged_week.size, np.nan)])
    return flagged, flagged_week


def _apply_flag_rule(n_rated, n_negative, n_ratings, rating_total, week: float, flagged,
                     flagged_week, rules: RuleSet) -> tuple[np.ndarray, np.ndarray]:
    """The flag rule on each client's counts over the lookback (see the module docstring):
    harsh rater or poorly rated (``n_ratings`` None = the freelancers' ratings are not used);
    a flag is permanent and keeps its week."""
    new = (n_rated >= rules.flag_min_contracts) & (
        n_negative >= rules.flag_min_negative_share * n_rated)
    if n_ratings is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = rating_total / n_ratings
        new = new | ((n_ratings >= rules.flag_min_ratings) & (mean <= rules.flag_max_mean_rating))
    new &= ~flagged
    return flagged | new, np.where(new, float(week), flagged_week)


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


class FlagCounts:
    """``flag_clients`` kept current by events: per-client counts over the lookback.

    ``flag_clients`` counts, at each update, every contract that ended within the lookback. Those
    counts change only when a contract ends (it enters) or when it ends ``flag_lookback_weeks``
    before the update (it leaves), and what a contract adds (its client's feedback class, the
    freelancer's rating of the client) is fixed once it has ended; so ``add`` takes contracts as
    they end and ``flag`` first takes out those that aged out, then applies the same rule. Counts
    and rating totals are sums of whole numbers, exact in float64 in any order, so the flags are
    bit-identical to ``flag_clients`` on the same contracts (as long as ratings are whole stars,
    which ``add`` checks).
    """

    def __init__(self, rules: RuleSet, n_clients: int) -> None:
        self.rules = rules
        m = int(n_clients)
        self.n_rated = np.zeros(m)  # contracts with feedback (a feedback class)
        self.n_negative = np.zeros(m)
        self.n_ratings = np.zeros(m)  # the freelancers' ratings of the client
        self.rating_total = np.zeros(m)
        # each added batch of contracts by end week, oldest first, until it ages out
        self._by_week: collections.deque[tuple[int, tuple[np.ndarray, ...]]] = collections.deque()

    def _count(self, parts: tuple[np.ndarray, ...], sign: float) -> None:
        c, rated, negative, has_rating, rating = parts
        m = self.n_rated.size
        self.n_rated += sign * np.bincount(c, weights=rated, minlength=m)[:m]
        self.n_negative += sign * np.bincount(c, weights=negative, minlength=m)[:m]
        if has_rating is not None:
            self.n_ratings += sign * np.bincount(c, weights=has_rating, minlength=m)[:m]
            self.rating_total += sign * np.bincount(c, weights=rating, minlength=m)[:m]

    def add(self, client_idx, end_week, private_score, public_stars,
            rating_by_freelancer=None) -> None:
        """Contracts that have ended (``end_week`` whole weeks, none NaN) enter the counts."""
        c = np.asarray(client_idx, dtype=np.int64)
        if c.size == 0:
            return
        ew = np.asarray(end_week, dtype=np.float64)
        if np.isnan(ew).any() or not np.array_equal(ew, np.round(ew)):
            raise ValueError("FlagCounts.add: end_week must be whole weeks of ended contracts")
        cls = feedback_class(private_score, public_stars, self.rules)
        rated = cls >= 0
        has = rating = None
        if rating_by_freelancer is not None:
            r = np.asarray(rating_by_freelancer, dtype=np.float64)
            has = ~np.isnan(r)
            rating = np.where(has, r, 0.0)
            if not np.array_equal(rating, np.round(rating)):
                raise ValueError("FlagCounts.add: ratings must be whole stars (exact sums)")
        weeks = ew.astype(np.int64)
        if self._by_week and weeks.min() < self._by_week[-1][0]:
            raise ValueError("FlagCounts.add: contracts must be added in order of end week")
        for week in np.unique(weeks):
            sel = weeks == week
            parts = (c[sel], rated[sel], rated[sel] & (cls[sel] == 2),
                     None if has is None else has[sel], None if rating is None else rating[sel])
            self._count(parts, 1.0)
            self._by_week.append((int(week), parts))

    def flag(self, week: float, flagged=None, flagged_week=None) -> tuple[np.ndarray, np.ndarray]:
        """``flag_clients`` at ``week`` over the contracts added so far (weeks must not go back;
        contracts are added before the first update that counts them)."""
        rules = self.rules
        flagged, flagged_week = _previous_flags(flagged, flagged_week, self.n_rated.size)
        if not rules.client_flagging:
            return flagged, flagged_week
        by_week = self._by_week
        while by_week:
            added_week, parts = by_week[0]
            if week - added_week < rules.flag_lookback_weeks:
                break
            self._count(parts, -1.0)
            by_week.popleft()
        return _apply_flag_rule(self.n_rated, self.n_negative, self.n_ratings, self.rating_total,
                                week, flagged, flagged_week, rules)
