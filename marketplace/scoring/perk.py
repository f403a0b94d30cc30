"""The Top Rated feedback-removal perk (about 2016 to 3 September 2024 [V]).

A Top Rated freelancer may remove one contract from the JSS "once every 10 jobs and at most once
every 3 months"; "if removing a contract would cause your JSS to fall, we will leave it in" [V].
``select_removals`` picks, for every freelancer who may and wants to use the perk, the contract
whose removal helps most (a negative before a neutral, then the heaviest, then the newest; counted,
ended within 24 months), and keeps it only where the JSS with it removed is not lower.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .jss import job_success_scores
from .outcomes import Outcome
from .rules import RuleSet


@dataclass(frozen=True)
class PerkState:
    last_removal_week: np.ndarray
    """float per freelancer, NaN = never used."""
    jobs_at_last_removal: np.ndarray
    """Ended contracts the freelancer had when last using the perk (int64; 0 = never)."""

    @classmethod
    def empty(cls, n_freelancers: int) -> PerkState:
        return cls(np.full(n_freelancers, np.nan), np.zeros(n_freelancers, dtype=np.int64))

    def resized(self, n_freelancers: int) -> PerkState:
        extra = n_freelancers - self.last_removal_week.size
        if extra <= 0:
            return self
        return PerkState(
            np.concatenate([self.last_removal_week, np.full(extra, np.nan)]),
            np.concatenate([self.jobs_at_last_removal, np.zeros(extra, dtype=np.int64)]),
        )


def select_removals(
    freelancer_idx,
    client_idx,
    end_week,
    outcome,
    weight,
    *,
    top_rated,
    state: PerkState | None,
    week: float,
    n_freelancers: int,
    rules: RuleSet,
    wants=None,
    reason=None,
    pair_idx=None,
    window_sums=None,
    contract_ids=None,
) -> tuple[np.ndarray, PerkState]:
    """Contracts to remove now (bool per contract) and the updated perk state.

    ``top_rated`` and optional ``wants`` are bools per freelancer (``wants`` None = every eligible
    freelancer uses the perk). The caller marks the returned contracts ``removed`` and classifies
    again. Nothing is removed when the era has no perk (``rules.perk_active(week)`` False).

    ``window_sums`` (optional): a ``WindowSums`` already updated with these contracts at ``week``
    (freelancer ids global, ``contract_ids`` the id of each contract, ``pair_idx`` required); the
    JSS before and after a removal then comes from its sums instead of scoring the freelancers'
    contracts twice (same result, bit for bit).
    """
    n = int(n_freelancers)
    state = PerkState.empty(n) if state is None else state.resized(n)
    f = np.asarray(freelancer_idx)
    k = f.size
    none = np.zeros(k, dtype=bool)
    if not rules.perk_active(week) or k == 0:
        return none, state
    out = np.asarray(outcome)
    w = np.asarray(weight, dtype=np.float64)
    ew = np.asarray(end_week, dtype=np.float64)
    age = week - ew  # NaN for ongoing: never a candidate
    ended = age >= 0
    n_jobs = np.bincount(f, weights=ended, minlength=n)[:n].astype(np.int64)

    since = week - state.last_removal_week
    may = np.asarray(top_rated, dtype=bool).copy()
    may &= np.isnan(since) | (since >= rules.removal_min_weeks_between)
    may &= n_jobs - state.jobs_at_last_removal >= rules.removal_min_jobs_between
    if wants is not None:
        may &= np.asarray(wants, dtype=bool)
    if not may.any():
        return none, state

    cand = np.flatnonzero(
        may[f] & ((out == Outcome.NEGATIVE) | (out == Outcome.NEUTRAL)) & ended
        & (age < max(rules.window_weeks))
    )
    if cand.size == 0:
        return none, state
    # Best candidate per freelancer: last in (freelancer, severity, weight, end week) order.
    order = cand[np.lexsort((ew[cand], w[cand], out[cand], f[cand]))]
    fo = f[order]
    last_of_group = np.ones(order.size, dtype=bool)
    last_of_group[:-1] = fo[1:] != fo[:-1]
    chosen = order[last_of_group]

    if window_sums is not None:
        before = window_sums.result(f[chosen]).jss
        after = window_sums.scores_without(np.asarray(contract_ids)[chosen], f[chosen],
                                           np.asarray(pair_idx)[chosen]).jss
        keep = (after >= before) | (np.isnan(before) & np.isnan(after))
        keep |= np.isnan(before) & ~np.isnan(after)
        chosen = chosen[keep]
    else:
        chosen = _keep_if_not_lower(chosen, f, np.asarray(client_idx), ew, out, w, week, n,
                                    rules, reason, pair_idx)

    remove = none
    remove[chosen] = True
    fr = f[chosen]
    last_week = state.last_removal_week.copy()
    jobs_at = state.jobs_at_last_removal.copy()
    last_week[fr] = week
    jobs_at[fr] = n_jobs[fr]
    return remove, PerkState(last_week, jobs_at)


def _keep_if_not_lower(chosen, f, c, ew, out, w, week, n, rules, reason, pair_idx):
    """The chosen contracts whose removal does not lower their freelancer's JSS (full scoring of
    the affected freelancers' contracts, before and after)."""
    affected = np.zeros(n, dtype=bool)
    affected[f[chosen]] = True
    sub = np.flatnonzero(affected[f])
    sub_reason = None if reason is None else np.asarray(reason)[sub]
    sub_pair = None if pair_idx is None else np.asarray(pair_idx)[sub]

    # Score in a compact index space of the affected freelancers only (cost ~ their contracts).
    uf, local = np.unique(f[sub], return_inverse=True)

    def jss(outcomes):
        compact = job_success_scores(
            local, c[sub], ew[sub], outcomes, w[sub], week=week, n_freelancers=uf.size,
            rules=rules, reason=sub_reason, pair_idx=sub_pair,
        ).jss
        full = np.full(n, np.nan)
        full[uf] = compact
        return full

    before = jss(out[sub])
    after_out = out.copy()
    after_out[chosen] = Outcome.EXCLUDED
    after = jss(after_out[sub])
    keep_f = (after >= before) | (np.isnan(before) & np.isnan(after))
    keep_f |= np.isnan(before) & ~np.isnan(after)
    return chosen[keep_f[f[chosen]]]
