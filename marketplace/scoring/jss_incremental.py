"""Incremental Job Success Score: per-freelancer window sums updated by events (issue 15).

``job_success_scores`` recomputes every window from all contracts. Between two scorings only a few
contracts change what a window holds: a contract ends (it enters every window), ages out of a
window, is classified again (its client was flagged, its feedback removed, an ongoing long-term
contract starts to count or gains weight). ``WindowSums`` keeps, per nested window and freelancer,
the weighted totals and counts of each outcome class and the number of distinct clients, and
applies only those events, so an update costs in proportion to what changed.

Exactness: the full path sums float weights; here weights are kept as integers scaled by
``WEIGHT_SCALE`` (every Upwork weight is a multiple of 1/4), so a window total is the same number
whatever the order of additions and removals, and ``wsum = acc / 4`` equals the full path's float
sum bit for bit (sums of multiples of 1/4 below 2**50 are exact in float64). The last step, scores
from sums, is the same function (``scores_from_window_sums``). A rule set whose weights are not
multiples of 1/4 is not supported (``WindowSums.supports``): the caller uses the full path.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .jss import JSSResult, scores_from_window_sums, window_bounds
from .outcomes import R_NO_FEEDBACK, Outcome
from .rules import RuleSet

WEIGHT_SCALE = 4
"""Weights are kept as integers times this (Upwork weights are multiples of 1/4)."""
_ONGOING = np.iinfo(np.int32).max  # date of a running contract: in every window, never ages


def _grow(a: np.ndarray, size: int, axis: int, fill) -> np.ndarray:
    """``a`` with axis ``axis`` at least ``size`` long (growing by a quarter at least), new
    entries ``fill``."""
    if a.shape[axis] >= size:
        return a
    shape = list(a.shape)
    shape[axis] = max(size, a.shape[axis] + a.shape[axis] // 4, 64)  # +25%: memory of 100k runs
    out = np.full(shape, fill, dtype=a.dtype)
    out[(slice(None),) * axis + (slice(0, a.shape[axis]),)] = a
    return out


class WindowSums:
    """Window sums of every freelancer, kept current by ``update`` (see the module docstring).

    Contract ids, freelancer ids and pair ids (one per freelancer-client relationship) are dense
    non-negative integers assigned by the caller; the arrays grow as new ids appear.
    """

    def __init__(self, rules: RuleSet) -> None:
        if not self.supports(rules):
            raise ValueError("WindowSums needs weights that are multiples of 1/4; use "
                             "job_success_scores (the full computation) for this rule set")
        self.rules = rules
        self.bounds = window_bounds(rules)
        self.int_bounds = self.bounds.astype(np.int64)
        nb = self.bounds.size
        self.count_missing = rules.missing_feedback == "negative_if_large_share"
        self.week: int | None = None
        # int32 sums (a freelancer would need 60 million outcomes to overflow): half the memory
        self.w4 = np.zeros((nb, 4, 0), np.int32)  # weight x 4 per window, class, freelancer
        self.cnt = np.zeros((nb, 4, 0), np.int32)  # outcomes per window, class, freelancer
        self.clients = np.zeros((nb, 0), np.int32)  # distinct clients per window, freelancer
        self.pair_cnt = np.zeros((nb, 0), np.int32)  # counted outcomes per window and pair
        # what each contract currently contributes: class (-1 = nothing), weight x 4, date
        self.c_cls = np.zeros(0, np.int8)
        self.c_w4 = np.zeros(0, np.int16)  # at most weight_cap x 4
        self.c_date = np.zeros(0, np.int32)
        self._by_date: dict[int, list[np.ndarray]] = {}  # ended contracts by end week
        # scores depend on the sums only: keep each freelancer's last result and recompute those
        # whose sums moved (``dirty``; new ids start dirty)
        self.dirty = np.zeros(0, bool)
        self._cache: dict[str, np.ndarray] | None = None
        self._mark = np.zeros(0, bool)  # scratch: contracts changed in this update

    @staticmethod
    def supports(rules: RuleSet) -> bool:
        """Whether every weight the rules can produce is a multiple of 1/4 (and finite)."""
        parts = [*rules.size_weights, rules.long_term_extra_weight]
        if np.isfinite(rules.weight_cap):
            parts.append(rules.weight_cap)
        return all(np.isfinite(x) and float(x) * WEIGHT_SCALE == round(float(x) * WEIGHT_SCALE)
                   for x in parts)

    # ------------------------------------------------------------------ bookkeeping
    def _ensure(self, n_freelancers: int, n_pairs: int, n_contracts: int) -> None:
        self.w4 = _grow(self.w4, n_freelancers, 2, 0)
        self.cnt = _grow(self.cnt, n_freelancers, 2, 0)
        self.clients = _grow(self.clients, n_freelancers, 1, 0)
        self.dirty = _grow(self.dirty, self.clients.shape[1], 0, True)
        self.pair_cnt = _grow(self.pair_cnt, n_pairs, 1, 0)
        self.c_cls = _grow(self.c_cls, n_contracts, 0, -1)
        self.c_w4 = _grow(self.c_w4, n_contracts, 0, 0)
        self.c_date = _grow(self.c_date, n_contracts, 0, _ONGOING)
        self._mark = _grow(self._mark, self.c_cls.size, 0, False)

    def _apply(self, j: np.ndarray, f: np.ndarray, pair: np.ndarray, cls: np.ndarray,
               w4: np.ndarray, sign: np.ndarray) -> None:
        """Add (sign +1) or take out (-1) contributions to windows ``j`` (one per entry, all
        windows in one pass over flat keys); cls >= 0 only."""
        if f.size == 0:
            return
        nf = self.w4.shape[2]
        key = (j * 4 + cls) * nf + f
        np.add.at(self.w4.reshape(-1), key, (sign * w4).astype(np.int32))
        np.add.at(self.cnt.reshape(-1), key, sign.astype(np.int32))
        self.dirty[f] = True
        counted = cls < Outcome.EXCLUDED  # the no-feedback class adds no client
        if not counted.any():
            return
        pk = j[counted] * self.pair_cnt.shape[1] + pair[counted]  # (window, pair)
        flat = self.pair_cnt.reshape(-1)
        up, first = np.unique(pk, return_index=True)
        before = flat[up] > 0
        np.add.at(flat, pk, sign[counted].astype(np.int32))
        after = flat[up] > 0
        moved = np.flatnonzero(before != after)
        if moved.size:
            src = np.flatnonzero(counted)[first[moved]]
            np.add.at(self.clients.reshape(-1), j[src] * nf + f[src],
                      np.where(after[moved], 1, -1).astype(np.int32))

    def _contribution(self, outcome, reason, weight) -> tuple[np.ndarray, np.ndarray]:
        """Class (-1 = contributes nothing) and integer weight x 4 of contracts."""
        out = np.asarray(outcome).astype(np.int8)
        cls = np.where(out < Outcome.EXCLUDED, out, np.int8(-1)).astype(np.int8)
        if self.count_missing:
            nofb = (out == Outcome.EXCLUDED) & (np.asarray(reason) == R_NO_FEEDBACK)
            cls[nofb] = Outcome.EXCLUDED
        scaled = np.asarray(weight, dtype=np.float64) * WEIGHT_SCALE
        w4 = np.where(cls >= 0, scaled, 0.0)
        if not np.array_equal(w4, np.round(w4)):
            raise ValueError("WindowSums: a contract weight is not a multiple of 1/4")
        return cls, w4.astype(np.int16)

    # ------------------------------------------------------------------ the update
    def update(self, week: int, ids, *, freelancer, pair, end_week, outcome, reason, weight,
               n_freelancers: int, n_pairs: int) -> None:
        """Bring the sums to ``week``: contracts ``ids`` (any whose outcome, weight or end may have
        changed since the last update; repeats allowed) take their new contribution, and every
        contract whose age crosses a window length since the last update leaves that window.

        ``freelancer`` and ``pair`` are full per-contract arrays (indexed by contract id);
        ``end_week`` (NaN = running), ``outcome``, ``reason`` and ``weight`` are aligned with
        ``ids``. Weeks must not go backwards.
        """
        week = int(week)
        if self.week is not None and week < self.week:
            raise ValueError(f"WindowSums.update: week {week} is before {self.week}")
        ids = np.asarray(ids, dtype=np.int64)
        ids, first = np.unique(ids, return_index=True)
        n_c = int(ids[-1]) + 1 if ids.size else 0
        self._ensure(int(n_freelancers), int(n_pairs), max(n_c, self.c_cls.size))
        fr_all, pair_all = np.asarray(freelancer), np.asarray(pair)

        # 1. ageing: contracts dated d leave window b when week - d reaches b
        aged_parts: list[list[np.ndarray]] = [[] for _ in self.int_bounds]
        if self.week is not None and week > self.week:
            for j, b in enumerate(self.int_bounds):
                for d in range(self.week - b + 1, week - b + 1):
                    aged_parts[j].extend(self._by_date.get(d, ()))
            horizon = week - int(self.int_bounds[-1])
            for d in [d for d in self._by_date if d <= horizon]:
                del self._by_date[d]  # out of every window for good

        # 2. new contributions of the given contracts
        ew = np.asarray(end_week, dtype=np.float64)[first]
        new_date = np.where(np.isnan(ew), _ONGOING, np.nan_to_num(ew)).astype(np.int32)
        new_cls, new_w4 = self._contribution(np.asarray(outcome)[first],
                                             None if reason is None else np.asarray(reason)[first],
                                             np.asarray(weight)[first])
        old_cls, old_w4, old_date = self.c_cls[ids], self.c_w4[ids], self.c_date[ids]
        changed = (old_cls != new_cls) | (old_date != new_date) | (
            (new_cls >= 0) & (old_w4 != new_w4))
        ch = ids[changed]
        o_cls, o_w4, o_date = old_cls[changed], old_w4[changed], old_date[changed]
        n_cls, n_w4, n_date = new_cls[changed], new_w4[changed], new_date[changed]
        self.c_cls[ch], self.c_w4[ch], self.c_date[ch] = n_cls, n_w4, n_date
        self._mark[ch] = True
        newly_dated = (n_date != _ONGOING) & (o_date != n_date)
        for d in np.unique(n_date[newly_dated]):
            self._by_date.setdefault(int(d), []).append(ch[newly_dated & (n_date == d)])
        f_ch, p_ch = fr_all[ch], pair_all[ch]
        w_old = week if self.week is None else self.week
        age_old = w_old - o_date.astype(np.int64)  # at the last update (negative: running)
        age_new = week - n_date.astype(np.int64)
        old_running, new_running = o_date == _ONGOING, n_date == _ONGOING

        parts_j, parts_f, parts_p, parts_c, parts_w, parts_s = [], [], [], [], [], []
        for j, b in enumerate(self.int_bounds):
            if aged_parts[j]:
                a = np.concatenate(aged_parts[j])
                a = a[self.c_cls[a] >= 0]
                # a contract changed in this update leaves with its old contribution below
                a = a[~self._mark[a]]
                parts_j.append(np.full(a.size, j, np.int64))
                parts_f.append(fr_all[a])
                parts_p.append(pair_all[a])
                parts_c.append(self.c_cls[a])
                parts_w.append(self.c_w4[a])
                parts_s.append(np.full(a.size, -1, np.int64))
            # in window j: the old contribution as of the last update, the new one as of now
            was_in = (o_cls >= 0) & (old_running | (age_old < b))
            is_in = (n_cls >= 0) & (new_running | ((age_new >= 0) & (age_new < b)))
            for mask, cls_, w_, sgn in ((was_in, o_cls, o_w4, -1), (is_in, n_cls, n_w4, 1)):
                k = int(np.count_nonzero(mask))
                if k:
                    parts_j.append(np.full(k, j, np.int64))
                    parts_f.append(f_ch[mask])
                    parts_p.append(p_ch[mask])
                    parts_c.append(cls_[mask])
                    parts_w.append(w_[mask])
                    parts_s.append(np.full(k, sgn, np.int64))
        if parts_f:
            self._apply(np.concatenate(parts_j), np.concatenate(parts_f).astype(np.int64),
                        np.concatenate(parts_p).astype(np.int64),
                        np.concatenate(parts_c).astype(np.int64), np.concatenate(parts_w),
                        np.concatenate(parts_s))
        self._mark[ch] = False
        self.week = week

    def scores_without(self, contracts, freelancer, pair) -> JSSResult:
        """Scores of each given contract's freelancer with that one contract taken out of every
        window (at most one contract per freelancer; for the removal perk's "would removing it
        lower the JSS" test). ``freelancer`` and ``pair``: of each contract."""
        c = np.asarray(contracts, dtype=np.int64)
        f, p = np.asarray(freelancer, dtype=np.int64), np.asarray(pair, dtype=np.int64)
        cls, w4, date = self.c_cls[c], self.c_w4[c], self.c_date[c]
        age = (self.week or 0) - date.astype(np.int64)
        w = self.w4[:, :, f].astype(np.int64)
        cnt = self.cnt[:, :, f].astype(np.int64)
        ncl = self.clients[:, f].astype(np.int64)
        k = np.arange(c.size)
        for j, b in enumerate(self.int_bounds):
            inw = (cls >= 0) & ((date == _ONGOING) | ((age >= 0) & (age < b)))
            kk, cc = k[inw], cls[inw].astype(np.int64)
            w[j, cc, kk] -= w4[inw]
            cnt[j, cc, kk] -= 1
            last = inw & (cls < Outcome.EXCLUDED)
            last[last] = self.pair_cnt[j, p[last]] == 1  # its client's only outcome in window j
            ncl[j, k[last]] -= 1
        wsum = w.astype(np.float64)
        wsum /= WEIGHT_SCALE
        return scores_from_window_sums(wsum, cnt, ncl, self.bounds, c.size, self.rules)

    def result(self, freelancers) -> JSSResult:
        """Window scores and displayed JSS of the given freelancers (ids), as
        ``job_success_scores`` gives them from the same contracts at the last update's week.

        Only freelancers whose sums moved since the last call are scored again (every step of
        the scoring is elementwise per freelancer, so the others' results stand)."""
        idx = np.asarray(freelancers, dtype=np.int64)
        self._ensure(int(idx.max()) + 1 if idx.size else 0, 0, 0)
        d = np.flatnonzero(self.dirty)
        if d.size:
            wsum = self.w4[:, :, d].astype(np.float64)
            wsum /= WEIGHT_SCALE
            fresh = scores_from_window_sums(wsum, self.cnt[:, :, d].astype(np.int64),
                                            self.clients[:, d].astype(np.int64),
                                            self.bounds, d.size, self.rules)
            cap = self.dirty.size
            cache = self._cache
            if cache is None or next(iter(cache.values())).size < cap:
                old = cache
                cache = {f.name: np.zeros(cap, getattr(fresh, f.name).dtype)
                         for f in dataclasses.fields(JSSResult)}
                if old is not None:
                    for k, v in old.items():
                        cache[k][: v.size] = v
                self._cache = cache
            for k, v in cache.items():
                v[d] = getattr(fresh, k)
            self.dirty[d] = False
        if self._cache is None:  # no freelancer yet
            z = np.zeros((self.bounds.size, 4, 0))
            return scores_from_window_sums(z, z.astype(np.int64), z[:, 0].astype(np.int64),
                                           self.bounds, 0, self.rules)
        return JSSResult(**{k: v[idx] for k, v in self._cache.items()})
