"""Counterfactual scoring (issue 14): how well would each alternative score tell freelancers apart?

At the end of a run, every freelancer's contract history (the contract table) is scored with the
JSS and every alternative of ``marketplace.scoring.alternatives`` at the final snapshot week, and
the same metrics are computed for each score, with the score's key as suffix (``jss``, ``bayes``,
``wilson``, ``epp``, ``debiased``, ``jss_interval``):

* ``spearman_quality_<k>``, ``auc_top_quartile_<k>``: rank correlation with true quality and AUC
  for the top true-quality quartile, over the **common population** (active freelancers with a JSS
  in the final snapshot, the `scored` population of ``metrics``), so that differences come from
  the score, not from whom it shows;
* ``cutoff_<k>``: the score (0-100) that admits the same share of that population as JSS >= 90;
* ``p_above_beats_below_<k>``: P(a freelancer just above that cut-off has higher true quality
  than one just below); "just above/below" are the bands holding the same shares of the
  population as JSS [90, 92) and [88, 90) (for the JSS itself exactly those bands);
* ``drop_one_liar_<k>``: mean drop (points, 0-100) when one negative outcome (weight 1) from a
  typical lying client is added at the final week (the dishonest client of the run with the
  median rater weight; only the debiased score can tell it is a liar);
* ``newcomers_visible_<k>`` / ``newcomers_admitted_<k>``: share of active newcomers (entered
  after the burn-in) whose score is shown / at or above ``cutoff_<k>``;
* ``volatility_<k>``: mean absolute change (points) of the score between consecutive platform
  updates (every ``jss_update_weeks``) over the last ``VOLATILITY_UPDATES`` updates, common
  population.

``<metric>_market`` repeats each for the score the market ran on (``platform.score``), so runs
with different market scores line up in one column. The table ``policy_scores_by_week`` holds
Spearman and AUC of every score at each snapshot week (long format). Histories at earlier weeks
are rebuilt from the final contract table (contracts started by then; those ending later are
ongoing then, paid up to then); flags and removals are those of the end of the run.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from marketplace.analysis.columns import numeric as _num
from marketplace.analysis.columns import param as _param
from marketplace.analysis.sections import POLICY_TABLE_METRICS  # noqa: F401 (public here)

SCORE_KEYS: tuple[str, ...] = ("jss", "bayes", "wilson", "epp", "debiased", "jss_interval")
"""Column suffix of each score (``marketplace.scoring.SCORE_CHOICES`` with ``-`` -> ``_``)."""
VOLATILITY_UPDATES = 4
"""Consecutive platform updates over which ``volatility_<k>`` is averaged."""
TOP_QUANTILE = 0.75
CUTOFF = 90.0

POLICY_BASES: dict[str, tuple[str, str, str]] = {
    "spearman_quality": ("Spearman(score, quality)", "Spearman correlation of the score with "
                         "true quality (active freelancers with a JSS).", ".3f"),
    "auc_top_quartile": ("AUC for top quartile", "AUC of the score for top-quartile true "
                         "quality (same population).", ".3f"),
    "cutoff": ("equal-share cut-off", "Score (0-100) admitting the same share as JSS >= 90.",
               ".1f"),
    "p_above_beats_below": ("P(just above beats just below)", "P(a freelancer just above the "
                            "equal-share cut-off beats one just below on true quality).", ".3f"),
    "drop_one_liar": ("drop after one lying client", "Mean score drop (points) from one extra "
                      "negative by a typical lying client.", ".1f"),
    "newcomers_visible": ("newcomers with a score", "Share of active newcomers whose score is "
                          "shown.", ".3f"),
    "newcomers_admitted": ("newcomers past the cut-off", "Share of active newcomers at or above "
                           "the equal-share cut-off.", ".3f"),
    "volatility": ("volatility per update", "Mean absolute score change (points) between "
                   "consecutive platform updates.", ".2f"),
}
"""Label, meaning and format of each metric family (suffixed by score key or ``market``)."""

SCORE_LABELS = {"jss": "JSS", "bayes": "Bayesian mean", "wilson": "Wilson lower bound",
                "epp": "EPP", "debiased": "rater-debiased", "jss_interval": "JSS lower end",
                "market": "market's score"}

POLICY_METRIC_NAMES: tuple[str, ...] = (
    *(f"{base}_{k}" for base in POLICY_BASES for k in SCORE_KEYS),
    *(f"{base}_market" for base in POLICY_BASES if base != "cutoff"),
    "platform_fees_usd",
)
POLICY_METRIC_INFO: dict[str, tuple[str, str, str]] = {
    **{f"{base}_{k}": (f"{label} ({SCORE_LABELS[k]})", meaning, fmt)
       for base, (label, meaning, fmt) in POLICY_BASES.items()
       for k in (*SCORE_KEYS, "market") if f"{base}_{k}" in POLICY_METRIC_NAMES},
    "platform_fees_usd": ("platform fees (USD)", "Freelancer fees the platform kept in the "
                          "analysed period, net of fees returned with refunds (USD).", ",.0f"),
}

def _codes(series: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(series):
        return pd.to_numeric(series).to_numpy(dtype=float, na_value=np.nan)
    lookup = {n: float(i) for i, n in enumerate(names)}
    return series.astype("string").map(lookup).to_numpy(dtype=float, na_value=np.nan)


class ContractHistory:
    """The contract table as arrays, scorable at any week up to the end of the run."""

    def __init__(self, contracts: pd.DataFrame, n_freelancers: int, n_clients: int,
                 rules: Any) -> None:
        from marketplace.scoring import END_REASONS

        self.rules = rules
        self.n_freelancers = int(n_freelancers)
        self.n_clients = int(n_clients)
        self.f = _num(contracts, "freelancer_id").astype(np.int64)
        self.c = _num(contracts, "client_id").astype(np.int64)
        self.start = _num(contracts, "start_week")
        self.end = _num(contracts, "end_week")
        self.private = _num(contracts, "private_score")
        self.stars = _num(contracts, "public_stars")
        self.end_reason = np.nan_to_num(_codes(contracts["end_reason"], END_REASONS), nan=0.0)
        self.earnings = np.nan_to_num(_num(contracts, "earnings_usd"))
        self.paid = np.nan_to_num(_num(contracts, "paid_weeks"))
        self.flagged = contracts["client_flagged"].fillna(False).to_numpy(dtype=bool)
        self.removed = contracts["removed"].fillna(False).to_numpy(dtype=bool)

    def arrays(self, week: float) -> dict[str, np.ndarray]:
        """Contract arrays as the scoring engine sees them at ``week``."""
        from marketplace.scoring import classify_outcomes, contract_weights

        rows = np.flatnonzero(self.start <= week)
        end = self.end[rows].copy()
        ongoing = np.isnan(end) | (end > week)
        end[ongoing] = np.nan
        paid = np.where(ongoing, np.minimum(self.paid[rows], week - self.start[rows] + 1),
                        self.paid[rows])
        private = np.where(ongoing, np.nan, self.private[rows])
        outcome, reason = classify_outcomes(
            private, np.where(ongoing, np.nan, self.stars[rows]),
            np.where(ongoing, 0, self.end_reason[rows]).astype(np.int8), self.earnings[rows],
            self.flagged[rows], self.removed[rows], self.rules, ongoing=ongoing,
            paid_weeks=paid, last_payment_week=np.full(rows.size, float(week)), week=week)
        return {"f": self.f[rows], "c": self.c[rows], "end": end, "outcome": outcome,
                "weight": contract_weights(self.earnings[rows], paid, self.rules),
                "reason": reason, "private": private}

    def scores(self, week: float, extra: dict[str, np.ndarray] | None = None,
               rater_weight: np.ndarray | None = None) -> tuple[dict[str, np.ndarray], Any]:
        """Every score (0-100) of every freelancer at ``week``; ``extra`` contracts are added."""
        from marketplace.scoring import SCORE_CHOICES, alternative_scores, client_rating_weights

        a = self.arrays(week)
        if rater_weight is None:
            rater_weight = client_rating_weights(a["f"], a["c"], a["private"],
                                                 n_clients=self.n_clients,
                                                 alt=self.rules.alternatives, per_contract=True)
        n_clients = self.n_clients
        if extra is not None:
            a = {k: np.concatenate([a[k], extra[k]]) for k in a}
            rater_weight = np.concatenate([rater_weight, extra["rater_weight"]])
            n_clients = int(a["c"].max()) + 1
        res = alternative_scores(
            a["f"], a["c"], a["end"], a["outcome"].astype(np.int8), a["weight"], week=week,
            n_freelancers=self.n_freelancers, rules=self.rules,
            reason=a["reason"].astype(np.int8), rater_weight=rater_weight, n_clients=n_clients)
        scores = {name.replace("-", "_"): res.score(name) for name in SCORE_CHOICES}
        return scores, (a, rater_weight)


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    if pos.size < 1 or neg.size < 1:
        return math.nan
    from scipy import stats  # imported on use: keeps the CLI start-up light

    u = stats.mannwhitneyu(pos, neg, alternative="two-sided", method="asymptotic").statistic
    return float(u / (pos.size * neg.size))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if x.size < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return math.nan
    from scipy import stats

    return float(stats.spearmanr(x, y).statistic)


def equal_share_bands(score: np.ndarray, jss: np.ndarray) -> tuple[float, float, float]:
    """(cut-off, upper end of the band just above, lower end of the band just below) of
    ``score`` that admit and bracket the same shares of the population as JSS >= 90, JSS [90, 92)
    and JSS [88, 90). NaN scores are left out of the quantiles."""
    x = score[~np.isnan(score)]
    j = jss[~np.isnan(jss)]
    if x.size < 2 or j.size == 0:
        return math.nan, math.nan, math.nan
    admitted = float(np.mean(j >= CUTOFF))
    above = float(np.mean((j >= CUTOFF) & (j < CUTOFF + 2)))
    below = float(np.mean((j >= CUTOFF - 2) & (j < CUTOFF)))

    def q(share: float) -> float:
        return float(np.quantile(x, min(max(share, 0.0), 1.0)))

    return q(1 - admitted), q(1 - admitted + above), q(1 - admitted - below)


def score_metrics(scores: dict[str, np.ndarray], quality: np.ndarray, jss_ref: np.ndarray
                  ) -> dict[str, dict[str, float]]:
    """Spearman, AUC, cut-off and P(just above beats just below) of each score over one
    population (arrays aligned; ``jss_ref`` the JSS that sets the admitted share)."""
    out: dict[str, dict[str, float]] = {}
    good = quality >= np.quantile(quality, TOP_QUANTILE) if quality.size >= 4 else None
    for k, x in scores.items():
        m = {"spearman_quality": _spearman(x, quality)}
        shown = ~np.isnan(x)
        if good is not None and good[shown].any() and (~good[shown]).any():
            m["auc_top_quartile"] = _auc(x[shown & good], x[shown & ~good])
        if k == "jss":
            cut, hi, lo = CUTOFF, CUTOFF + 2, CUTOFF - 2
        else:
            cut, hi, lo = equal_share_bands(x, jss_ref)
        m["cutoff"] = cut
        if not math.isnan(cut):
            above = quality[shown & (x >= cut) & (x < max(hi, cut + 1e-9))]
            below = quality[shown & (x >= min(lo, cut - 1e-9)) & (x < cut)]
            m["p_above_beats_below"] = _auc(above, below)
        out[k] = m
    return out


def platform_fees(timeseries: pd.DataFrame | None, start: float) -> dict[str, float]:
    """``platform_fees_usd``: fees of the analysed period (weekly series, net of refunds)."""
    if timeseries is None or "platform_fees_usd" not in timeseries.columns:
        return {}
    rows = timeseries.loc[_num(timeseries, "week") >= start]
    return {"platform_fees_usd": float(np.nansum(_num(rows, "platform_fees_usd")))}


def policy_metrics(contracts: pd.DataFrame | None, freelancers: pd.DataFrame,
                   clients: pd.DataFrame | None, params: Any, notes: Any = None,
                   timeseries: pd.DataFrame | None = None
                   ) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    """The counterfactual-scoring scalars (``POLICY_METRIC_NAMES``) and the
    ``policy_scores_by_week`` table of one run (see the module docstring)."""

    fees = platform_fees(timeseries, float(_param(params, "burn_in_weeks", 0)))
    out, tables = _policy_metrics(contracts, freelancers, clients, params, notes)
    out.update(fees)
    return out, tables


def _policy_metrics(contracts: pd.DataFrame | None, freelancers: pd.DataFrame,
                    clients: pd.DataFrame | None, params: Any, notes: Any = None
                    ) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    from marketplace.analysis.metrics import _rules_for

    def note(reason: str) -> None:
        if notes is not None:
            for m in POLICY_METRIC_NAMES:
                if m != "platform_fees_usd":
                    notes.add(m, reason)

    if contracts is None or len(contracts) == 0:
        note("no contract table")
        return {}, {}
    rules = _rules_for(params)
    start = float(_param(params, "burn_in_weeks", 0))
    step = int(_param(params, "jss_update_weeks", 2))
    n_f = int(max(_num(freelancers, "freelancer_id").max(), _num(contracts, "freelancer_id").max())
              ) + 1
    n_c = int(_num(contracts, "client_id").max()) + 1
    if clients is not None and len(clients):
        n_c = max(n_c, int(_num(clients, "client_id").max()) + 1)
    hist = ContractHistory(contracts, n_f, n_c, rules)

    final_week = float(freelancers["week"].max())
    final = freelancers.loc[freelancers["week"] == final_week]
    fid = _num(final, "freelancer_id").astype(np.int64)
    active = final["active"].fillna(False).to_numpy(dtype=bool)
    pop = fid[active & ~np.isnan(_num(final, "jss"))]
    quality = np.full(n_f, np.nan)
    quality[fid] = _num(final, "true_quality")
    newcomers = fid[active & (_num(final, "entry_week") > start)]
    if pop.size < 4:
        note(f"only {pop.size} active freelancers with a JSS")
        return {}, {}

    scores, (arrays, rater_w) = hist.scores(final_week)
    out: dict[str, float] = {}
    per_score = score_metrics({k: v[pop] for k, v in scores.items()}, quality[pop],
                              scores["jss"][pop])
    for k, m in per_score.items():
        for base, value in m.items():
            out[f"{base}_{k}"] = value
        x = scores[k][newcomers]
        if newcomers.size:
            out[f"newcomers_visible_{k}"] = float(np.mean(~np.isnan(x)))
            cut = m.get("cutoff", math.nan)
            if not math.isnan(cut):
                out[f"newcomers_admitted_{k}"] = float(np.mean(x >= cut))

    # one extra negative from a typical lying client, for every freelancer of the population
    liar_weight = _liar_weight(arrays, clients, n_c, rules)
    k_extra = pop.size
    from marketplace.scoring import Outcome

    extra = {"f": pop, "c": n_c + np.arange(k_extra), "end": np.full(k_extra, final_week),
             "outcome": np.full(k_extra, int(Outcome.NEGATIVE), np.int8),
             "weight": np.ones(k_extra), "reason": np.zeros(k_extra, np.int8),
             "private": np.full(k_extra, np.nan), "rater_weight": np.full(k_extra, liar_weight)}
    cf, _ = hist.scores(final_week, extra=extra, rater_weight=rater_w)
    for k in SCORE_KEYS:
        drop = scores[k][pop] - cf[k][pop]
        drop = drop[~np.isnan(drop)]
        if drop.size:
            out[f"drop_one_liar_{k}"] = float(drop.mean())

    # volatility: consecutive platform updates before the end
    weeks = [final_week - i * step for i in range(VOLATILITY_UPDATES + 1)]
    weeks = [w for w in weeks if w >= start]
    if len(weeks) >= 2:
        series = [scores] + [hist.scores(w)[0] for w in weeks[1:]]
        for k in SCORE_KEYS:
            diffs = [np.abs(series[i][k][pop] - series[i + 1][k][pop])
                     for i in range(len(series) - 1)]
            d = np.concatenate(diffs)
            d = d[~np.isnan(d)]
            if d.size:
                out[f"volatility_{k}"] = float(d.mean())

    market = str(_param(params, "platform.score", "jss")).replace("-", "_")
    for base in POLICY_BASES:
        if base != "cutoff" and f"{base}_{market}" in out:
            out[f"{base}_market"] = out[f"{base}_{market}"]
    tables = {"policy_scores_by_week": _by_week(hist, freelancers, start, final_week, scores)}
    return out, tables


def _liar_weight(arrays: dict[str, np.ndarray], clients: pd.DataFrame | None, n_clients: int,
                 rules: Any) -> float:
    """Rater weight of a typical lying client: the median weight of the run's dishonest clients
    with at least one private score (1 = an unknown new client when there is none)."""
    from marketplace.scoring import client_rating_weights

    if clients is None or "rater_type" not in clients.columns:
        return 1.0
    w = client_rating_weights(arrays["f"], arrays["c"], arrays["private"], n_clients=n_clients,
                              alt=rules.alternatives)
    rated = np.bincount(arrays["c"][~np.isnan(arrays["private"])], minlength=n_clients) > 0
    liars = _num(clients, "client_id")[
        clients["rater_type"].astype("string").to_numpy() == "dishonest"].astype(np.int64)
    liars = liars[rated[liars]]
    return float(np.median(w[liars])) if liars.size else 1.0


def _by_week(hist: ContractHistory, freelancers: pd.DataFrame, start: float, final_week: float,
             final_scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """Spearman and AUC of every score at each snapshot week of the analysed period."""
    rows = []
    for week, snap in freelancers.groupby("week", sort=True):
        if week < start:
            continue
        fid = _num(snap, "freelancer_id").astype(np.int64)
        keep = snap["active"].fillna(False).to_numpy(dtype=bool) & ~np.isnan(_num(snap, "jss"))
        if keep.sum() < 4:
            continue
        pop = fid[keep]
        q = _num(snap, "true_quality")[keep]
        scores = final_scores if week == final_week else hist.scores(float(week))[0]
        m = score_metrics({k: v[pop] for k, v in scores.items()}, q, scores["jss"][pop])
        for k, vals in m.items():
            rows.append({"week": int(week), "score": k, "n_freelancers": int(pop.size),
                         "spearman_quality": vals.get("spearman_quality", math.nan),
                         "auc_top_quartile": vals.get("auc_top_quartile", math.nan)})
    df = pd.DataFrame(rows, columns=["week", "score", "n_freelancers", "spearman_quality",
                                     "auc_top_quartile"])
    return df.astype({"week": "int32", "score": "string", "n_freelancers": "int32",
                      "spearman_quality": "float32", "auc_top_quartile": "float32"})
