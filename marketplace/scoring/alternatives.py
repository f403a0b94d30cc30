"""Alternative reputation scores from the same contract arrays the JSS engine uses (issue 14).

Every score is computed for all freelancers at once with segment sums (``np.bincount``), over the
contracts of the 24-month window (``rules.window_weeks[0]``) at the scoring week, weighted by the
same contract weights as the JSS (job units: size, long-term extra, cap). With ``S``, ``U`` and
``X`` the weighted successes, neutrals and negatives and ``N = S + U + X``:

* **bayes**: Beta-Binomial shrinkage of the success share ``S / N``. Prior Beta(m k, (1 - m) k),
  ``m`` = ``bayes_prior_mean`` (None = the pooled success share of the market: empirical Bayes),
  ``k`` = ``bayes_prior_strength``. Posterior mean ``(m k + S) / (k + N)`` and lower credible
  bound (the ``1 - confidence_level`` quantile of the posterior Beta).
* **wilson**: Wilson score lower bound of ``S / N`` at one-sided ``confidence_level``, with
  ``N`` in job units.
* **epp**: effective percent positive (Nosko and Tadelis 2015): ``S / (N + Q)``, ``Q`` the
  weight of contracts that ended with no feedback or a full refund (silence counts against).
* **debiased**: the success share with each client's outcomes weighted by how far that client's
  private scores stray from what the same freelancers got from their other clients (see
  :func:`client_rating_weights`): ``sum(w_c S) / sum(w_c N)``.
* **jss-interval**: the displayed JSS with a Bayesian interval. The 24-month outcome shares get a
  Dirichlet posterior with ``bayes_prior_strength`` pseudo-outcomes spread as the market's shares;
  the JSS's standard deviation is ``100 sd(p_success - p_negative)`` (prior shares: the Bayes
  prior mean for successes, the market's negative share, each at least 1%) and the interval is
  ``JSS -/+ z sd`` (clipped to 0-100, ``z`` at ``confidence_level``). Its lower end is the score.

``AlternativeScores.score(name)`` puts every score on the 0-100 scale of the JSS (share x 100;
the JSS interval's lower end as is), NaN where the score is not shown (fewer than
``min_outcomes`` counted outcomes in the window; the JSS interval: where the JSS is not shown).
Parameters: :class:`marketplace.scoring.rules.AlternativeRules` (``rules.alternatives``);
reasoning: ``docs/ODD.md`` 7.1.12.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .jss import JSSResult, job_success_scores
from .outcomes import R_NO_FEEDBACK, R_ZERO, Outcome
from .rules import AlternativeRules, RuleSet

#: Names accepted by ``marketplace jss --score`` and ``platform.score``.
SCORE_CHOICES: tuple[str, ...] = ("jss", "bayes", "wilson", "epp", "debiased", "jss-interval")


def score_key(name: str) -> str:
    """Column-safe form of a score name (``jss-interval`` -> ``jss_interval``)."""
    return name.replace("-", "_")


@dataclass(frozen=True)
class AlternativeScores:
    """Per-freelancer arrays (length ``n_freelancers``). Shares are in [0, 1], NaN = no data."""

    jss: np.ndarray
    """The displayed JSS (0-100; NaN = none)."""
    jss_low: np.ndarray
    jss_high: np.ndarray
    """Ends of the JSS interval (0-100; NaN where no JSS)."""
    bayes_mean: np.ndarray
    bayes_lower: np.ndarray
    wilson_lower: np.ndarray
    epp: np.ndarray
    debiased: np.ndarray
    n_outcomes: np.ndarray
    """Counted outcomes in the 24-month window (int64; the number shown next to a score)."""
    n_contracts: np.ndarray
    """Counted outcomes plus silent contracts (no feedback, full refund) in the window (int64)."""
    weight_outcomes: np.ndarray
    """``N``: counted outcomes in job units (contract weights)."""
    weight_success: np.ndarray
    """``S``: successes in job units."""
    min_outcomes: int = 1

    def score(self, name: str) -> np.ndarray:
        """Score ``name`` (one of ``SCORE_CHOICES``) on the 0-100 scale; NaN = not shown."""
        if name == "jss":
            return self.jss
        if name in ("jss-interval", "jss_interval"):
            return self.jss_low
        shown = (self.n_contracts if name == "epp" else self.n_outcomes) >= self.min_outcomes
        value = {"bayes": self.bayes_mean, "wilson": self.wilson_lower, "epp": self.epp,
                 "debiased": self.debiased}.get(name)
        if value is None:
            raise ValueError(f"unknown score {name!r}; allowed: {', '.join(SCORE_CHOICES)}")
        return np.where(shown, 100.0 * value, np.nan)


def beta_lower_bound(successes, failures, level: float) -> np.ndarray:
    """The ``1 - level`` quantile of Beta(successes, failures) (both > 0; float arrays)."""
    from scipy.special import betaincinv  # imported on use: scipy costs ~0.6 s at start-up

    a, b = np.broadcast_arrays(np.asarray(successes, float), np.asarray(failures, float))
    # Most freelancers share their (successes, failures) with many others (97% of the values in
    # a quickstart run's policy metrics): each distinct pair, compared bit for bit, is computed
    # once, the same float as computing every element.
    pairs = np.ascontiguousarray(np.stack([a.ravel(), b.ravel()], axis=1))
    keys = pairs.view(np.dtype((np.void, pairs.itemsize * 2))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    values = betaincinv(pairs[first, 0], pairs[first, 1], 1.0 - level)
    return values[inverse.ravel()].reshape(a.shape)


def wilson_lower_bound(successes, n, level: float) -> np.ndarray:
    """Wilson score lower bound of the share ``successes / n`` at one-sided ``level``; NaN for
    ``n = 0``. ``n`` may be fractional (job units)."""
    from scipy.special import ndtri

    s = np.asarray(successes, float)
    n = np.asarray(n, float)
    z = float(ndtri(level))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = s / n
        centre = p + z * z / (2 * n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        low = (centre - half) / (1 + z * z / n)
    return np.where(n > 0, np.clip(low, 0.0, 1.0), np.nan)


def client_rating_weights(freelancer_idx, client_idx, private_score, *, n_clients: int,
                          alt: AlternativeRules | None = None, per_contract: bool = False
                          ) -> np.ndarray:
    """Weight in (0, 1] of a client's outcomes, from how it rates *others* relative to others.

    Only observable data: for every contract with a private score ``x``, the deviation
    ``r = x - m``, where ``m`` is the weighted mean private score the same freelancer got from
    *other* clients (contracts without such a reference are skipped). A client's mean squared
    deviation is shrunk towards an honest rater's, ``v = (sum r^2 + k s0^2) / (n + k)`` with
    ``k = debias_prior_ratings``, ``s0 = debias_noise_sd``, and its weight is
    ``1 / (1 + max(0, v - s0^2) / tau^2)`` with ``tau = debias_scale``. Harsh clients (always low),
    lying clients (scores unrelated to the work) and, mildly, lenient ones weigh less; a client
    without a usable rating weighs 1. ``debias_rounds`` rounds: each recomputes the reference
    means ``m`` with the previous round's client weights.

    Returns one weight per client (from all its ratings), or with ``per_contract=True`` one per
    contract, where the deviations on the contract's own freelancer are left out: a client is
    judged by how it rated the *other* freelancers, so one honest negative is not discounted
    because it disagrees with the freelancer's other reviews.
    """
    alt = alt or AlternativeRules()
    f_all = np.asarray(freelancer_idx, dtype=np.int64)
    c_all = np.asarray(client_idx, dtype=np.int64)
    x_all = np.asarray(private_score, dtype=np.float64)
    w = np.ones(int(n_clients))
    has = ~np.isnan(x_all)
    if not has.any():
        return np.ones(f_all.size) if per_contract else w
    n_f = int(f_all.max()) + 1
    pair_all = np.unique(f_all * np.int64(n_clients) + c_all, return_inverse=True)[1]
    f, c, x, pair = f_all[has], c_all[has], x_all[has], pair_all[has]
    n_pairs = int(pair_all.max()) + 1
    s0sq = alt.debias_noise_sd ** 2
    k = alt.debias_prior_ratings
    for _ in range(alt.debias_rounds):
        wc = w[c]
        sum_f = np.bincount(f, wc * x, minlength=n_f)
        cnt_f = np.bincount(f, wc, minlength=n_f)
        sum_p = np.bincount(pair, wc * x, minlength=n_pairs)
        cnt_p = np.bincount(pair, wc, minlength=n_pairs)
        other = cnt_f[f] - cnt_p[pair]
        ok = other > 1e-9
        with np.errstate(invalid="ignore", divide="ignore"):
            ref = (sum_f[f] - sum_p[pair]) / other
        r2 = np.where(ok, (x - ref) ** 2, 0.0)
        okf = ok.astype(np.float64)
        n_c = np.bincount(c, okf, minlength=n_clients)
        ss_c = np.bincount(c, r2, minlength=n_clients)
        v = (ss_c + k * s0sq) / (n_c + k)
        w = 1.0 / (1.0 + np.maximum(0.0, v - s0sq) / alt.debias_scale ** 2)
    if not per_contract:
        return w
    n_p = np.bincount(pair, okf, minlength=n_pairs)
    ss_p = np.bincount(pair, r2, minlength=n_pairs)
    v = (ss_c[c_all] - ss_p[pair_all] + k * s0sq) / (n_c[c_all] - n_p[pair_all] + k)
    return 1.0 / (1.0 + np.maximum(0.0, v - s0sq) / alt.debias_scale ** 2)


def client_reputation_scores(rating_sum, rating_n, alt: AlternativeRules | None = None
                             ) -> np.ndarray:
    """A client's visible reputation in [0, 1] from freelancers' 1-5 star ratings of it.

    The mean rating shrunk towards the market's mean rating with ``client_prior_ratings``
    pseudo-ratings, mapped linearly from 1-5 stars to 0-1. Clients never rated get the market's
    mean (the prior); with no rating anywhere every client gets 1.
    """
    alt = alt or AlternativeRules()
    total = np.asarray(rating_sum, dtype=np.float64)
    n = np.asarray(rating_n, dtype=np.float64)
    n_all = n.sum()
    prior = total.sum() / n_all if n_all > 0 else 5.0
    k = alt.client_prior_ratings
    mean = (total + k * prior) / (n + k)
    return np.clip((mean - 1.0) / 4.0, 0.0, 1.0)


def alternative_scores(
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
    private_score=None,
    client_weight=None,
    rater_weight=None,
    n_clients: int | None = None,
    jss: JSSResult | None = None,
) -> AlternativeScores:
    """Every alternative score of freelancers ``0 .. n_freelancers-1`` at ``week``.

    Arrays as for :func:`job_success_scores` (one entry per contract; ``end_week`` NaN =
    ongoing, dated at ``week``; contracts ending after ``week`` are ignored). ``reason`` (from
    ``classify_outcomes``) lets EPP count silent contracts (no feedback, full refund); without it
    EPP equals the plain success share. ``private_score`` (0-10, NaN = none) feeds the rater
    weights of the debiased score (each contract's client judged on its other freelancers,
    :func:`client_rating_weights`), unless ``client_weight`` (one weight per client index) is
    given, or ``rater_weight`` (one weight per contract, e.g. from
    ``client_rating_weights(..., per_contract=True)``); with none, every client weighs 1.
    ``jss``: a JSSResult already computed for the same contracts (else it is computed here).
    """
    alt = rules.alternatives
    n = int(n_freelancers)
    f = np.asarray(freelancer_idx, dtype=np.int64)
    c = np.asarray(client_idx, dtype=np.int64)
    out = np.asarray(outcome)
    w = np.asarray(weight, dtype=np.float64)
    ew = np.asarray(end_week, dtype=np.float64)
    age = week - np.where(np.isnan(ew), week, ew)
    in_window = (age >= 0) & (age < rules.window_weeks[0])
    counted = in_window & (out < Outcome.EXCLUDED)
    if reason is not None:
        rs = np.asarray(reason)
        silent = in_window & (out == Outcome.EXCLUDED) & ((rs == R_NO_FEEDBACK) | (rs == R_ZERO))
    else:
        silent = np.zeros(f.size, bool)

    m_clients = int(n_clients if n_clients is not None else (c.max() + 1 if c.size else 0))
    if rater_weight is not None:
        cw = np.asarray(rater_weight, dtype=np.float64)
    elif client_weight is not None:
        cw = np.asarray(client_weight, dtype=np.float64)[c] if c.size else np.zeros(0)
    elif private_score is not None and c.size:
        ended = ~np.isnan(ew) & (ew <= week)
        ps = np.where(ended, np.asarray(private_score, dtype=np.float64), np.nan)
        cw = client_rating_weights(f, c, ps, n_clients=m_clients, alt=alt, per_contract=True)
    else:
        cw = np.ones(f.size)

    def wsum(mask, values=w):
        return np.bincount(f[mask], values[mask], minlength=n)

    succ = counted & (out == Outcome.SUCCESS)
    neg = counted & (out == Outcome.NEGATIVE)
    s_w, n_w, x_w = wsum(succ), wsum(counted), wsum(neg)
    if not rules.neutral_in_denominator:
        n_w = s_w + x_w
        counted = succ | neg
    q_w = wsum(silent)
    n_out = np.bincount(f[counted], minlength=n).astype(np.int64)
    n_con = n_out + np.bincount(f[silent], minlength=n).astype(np.int64)

    total_n, total_s, total_x = n_w.sum(), s_w.sum(), x_w.sum()
    m = alt.bayes_prior_mean
    if m is None:
        m = total_s / total_n if total_n > 0 else 0.5
        m = float(np.clip(m, 0.01, 0.99))
    k = alt.bayes_prior_strength
    a_post = m * k + s_w
    b_post = (1 - m) * k + (n_w - s_w)
    bayes_mean = a_post / (a_post + b_post)
    bayes_lower = beta_lower_bound(a_post, b_post, alt.confidence_level)
    wilson = wilson_lower_bound(s_w, n_w, alt.confidence_level)
    with np.errstate(invalid="ignore", divide="ignore"):
        epp = np.where(n_w + q_w > 0, s_w / (n_w + q_w), np.nan)
        dn = wsum(counted, w * cw)
        debiased = np.where(dn > 0, wsum(succ, w * cw) / dn, np.nan)

    if jss is None:
        jss = job_success_scores(f, c, ew, out, w, week=week, n_freelancers=n, rules=rules,
                                 reason=reason)
    # Dirichlet posterior over (success, neutral, negative) shares; sd of p_s - p_neg
    # prior shares: the Bayes prior mean for successes and the market's negative share, each
    # kept off 0 so that a spotless market still leaves uncertainty
    share_s = min(m, 0.98)
    share_x = min(max(total_x / total_n if total_n > 0 else 0.1, 0.01), 1.0 - share_s)
    a_s, a_x = share_s * k + s_w, share_x * k + x_w
    a_total = k + n_w
    var = (a_s * (a_total - a_s) + a_x * (a_total - a_x) + 2 * a_s * a_x) / (
        a_total ** 2 * (a_total + 1))
    from scipy.special import ndtri

    half = float(ndtri(alt.confidence_level)) * 100.0 * np.sqrt(var)
    jss_v = np.asarray(jss.jss, dtype=np.float64)
    return AlternativeScores(
        jss=jss_v,
        jss_low=np.clip(jss_v - half, 0.0, 100.0),
        jss_high=np.clip(jss_v + half, 0.0, 100.0),
        bayes_mean=bayes_mean,
        bayes_lower=bayes_lower,
        wilson_lower=wilson,
        epp=epp,
        debiased=debiased,
        n_outcomes=n_out,
        n_contracts=n_con,
        weight_outcomes=n_w,
        weight_success=s_w,
        min_outcomes=alt.min_outcomes,
    )


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (as scipy.stats.rankdata); ``x`` without NaN.

    One argsort and a pass over the runs of equal values (about 3 times faster than sorting and
    searching each value twice); a run at sorted positions first..first+size-1 gets rank
    (2 first + size + 1) / 2. Every member of a run gets the same rank, so the order within a run
    does not matter and the sort need not be stable (numpy's default sort is several times
    faster than its stable one on floats).

    Small non-negative whole numbers (a JSS on 0-100) are ranked by counting instead of sorting:
    the run of value v starts after the count of smaller values, the same ranks again.
    """
    if x.size and _small_whole_numbers(x):
        xi = x.astype(np.intp)
        size = np.bincount(xi)
        first = np.cumsum(size) - size
        return ((2 * first + size + 1) / 2.0)[xi]
    order = np.argsort(x)
    srt = x[order]
    run_start = np.empty(x.size, bool)
    run_start[0] = True
    np.not_equal(srt[1:], srt[:-1], out=run_start[1:])
    first = np.flatnonzero(run_start)
    size = np.diff(first, append=x.size)
    ranks = np.empty(x.size)
    ranks[order] = np.repeat((2 * first + size + 1) / 2.0, size)
    return ranks


def _small_whole_numbers(x: np.ndarray, limit: int = 4096) -> bool:
    """Whether every value of ``x`` is a whole number in 0..limit (ranks by counting)."""
    lo, hi = x.min(), x.max()
    return bool(lo >= 0 and hi <= limit and np.array_equal(x, np.floor(x)))


def to_jss_scale(values, reference_jss) -> np.ndarray:
    """Map a 0-100 score onto the distribution of the displayed JSS (quantile mapping).

    Each shown value (non-NaN) gets the JSS at its own percentile rank (ties: average rank) among
    the shown values, so a filter at T admits the same share of scored freelancers as JSS >= T
    would, and only *who* passes changes. With fewer than 2 reference JSS values the values are
    returned unchanged (the percent scale).
    """
    v = np.asarray(values, dtype=np.float64)
    ref = np.asarray(reference_jss, dtype=np.float64)
    ref = ref[~np.isnan(ref)]
    shown = ~np.isnan(v)
    if ref.size < 2 or shown.sum() == 0:
        return v.copy()
    x = v[shown]
    pr = (average_ranks(x) - 0.5) / x.size  # percentile ranks in (0, 1), ties averaged
    out = np.full(v.shape, np.nan)
    out[shown] = np.quantile(ref, pr)
    return out


#: Columns that ``score_history_alternatives`` shows for each score (besides the id and counts).
SCORE_COLUMNS: dict[str, tuple[str, ...]] = {
    "jss": ("jss",),
    "bayes": ("bayes_mean", "bayes_lower"),
    "wilson": ("wilson_lower",),
    "epp": ("epp",),
    "debiased": ("debiased",),
    "jss-interval": ("jss", "jss_low", "jss_high"),
}


def score_history_alternatives(df, week: int | None = None, rules: str | RuleSet = "upwork-2023"):
    """Every score of every freelancer of a contract-history table (the CSV of ``marketplace
    jss``) at ``week`` (default: the latest week), as a DataFrame with one row per freelancer:
    ``freelancer_id, score_<name>`` for each of ``SCORE_CHOICES`` (0-100, NaN = not shown), the
    components (``jss, jss_low, jss_high, bayes_mean, bayes_lower, wilson_lower, epp,
    debiased``, shares in percent) and ``n_outcomes, n_contracts``.

    Same reading of the table as :func:`marketplace.scoring.score_history` (validation errors
    name the row and column); the week is returned in ``.attrs["week"]``.
    """
    import pandas as pd

    from .history import history_as_of, validate_history
    from .rules import get_rules

    if isinstance(rules, str):
        rules = get_rules(rules)
    h = validate_history(df)
    week, rows, end, private, outcome, reason, weight = history_as_of(h, week, rules)
    f_codes, f_ids = pd.factorize(pd.Series(h.freelancer_id[rows], dtype=object), sort=True)
    c_codes, c_ids = pd.factorize(pd.Series(h.client_id[rows], dtype=object), sort=True)
    res = alternative_scores(f_codes, c_codes, end, outcome, weight, week=week,
                             n_freelancers=len(f_ids), rules=rules, reason=reason,
                             private_score=private, n_clients=len(c_ids))
    table = pd.DataFrame({
        "freelancer_id": np.asarray(f_ids, dtype=object),
        **{f"score_{score_key(name)}": res.score(name) for name in SCORE_CHOICES},
        "jss": res.jss, "jss_low": res.jss_low, "jss_high": res.jss_high,
        "bayes_mean": 100 * res.bayes_mean, "bayes_lower": 100 * res.bayes_lower,
        "wilson_lower": 100 * res.wilson_lower, "epp": 100 * res.epp,
        "debiased": 100 * res.debiased,
        "n_outcomes": res.n_outcomes, "n_contracts": res.n_contracts,
    })
    table.attrs["week"] = week
    table.attrs["rules"] = rules.name
    return table
