"""Window scores and the displayed Job Success Score of every freelancer at once.

Score of a window = 100 x (weighted successes - weighted negatives) / weighted counted outcomes,
floored at 0 (Upwork's stated form [V]: 9 successes and 1 negative of equal weight give 80). A
neutral adds to the denominator only. Windows of 24, 12, 6 and 3 months end at the scoring week; a
contract dated ``d`` is in a window of ``L`` weeks when ``0 <= week - d < L`` ("drops out ... once
it is 6 months and one day old" [V]). Trending = mean of the 6- and 3-month scores. The displayed
JSS is the best of ``rules.displayed`` among windows with enough outcomes and clients, and is
NaN (no JSS) until the visibility threshold is met.

All sums are segment sums with ``np.bincount`` over one combined key (freelancer, window bucket,
outcome class), then a cumulative sum over the nested windows: no loop per freelancer or contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .outcomes import R_NO_FEEDBACK, Outcome
from .rules import WINDOW_NAMES, RuleSet


@dataclass(frozen=True)
class JSSResult:
    """Per-freelancer arrays (length ``n_freelancers``); NaN = no JSS / window without enough."""

    jss: np.ndarray
    window_24m: np.ndarray
    window_12m: np.ndarray
    window_6m: np.ndarray
    window_3m: np.ndarray
    trending: np.ndarray
    visible: np.ndarray
    """bool: the visibility threshold is met (a JSS is shown)."""
    n_outcomes: np.ndarray
    """Counted outcomes in the 24-month window (int64)."""
    n_clients: np.ndarray
    """Distinct clients with a counted outcome in the 24-month window (int64)."""
    n_success: np.ndarray
    n_neutral: np.ndarray
    n_negative: np.ndarray

    def score(self, name: str) -> np.ndarray:
        """The array of score ``name`` in ``24m, 12m, 6m, 3m, trending``."""
        return self.trending if name == "trending" else getattr(self, f"window_{name}")


def window_score(success_weight, neutral_weight, negative_weight, rules: RuleSet | None = None):
    """Score of one window from its weighted outcome totals (NaN when nothing counts)."""
    s = np.asarray(success_weight, dtype=np.float64)
    neu = np.asarray(neutral_weight, dtype=np.float64)
    neg = np.asarray(negative_weight, dtype=np.float64)
    total = s + neg + (neu if rules is None or rules.neutral_in_denominator else 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.maximum(100.0 * (s - neg) / total, 0.0)
    return np.where(total > 0, score, np.nan)


def window_bounds(rules: RuleSet) -> np.ndarray:
    """Distinct window lengths (the four windows and the visibility window), ascending, float
    weeks: the nested windows whose sums the JSS needs."""
    lengths = (*rules.window_weeks, rules.visibility_window_weeks)
    return np.array(sorted({float(x) for x in lengths}))  # (np.unique costs more here)


def _cumsum_buckets(x: np.ndarray) -> np.ndarray:
    """Cumulative sum over the (few) buckets of axis 0, in place, one contiguous row at a time
    (for this shape numpy's ``cumsum(axis=0)`` is about 15 times slower)."""
    for i in range(1, x.shape[0]):
        x[i] += x[i - 1]
    return x


def _distinct_clients(f, c, bucket, sel, n, nb, pair_idx):
    """Distinct (freelancer, client) pairs per freelancer and bucket of their latest contract.

    Returns int64 (nb, n): number of distinct clients whose most recent counted contract falls in
    each bucket; a cumulative sum over buckets (axis 0) gives distinct clients per nested window.
    Bucket-major layout so that the cumulative sum adds contiguous rows (fast for large n).
    """
    if sel.size == 0:
        return np.zeros((nb, n), dtype=np.int64)
    fs, bs = f[sel], bucket[sel]
    if pair_idx is not None:
        # A caller that already keeps one id per client relationship avoids the sort.
        ps = np.asarray(pair_idx)[sel]
        n_pairs = int(ps.max()) + 1
        mb = np.full(n_pairs, nb, dtype=np.int8)
        np.minimum.at(mb, ps, bs)
        seen = np.flatnonzero(mb < nb)  # pairs with a counted contract
        pf = np.empty(n_pairs, dtype=np.int64)  # freelancer of each pair (read only where seen)
        pf[ps] = fs
        key = mb[seen].astype(np.int64)
        key *= n
        key += pf[seen]
    else:
        cs = np.asarray(c)[sel].astype(np.int64)
        n_clients = int(cs.max()) + 1
        if n * n_clients * 8 >= 2**62:
            raise ValueError("freelancer x client index space too large; pass pair_idx")
        pair = fs.astype(np.int64) * n_clients + cs
        s = np.sort(pair * 8 + bs)  # bucket in the low 3 bits: the first of a pair is its latest
        pk = s >> 3
        first = np.empty(s.size, dtype=bool)
        first[0] = True
        np.not_equal(pk[1:], pk[:-1], out=first[1:])
        key = (s[first] & 7) * n + pk[first] // n_clients
    return np.bincount(key, minlength=n * nb).reshape(nb, n)


def job_success_scores(
    freelancer_idx,
    client_idx,
    end_week,
    outcome,
    weight,
    *,
    week: float,
    n_freelancers: int,
    rules: RuleSet,
    reason=None,
    pair_idx=None,
) -> JSSResult:
    """Window scores and displayed JSS of freelancers ``0 .. n_freelancers-1`` at ``week``.

    Arrays have one entry per contract: ``freelancer_idx``/``client_idx`` (ints), ``end_week``
    (float; NaN = ongoing, dated at ``week``), ``outcome`` (``Outcome`` codes from
    ``classify_outcomes``), ``weight`` (from ``contract_weights``). Contracts ending after ``week``
    are ignored. ``reason`` (from ``classify_outcomes``) is required only when
    ``rules.missing_feedback == "negative_if_large_share"``. ``pair_idx`` (optional): one integer
    id per (freelancer, client) relationship; it makes the distinct-client count faster.
    """
    n = int(n_freelancers)
    f = np.asarray(freelancer_idx)
    if f.dtype.kind not in "iu":
        f = f.astype(np.int64)
    out = np.asarray(outcome)
    w = np.asarray(weight, dtype=np.float64)
    ew = np.asarray(end_week, dtype=np.float64)
    nan_end = np.isnan(ew)
    date = np.where(nan_end, week, ew) if nan_end.any() else ew
    age = week - date

    # Bucket boundaries: the four windows and the visibility window, ascending and distinct.
    bounds = window_bounds(rules)
    nb = bounds.size
    bucket = np.zeros(age.shape, dtype=np.int8)  # number of boundaries <= age
    for b in bounds:
        bucket += (age >= b).view(np.int8)

    counted = out < Outcome.EXCLUDED
    count_missing = rules.missing_feedback == "negative_if_large_share"
    if count_missing:
        if reason is None:
            raise ValueError("rules.missing_feedback='negative_if_large_share' needs reason=")
        nofb = (out == Outcome.EXCLUDED) & (np.asarray(reason) == R_NO_FEEDBACK)
        valid = (counted | nofb) & (age >= 0) & (bucket < nb)
    else:
        valid = counted & (age >= 0) & (bucket < nb)

    # Bucket-major layout (nb, 4, n): the cumulative sum over buckets adds contiguous rows.
    n_keys = n * nb * 4
    key = (bucket * np.int8(4) + out).astype(np.int64)  # small ints first: cheap
    key *= n
    key += f
    key[~valid] = n_keys
    wsum = np.bincount(key, weights=w, minlength=n_keys + 1)[:n_keys].reshape(nb, 4, n)
    csum = np.bincount(key, minlength=n_keys + 1)[:n_keys].reshape(nb, 4, n)
    wsum = _cumsum_buckets(wsum)
    csum = _cumsum_buckets(csum)

    sel = np.flatnonzero(valid & counted) if count_missing else np.flatnonzero(valid)
    clients = _cumsum_buckets(_distinct_clients(f, client_idx, bucket, sel, n, nb, pair_idx))

    return scores_from_window_sums(wsum, csum, clients, bounds, n, rules)


def scores_from_window_sums(wsum, csum, clients, bounds, n: int, rules: RuleSet) -> JSSResult:
    """Window scores and displayed JSS from per-window sums (the last step of the JSS).

    ``wsum`` (float, shape (nb, 4, n)) and ``csum`` (int64, same shape): weighted totals and counts
    per nested window (``bounds[j]`` weeks, ascending), outcome class (success, neutral, negative,
    no-feedback) and freelancer; ``clients`` (int64, (nb, n)): distinct clients with a counted
    outcome. Shared by the full computation and the incremental one (``WindowSums``), so both
    give bit-identical scores from equal sums.
    """
    count_missing = rules.missing_feedback == "negative_if_large_share"
    window_cache: dict[int, tuple] = {}

    def window(length: int):
        """Score, counts and clients of the window of ``length`` weeks (each bucket once: the
        visibility window is usually the 24-month one)."""
        j = int(np.searchsorted(bounds, float(length)))
        if j not in window_cache:
            window_cache[j] = window_of_bucket(j)
        return window_cache[j]

    def window_of_bucket(j: int):
        s, neu, neg, nf = (wsum[j, k] for k in range(4))
        cs, cneu, cneg, cnf = (csum[j, k] for k in range(4))
        if count_missing:
            seen = cs + cneu + cneg + cnf
            with np.errstate(invalid="ignore", divide="ignore"):
                large = cnf > rules.missing_feedback_share * seen
            neg = np.where(large, neg + nf, neg)
            cneg = np.where(large, cneg + cnf, cneg)
        if not rules.neutral_in_denominator:
            cneu = np.zeros_like(cneu)
        count = cs + cneu + cneg
        return window_score(s, neu, neg, rules), count, clients[j], (cs, cneu, cneg)

    scores: dict[str, np.ndarray] = {}
    first_counts = None
    for name, length in zip(WINDOW_NAMES, rules.window_weeks, strict=True):
        score, count, ncl, parts = window(length)
        enough = (count >= rules.window_min_outcomes) & (ncl >= rules.window_min_clients)
        scores[name] = np.where(enough, score, np.nan)
        if name == "24m":
            first_counts = (count, ncl, parts)
    scores["trending"] = (scores["6m"] + scores["3m"]) / 2.0

    _, vis_count, vis_clients, _ = window(rules.visibility_window_weeks)
    visible = (vis_count >= rules.visibility_min_outcomes) & (
        vis_clients >= rules.visibility_min_clients
    )
    best = np.full(n, np.nan)
    for name in rules.displayed:
        best = np.fmax(best, scores[name])
    jss = np.where(visible, best, np.nan)
    if rules.jss_rounding == "floor":
        jss = np.floor(jss)
    elif rules.jss_rounding == "round":
        jss = np.floor(jss + 0.5)

    count24, clients24, (cs, cneu, cneg) = first_counts
    return JSSResult(
        jss=jss,
        window_24m=scores["24m"],
        window_12m=scores["12m"],
        window_6m=scores["6m"],
        window_3m=scores["3m"],
        trending=scores["trending"],
        visible=visible & ~np.isnan(jss),
        n_outcomes=count24,
        n_clients=clients24,
        n_success=cs,
        n_neutral=cneu,
        n_negative=cneg,
    )
