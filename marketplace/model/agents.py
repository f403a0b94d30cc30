"""The two kinds of agents and how each decides.

``Freelancer`` and ``Client`` are ``mesa.Agent`` subclasses, but their state lives in the model's
struct-of-arrays tables (``model.freelancer_state``, ``model.client_state``): an agent object is a
thin view (properties read its row), so the market can be cleared vectorized over all agents at
once. Each decision is a class-level function over arrays of agents; the model calls them in the
order of the week (``MarketplaceModel.step``). Every random draw uses ``model.rng``.

Codes: strategy 0 honest / 1 chaser; rater type 0 honest / 1 lenient / 2 harsh / 3 dishonest;
chase action 0 none / 1 full refund / 2 partial refund / 3 extra work (``outputs.CHASE_ACTIONS``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import mesa
import numpy as np
from scipy.special import ndtr

from .outputs import RATER_TYPES, STRATEGIES

if TYPE_CHECKING:  # pragma: no cover
    from .model import MarketplaceModel

HONEST, LENIENT, HARSH, DISHONEST = range(4)
CHASER = 1
NO_ACTION, FULL_REFUND, PARTIAL_REFUND, EXTRA_WORK = range(4)
#: early-end cause codes (outputs.EARLY_END_CAUSES) where the client ended the contract
_CLIENT_EARLY_END_CAUSES = np.array([1, 2, 3, 4], np.int8)
#: causes unrelated to the work (budget shortfall, change of direction)
BUDGET_END_CAUSES = np.array([1, 2], np.int8)


def _cause_table(causes: np.ndarray) -> np.ndarray:
    """Lookup table cause code -> member of ``causes`` (``table[code]`` is ``np.isin`` of a small
    code without its sort)."""
    table = np.zeros(256, bool)
    table[causes] = True
    return table


#: ``_CLIENT_ENDED[code]`` / ``BUDGET_ENDED[code]``: is an early-end cause code one of those above
_CLIENT_ENDED = _cause_table(_CLIENT_EARLY_END_CAUSES)
BUDGET_ENDED = _cause_table(BUDGET_END_CAUSES)


def honest_private_score(satisfaction: np.ndarray, private_bias: float) -> np.ndarray:
    """The 0-10 private score an honest rater gives at ``satisfaction`` (before any silence)."""
    return np.clip(np.rint(10.0 * satisfaction + private_bias), 0, 10)


def is_unhappy(model: MarketplaceModel, satisfaction: np.ndarray) -> np.ndarray:
    """The one definition of an unhappy client: its honest private score would be negative
    (below the rule set's neutral band), whatever its rater type."""
    return (honest_private_score(satisfaction, model.p.clients.private_bias)
            < model.rules.private_neutral_min)


def honest_public_expected(model: MarketplaceModel, satisfaction: np.ndarray) -> np.ndarray:
    """An honest rater's expected public stars (before noise and rounding) at ``satisfaction``,
    with the standards drift of the current week."""
    c = model.p.clients
    drift = c.public_inflation_stars_per_year * model.week / 52.0
    return 5.0 - c.public_slope * np.maximum(0.0, c.public_full_marks - satisfaction) + drift


class Freelancer(mesa.Agent):
    """A freelancer: hidden true quality, an asking price, a capacity and a strategy.

    Attributes (views onto ``model.freelancer_state`` row ``idx``): ``true_quality`` (never read by
    any decision of another agent), ``strategy``, ``price_usd``, ``jss`` (None = no JSS),
    ``top_rated``, ``active``, ``n_ongoing``, ``earnings_usd_total``.
    """

    def __init__(self, model: MarketplaceModel, idx: int) -> None:
        super().__init__(model)
        self.idx = int(idx)

    @classmethod
    def create_views(cls, model: MarketplaceModel, idx: np.ndarray) -> list[Freelancer]:
        """One agent per row ``idx``, registered with the model as ``Freelancer(model, i)``
        would (same ids, same order), without the constructor chain per agent: about half the
        cost of ~40k newcomers' registration in a 10,000-freelancer run. Agent classes that
        Mesa tracks in a data registry take the ordinary constructor."""
        if cls._datasets:
            return [cls(model, int(i)) for i in idx]
        new, register = cls.__new__, model.register_agent
        agents = []
        for i in idx.tolist():
            agent = new(cls)
            agent.model = model
            agent.unique_id = None
            agent.pos = None
            agent.idx = i
            register(agent)
            agents.append(agent)
        return agents

    # ---- views ---------------------------------------------------------------------------
    @property
    def _s(self):
        return self.model.freelancer_state

    @property
    def true_quality(self) -> float:
        return float(self._s.quality[self.idx])

    @property
    def strategy(self) -> str:
        return STRATEGIES[int(self._s.strategy[self.idx])]

    @property
    def price_usd(self) -> float:
        return float(self._s.price[self.idx])

    @property
    def jss(self) -> float | None:
        v = float(self._s.jss[self.idx])
        return None if np.isnan(v) else v

    @property
    def top_rated(self) -> bool:
        return bool(self._s.top_rated[self.idx])

    @property
    def active(self) -> bool:
        return bool(self._s.active[self.idx])

    @property
    def n_ongoing(self) -> int:
        return int(self._s.n_ongoing[self.idx])

    @property
    def earnings_usd_total(self) -> float:
        return float(self._s.earnings_total[self.idx])

    # ---- decisions (vectorized over all freelancers) ---------------------------------------
    @staticmethod
    def draw_entrants(model: MarketplaceModel, k: int) -> dict[str, np.ndarray]:
        """Attributes of ``k`` entering freelancers: quality, strategy, capacity, base price."""
        p = model.p.freelancers
        rng = model.rng
        q = p.quality
        if q.kind == "beta":
            quality = rng.beta(q.a, q.b, k)
        elif q.kind == "uniform":
            quality = rng.uniform(q.low, q.high, k)
        else:  # truncated normal by rejection-free inverse CDF
            from scipy.special import ndtri

            lo, hi = ndtr((0 - q.mean) / q.sd), ndtr((1 - q.mean) / q.sd)
            quality = q.mean + q.sd * ndtri(rng.uniform(lo, hi, k))
        quality = np.clip(quality, 0.0, 1.0)
        strategy = (rng.random(k) < p.chaser_share).astype(np.int8)
        capacity = rng.integers(1, p.capacity_max + 1, k).astype(np.int16)
        noise = rng.normal(0.0, p.price_noise_sd, k)
        mean_quality = model.quality_mean
        slope = p.price_quality_slope
        if p.pricing == "reputation" and p.reputation_price_quality_slope is not None:
            slope = p.reputation_price_quality_slope  # its own link to quality
        base_log_price = np.log(p.price_median_usd) + slope * (quality - mean_quality) + noise
        return {"quality": quality, "strategy": strategy, "capacity": capacity,
                "base_log_price": base_log_price}

    @staticmethod
    def asking_price(model: MarketplaceModel, idx: np.ndarray) -> np.ndarray:
        """Current asking hourly rate (USD) of freelancers ``idx``.

        'quality': fixed at entry. 'reputation': exp(base + slope x (r - r_mean)) with the
        reputation index r = JSS/100 (0 without one) + 0.25 x Top Rated + 0.25 x Top Rated Plus
        and r_mean its mean over the freelancers on the platform (so reputation pricing moves
        prices between freelancers, not the market's price level).
        """
        s = model.freelancer_state
        base = s.base_log_price[idx]
        p = model.p.freelancers
        if p.pricing == "quality":
            return np.exp(base)
        r = (np.nan_to_num(s.score[idx], nan=0.0) / 100.0 + 0.25 * s.top_rated[idx]
             + 0.25 * s.top_rated_plus[idx])
        r_mean = float(r.mean()) if r.size else 0.0
        return np.exp(base + p.reputation_price_slope * (r - r_mean))

    @staticmethod
    def send_proposals(model: MarketplaceModel, jobs: dict[str, np.ndarray]
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Who proposes to which open job this week (ordered by freelancer).

        Freelancers with free capacity and enough Connects send Poisson(proposals_per_week)
        proposals (capped by Connects) to uniformly drawn open jobs. A freelancer below a job's
        preferred JSS applies anyway only with ``apply_below_preference_prob``; jobs of clients
        rated below 3 stars by freelancers are skipped with ``avoid_poorly_rated_clients``.
        A freelancer's proposals in one week go to distinct jobs (each one uniform over the open
        jobs). Connects are charged for what is sent.
        Returns (freelancer index, job index, passes the client's preference).
        """
        p = model.p.freelancers
        rng = model.rng
        s = model.freelancer_state
        n = s.n
        n_jobs = len(jobs["client"])
        if n_jobs == 0:
            e = np.empty(0, np.int64)
            return e, e, np.empty(0, bool)
        cost = p.connects_per_proposal
        act = model.active_idx
        free = s.n_ongoing[act] < s.capacity[act]
        if cost > 0:
            free &= s.connects[act] >= cost
        searching = act[free]
        k = _poisson(rng, p.proposals_per_week, searching.size)
        if cost > 0:  # no more than the Connects pay for; binds only where k + 1 would not
            short = np.flatnonzero((k + 1) * cost > s.connects[searching])
            k[short] = np.minimum(k[short], s.connects[searching[short]] // cost)
        if n_jobs < 64:  # tiny markets: never more proposals than distinct jobs
            k = np.minimum(k, n_jobs)
        # indices stay intp: numpy gathers with int32 indices convert them first (2-3x slower)
        f = np.repeat(searching, k)
        j = _distinct_jobs(rng, k, f.size, n_jobs)
        # self-selection against the job's preference, and clients freelancers warn about
        passes = Client.passes_preference_fast(model, jobs, f, j)
        keep = passes | (rng.random(f.size, dtype=np.float32) < p.apply_below_preference_prob)
        if p.avoid_poorly_rated_clients > 0:
            cs = model.client_state
            client = jobs["client"]
            n_r = cs.rating_n[client]
            poorly = (n_r > 0) & (cs.rating_sum[client] < 3.0 * n_r)
            if poorly.any():
                skip = poorly[j] & (rng.random(f.size, dtype=np.float32)
                                    < p.avoid_poorly_rated_clients)
                keep &= ~skip
        if model.p.platform.client_reputation:  # two-sided reputation (ODD 7.8)
            avoid = model.p.platform.client_reputation_avoidance * Freelancer.client_shortfall(
                model.client_reputation_scores())[jobs["client"]]
            keep &= rng.random(f.size, dtype=np.float32) >= avoid[j]
        rows = np.flatnonzero(keep)  # one index for three gathers
        f, j, passes = f.take(rows), j.take(rows), passes.take(rows)
        sent = np.bincount(f, minlength=n)[searching]
        if cost > 0 and f.size:
            s.connects[searching] -= cost * sent
        s.proposals_sent[searching] += sent
        s.last_activity_week[searching[sent > 0]] = model.week
        return f, j, passes

    @staticmethod
    def client_shortfall(score: np.ndarray) -> np.ndarray:
        """How far below the typical client each client's visible score lies, in [0, 1]: 0 at or
        above the median score, 1 at or below the 5th percentile, linear between. Relative, so
        it steers proposals between clients whatever the ratings' overall level (which standards
        drift and the rating base move)."""
        if score.size == 0:
            return score
        mid, low = np.quantile(score, [0.5, 0.05])
        if mid - low <= 1e-12:
            return np.zeros_like(score)
        return np.clip((mid - score) / (mid - low), 0.0, 1.0)

    @staticmethod
    def chase_offer(model: MarketplaceModel, freelancer: np.ndarray, appears_unhappy: np.ndarray
                    ) -> np.ndarray:
        """What each ending contract's freelancer offers (chase action code; 0 = nothing).

        A chaser whose client appears unhappy at the end offers a full refund, a partial refund
        or unpaid extra work, drawn from ``chase_action_mix``; honest freelancers offer nothing.
        """
        p = model.p.freelancers
        chaser = (model.freelancer_state.strategy[freelancer] == CHASER) & appears_unhappy
        action = np.zeros(freelancer.size, np.int8)
        m = int(chaser.sum())
        if m:
            action[chaser] = 1 + model.rng.choice(3, size=m, p=np.asarray(p.chase_action_mix))
        return action

    @staticmethod
    def rate_clients(model: MarketplaceModel, contracts: np.ndarray, public: np.ndarray,
                     dispute: np.ndarray) -> np.ndarray:
        """The freelancer's 1-5 star feedback on each ending contract's client (drives client
        flagging), from what the client did in that contract: public stars far below what the
        delivered work deserved, an early end by the client, work larger than posted (scope
        creep), a dispute; plus rater noise. The freelancer never sees the client's type."""
        pl = model.p.platform
        ct = model.contract_state
        deserved = np.clip(honest_public_expected(model, ct.delivered_quality[contracts]), 1, 5)
        gap = np.nan_to_num(deserved - public, nan=0.0)  # no stars seen: no gap
        early = _CLIENT_ENDED[ct.early_end_cause[contracts]]
        scope = ((ct.planned_weeks[contracts] > ct.posted_weeks[contracts])
                 | (ct.scope_hours[contracts] > 0))
        mean = (pl.freelancer_rating_base
                - pl.rating_penalty_feedback_gap * np.maximum(0.0, gap - 1.0)
                - pl.rating_penalty_early_end * early - pl.rating_penalty_scope * scope
                - pl.rating_penalty_dispute * dispute)
        noise = model.rng.normal(0.0, pl.freelancer_rating_noise_sd, contracts.size)
        return np.clip(np.rint(mean + noise), 1, 5)

    @staticmethod
    def leaving(model: MarketplaceModel, week: int) -> np.ndarray:
        """Indices of freelancers who leave this week: idle for exit_idle_weeks, then a hazard;
        any freelancer without running work, with the career-end hazard."""
        p = model.p.freelancers
        s = model.freelancer_state
        if p.exit_prob_per_week <= 0 and p.career_end_prob_per_week <= 0:
            return np.empty(0, np.int64)
        act = model.active_idx
        free = act[s.n_ongoing[act] == 0]
        idle = week - s.last_work_week[free] >= p.exit_idle_weeks
        hazard = np.where(idle, 1.0 - (1.0 - p.exit_prob_per_week)
                          * (1.0 - p.career_end_prob_per_week), p.career_end_prob_per_week)
        return free[model.rng.random(free.size) < hazard]


class Client(mesa.Agent):
    """A client: posting rate, a minimum-JSS preference and a rater type.

    Attributes (views onto ``model.client_state`` row ``idx``): ``rater_type``, ``min_jss``
    (0 = any), ``accepts_no_jss``, ``flagged``, ``jobs_posted``, ``hires``, ``proposals_read``.
    """

    def __init__(self, model: MarketplaceModel, idx: int) -> None:
        super().__init__(model)
        self.idx = int(idx)

    @property
    def _s(self):
        return self.model.client_state

    @property
    def rater_type(self) -> str:
        return RATER_TYPES[int(self._s.rater_type[self.idx])]

    @property
    def min_jss(self) -> float:
        return float(self._s.min_jss[self.idx])

    @property
    def accepts_no_jss(self) -> bool:
        return bool(self._s.accepts_no_jss[self.idx])

    @property
    def flagged(self) -> bool:
        return bool(self._s.flagged[self.idx])

    @property
    def jobs_posted(self) -> int:
        return int(self._s.jobs_posted[self.idx])

    @property
    def hires(self) -> int:
        return int(self._s.hires[self.idx])

    @property
    def proposals_read(self) -> int:
        return int(self._s.proposals_read[self.idx])

    # ---- decisions -------------------------------------------------------------------------
    @staticmethod
    def draw_population(model: MarketplaceModel, k: int) -> dict[str, np.ndarray]:
        """Attributes of the ``k`` clients: rater type, preference, posting rate."""
        c = model.p.clients
        rng = model.rng
        rater = rng.choice(4, size=k, p=np.array(list(c.rater_mix.shares().values())))
        levels = np.array([0.0, 80.0, 90.0, 95.0])
        min_jss = levels[rng.choice(4, size=k, p=np.array(list(c.min_jss_mix.shares().values())))]
        accepts = rng.random(k) < c.accepts_no_jss_share
        rate = rng.gamma(c.jobs_rate_shape, c.jobs_per_week / c.jobs_rate_shape, k)
        return {"rater_type": rater.astype(np.int8), "min_jss": min_jss,
                "accepts_no_jss": accepts, "post_rate": rate}

    @staticmethod
    def passes_preference(min_jss: np.ndarray, accepts_no_jss: np.ndarray, jss: np.ndarray
                          ) -> np.ndarray:
        """True where a freelancer's JSS meets the client's preferred minimum (first tab)."""
        has = ~np.isnan(jss)
        return (min_jss <= 0) | np.where(has, jss >= min_jss, accepts_no_jss)

    @staticmethod
    def post_jobs(model: MarketplaceModel) -> dict[str, np.ndarray]:
        """This week's posts: client, value (USD), duration (weeks), fixed/hourly, and so on."""
        c = model.p.clients
        rng = model.rng
        cs = model.client_state
        counts = rng.poisson(cs.post_rate[: cs.n])
        client = np.repeat(np.arange(cs.n), counts)
        m = client.size
        z1 = rng.standard_normal(m)
        z2 = c.value_duration_corr * z1 + np.sqrt(1 - c.value_duration_corr**2) * \
            rng.standard_normal(m)
        value = c.job_value_median_usd * np.exp(c.job_value_log_sd * z1)
        weeks = np.clip(np.ceil(c.duration_median_weeks * np.exp(c.duration_log_sd * z2)), 1, 104)
        return {
            "client": client,
            "value": value,
            "percentile": ndtr(z1),  # value percentile among all jobs (lognormal CDF)
            "weeks": weeks.astype(np.int32),
            "fixed": rng.random(m) < c.fixed_price_share,
            "abandoned": rng.random(m) < c.abandon_prob,
            "second_tab": rng.random(m) < c.second_tab_prob,
            "min_jss": cs.min_jss[client],
            "accepts_no_jss": cs.accepts_no_jss[client],
        }

    @staticmethod
    def passes_preference_fast(model: MarketplaceModel, jobs: dict[str, np.ndarray],
                               f: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``passes_preference`` per proposal with per-job and per-freelancer terms precomputed."""
        jf = np.fmax(model.freelancer_state.score[f], -1.0)  # no score (NaN) -> -1, below any
        job_min = jobs["min_jss"]
        job_accepts_none = jobs["accepts_no_jss"] | (job_min <= 0)
        return (jf >= job_min[j]) | ((jf < 0) & job_accepts_none[j])

    @staticmethod
    def score_weight(model: MarketplaceModel, percentile: np.ndarray) -> np.ndarray:
        """Weight w(p) on the public score (1 - w on price) by the job's value percentile p."""
        slope = model.p.clients.utility.score_weight_slope
        return 1.0 / (1.0 + np.exp(-slope * (percentile - 0.5)))

    @staticmethod
    def utility_terms(model: MarketplaceModel) -> tuple[np.ndarray, np.ndarray]:
        """Per-freelancer terms (A, B) of the utility u = w(p) x A + B (+ noise); computed for
        the freelancers on the platform (0 for those who left).

        A = profile x score_scale x S/100 + price_scale x log(rate / reference rate);
        B = profile x (badge_weight x badge + reviews_weight x log(1 + reviews))
            - price_scale x log(rate / reference rate) + quality_weight x q.
        """
        u_p = model.p.clients.utility
        s = model.freelancer_state
        i = model.active_idx
        jss = s.score[i]  # the market's score (the JSS unless platform.score says otherwise)
        score = np.where(np.isnan(jss), u_p.no_jss_score, jss) / 100.0
        badge = np.where(s.top_rated_plus[i], 1.5, np.where(
            s.top_rated[i], 1.0, np.where(s.rising_talent[i], 0.5, 0.0)))
        log_price = np.log(s.price[i] / model.p.freelancers.price_median_usd)
        pw = u_p.public_profile_weight
        a = np.zeros(s.n)
        b = np.zeros(s.n)
        a[i] = pw * u_p.score_scale * score + u_p.price_scale * log_price
        b[i] = (pw * (u_p.badge_weight * badge + u_p.reviews_weight * np.log1p(s.n_reviews[i]))
                - u_p.price_scale * log_price + u_p.quality_weight * s.quality[i])
        return a, b

    @staticmethod
    def utility(model: MarketplaceModel, jobs: dict[str, np.ndarray], f: np.ndarray,
                j: np.ndarray, noise: bool = True) -> np.ndarray:
        """A client's utility of hiring freelancer ``f`` for job ``j`` (one value per proposal).

        u = profile x [w(p) x score_scale x S/100 + badge_weight x B + reviews_weight x
        log(1 + reviews)] - (1 - w(p)) x price_scale x log(bid / value) + quality_weight x
        (q + e_q) + choice_noise x Gumbel, with S the JSS (no_jss_score when none), B = Top Rated
        (1.5 for Plus, 0.5 for Rising Talent), e_q ~ N(0, quality_signal_noise) the private read
        of true quality, and bid / value = the freelancer's rate / the reference rate. With
        ``noise=False`` both random terms are left out.
        """
        u_p = model.p.clients.utility
        rng = model.rng
        a, b = Client.utility_terms(model)
        w = Client.score_weight(model, jobs["percentile"])
        u = w[j] * a[f] + b[f]
        if noise and u_p.quality_weight > 0 and u_p.quality_signal_noise > 0:
            u += (u_p.quality_weight * u_p.quality_signal_noise) * rng.standard_normal(
                f.size, dtype=np.float32)
        if noise and u_p.choice_noise > 0:  # Gumbel = -log(Exp(1))
            e = rng.standard_exponential(f.size, dtype=np.float32)
            u -= u_p.choice_noise * np.log(np.maximum(e, np.float32(1e-30)))
        return u

    @staticmethod
    def choose(model: MarketplaceModel, jobs: dict[str, np.ndarray], f: np.ndarray,
               j: np.ndarray, passes: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Each client reads the first tab (proposals meeting its preference) and, with
        ``second_tab_prob``, the second; hires the best visible proposal if it beats hiring no one.

        Returns per-proposal ``visible``/``passes`` and per-job
        ``winner`` (freelancer index or -1), ``n_proposals``, ``n_read`` and ``opened``.
        """
        n_jobs = len(jobs["client"])
        if passes is None:
            passes = Client.passes_preference_fast(model, jobs, f, j)
        has_pref = jobs["min_jss"] > 0
        opened = jobs["second_tab"] & has_pref
        visible = passes | opened[j]
        n_prop = np.bincount(j, minlength=n_jobs)
        n_pass = np.bincount(j[passes], minlength=n_jobs)
        n_read = np.where(opened, n_prop, n_pass).astype(np.int64)
        winner = np.full(n_jobs, -1, np.int64)
        best_u = np.full(n_jobs, -np.inf)
        if f.size:
            u = Client.utility(model, jobs, f, j)
            u = np.where(visible, u, -np.inf)
            np.maximum.at(best_u, j, u)
            best = np.flatnonzero((u == best_u[j]) & visible)
            first = np.full(n_jobs, f.size, np.int64)
            np.minimum.at(first, j[best], best)  # ties: the earliest proposal
            ok = first < f.size
            winner[ok] = f[first[ok]]
        hire = (best_u > Client.reservation(model, jobs)) & ~jobs["abandoned"]
        winner[~hire] = -1
        return {"passes": passes, "visible": visible, "winner": winner, "n_proposals": n_prop,
                "n_read": n_read, "opened": opened, "best_utility": best_u}

    @staticmethod
    def reservation(model: MarketplaceModel, jobs: dict[str, np.ndarray]) -> np.ndarray:
        """Utility of hiring no one for each job, relative to the market: reservation_utility
        plus the score utility of the average freelancer on the platform (profile x w(p) x
        score_scale x mean S/100). The score's weight then changes whom clients hire, not how
        often they hire."""
        u_p = model.p.clients.utility
        s = model.freelancer_state
        jss = s.score[model.active_idx]  # the market's score
        mean_score = (float(np.where(np.isnan(jss), u_p.no_jss_score, jss).mean()) / 100.0
                      if jss.size else u_p.no_jss_score / 100.0)
        w = Client.score_weight(model, jobs["percentile"])
        profile = u_p.public_profile_weight * u_p.score_scale
        return u_p.reservation_utility + profile * w * mean_score

    @staticmethod
    def early_end(model: MarketplaceModel, contracts: np.ndarray) -> np.ndarray:
        """Cause code (outputs.EARLY_END_CAUSES) for each running contract ending early this week.

        Budget shortfall and change of direction hit any contract; poor work (an unhappy client:
        ``is_unhappy``) is ended with performance_end_rate; dishonest clients end for no reason
        tied to the work; freelancers quit dishonest clients' contracts at the same rate.
        """
        c = model.p.clients
        cs, ct = model.client_state, model.contract_state
        u = model.rng.random(contracts.size)
        # One uniform against the cumulative hazards in cause order (budget, direction, poor
        # work, dishonest client, freelancer quits), summed left to right. A contract whose
        # uniform reaches the largest possible total (poor work for a dishonest client) goes on,
        # so only the few below it are looked at.
        budget, dishonest_rate = c.budget_shortfall_rate, c.dishonest_early_end_rate
        cum2 = budget + c.change_of_direction_rate
        cause = np.zeros(contracts.size, np.int8)
        maybe = np.flatnonzero(u < cum2 + c.performance_end_rate + dishonest_rate + dishonest_rate)
        if maybe.size == 0:
            return cause
        ids = contracts[maybe]
        dishonest = cs.rater_type[ct.client[ids]] == DISHONEST
        cum3 = cum2 + np.where(is_unhappy(model, ct.satisfaction[ids]),
                               c.performance_end_rate, 0.0)
        cum4 = cum3 + np.where(dishonest, dishonest_rate, 0.0)
        cum5 = cum4 + np.where(dishonest, dishonest_rate, 0.0)
        um = u[maybe]
        passed = ((um >= budget).astype(np.int8) + (um >= cum2) + (um >= cum3) + (um >= cum4)
                  + (um >= cum5))  # thresholds below u; 5 = no early end
        cause[maybe] = np.where(passed < 5, passed + 1, 0)
        return cause

    @staticmethod
    def observed_satisfaction(model: MarketplaceModel, contracts: np.ndarray) -> np.ndarray:
        """What the freelancer sees of the client's satisfaction at the end of each contract
        (revision requests, messages, a disputed milestone): the true satisfaction plus noise
        (``chase_signal_noise_sd``). Not the client's rater type."""
        sd = model.p.freelancers.chase_signal_noise_sd
        sat = model.contract_state.satisfaction[contracts]
        return sat + model.rng.normal(0.0, sd, contracts.size) if sd > 0 else sat.copy()

    @staticmethod
    def appears_unhappy(model: MarketplaceModel, contracts: np.ndarray, observed: np.ndarray
                        ) -> np.ndarray:
        """Whether the client seems unhappy to the freelancer: the observed satisfaction would
        give a negative honest private score, or a dishonest client threatens bad feedback
        (``dishonest_threat_prob``, extortion)."""
        rater = model.client_state.rater_type[model.contract_state.client[contracts]]
        threat = (rater == DISHONEST) & (model.rng.random(contracts.size)
                                         < model.p.clients.dishonest_threat_prob)
        return is_unhappy(model, observed) | threat

    @staticmethod
    def accepts_offer(model: MarketplaceModel, action: np.ndarray) -> np.ndarray:
        """Whether the client accepts the chaser's offer (``chase_accept_prob``)."""
        return (action > 0) & (model.rng.random(action.size)
                               < model.p.freelancers.chase_accept_prob)

    @staticmethod
    def feedback_draws(model: MarketplaceModel, m: int) -> dict[str, np.ndarray]:
        """The random numbers of ``m`` clients' feedback, drawn once so that the feedback with
        and without a chase (or any other counterfactual) share them."""
        rng = model.rng
        return {"noise": rng.normal(0.0, model.p.clients.public_noise_sd, m),
                "u": rng.random(m), "harsh_public": rng.random(m), "dis_private": rng.random(m),
                "dis_five": rng.random(m), "dis_public": rng.random(m), "give": rng.random(m),
                "response": rng.random(m)}

    @staticmethod
    def feedback(model: MarketplaceModel, rater: np.ndarray, satisfaction: np.ndarray,
                 as_honest: np.ndarray, budget_end: np.ndarray, draws: dict[str, np.ndarray]
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Public stars (1-5) and private score (0-10) of ending contracts; NaN = no feedback.

        Raters flagged ``as_honest`` (honest clients, and harsh or dishonest clients an accepted
        offer moved) rate the satisfaction: private = round(10 s + private_bias), public =
        round(5 - public_slope x max(0, public_full_marks - s) + drift + noise) (inflated: full
        marks below full satisfaction; drift = standards drift). Lenient: 5 stars and 9-10;
        harsh: 1-3 stars and 0-5; dishonest: unrelated to the work (5 stars 60% of the time,
        else 1-5; private uniform 0-10). After a budget-shortfall or change-of-direction end the
        satisfaction rated is shifted by budget_end_private_shift / 10 and feedback is left with
        budget_end_feedback_prob; otherwise with a probability that falls with satisfaction
        (``silence``).
        """
        c = model.p.clients
        rated = np.where(budget_end, satisfaction + c.budget_end_private_shift / 10.0,
                         satisfaction)
        honest_private = honest_private_score(rated, c.private_bias)
        honest_public = np.clip(np.rint(honest_public_expected(model, rated) + draws["noise"]),
                                1, 5)
        u = draws["u"]
        lenient_private = np.where(u < 0.5, 9.0, 10.0)
        harsh_private = np.floor(u * 6.0)
        harsh_public = 1.0 + np.floor(draws["harsh_public"] * 3.0)
        dishonest_private = np.floor(draws["dis_private"] * 11.0)
        dishonest_public = np.where(draws["dis_five"] < 0.6, 5.0,
                                    1.0 + np.floor(draws["dis_public"] * 5))
        kind = np.where(as_honest, HONEST, rater)
        private = np.choose(kind, [honest_private, lenient_private, harsh_private,
                                   dishonest_private])
        public = np.choose(kind, [honest_public, np.full(rater.size, 5.0), harsh_public,
                                  dishonest_public])
        if c.silence == "continuous":
            p_give = np.maximum(0.0, c.feedback_prob_happy - c.feedback_prob_slope
                                * np.maximum(0.0, c.public_full_marks - satisfaction))
        else:
            p_give = np.where(is_unhappy(model, satisfaction), c.feedback_prob_unhappy,
                              c.feedback_prob_happy)
        p_give = np.where(budget_end, c.budget_end_feedback_prob, p_give)
        give = draws["give"] < p_give
        private = np.where(give, private, np.nan)
        public = np.where(give, public, np.nan)
        return public.astype(np.float64), private.astype(np.float64)


def _poisson(rng: np.random.Generator, mean: float, size: int) -> np.ndarray:
    """Poisson(mean) draws by inverting the CDF with one uniform each (faster than
    ``Generator.poisson`` for small means; the tail beyond 1 - 1e-12 is cut).

    The draw is ``searchsorted(cdf, u, side="right")`` (the number of CDF values <= u), found by
    a table: the uniform's bucket of width 1 / _POISSON_BUCKETS gives the count at the bucket's
    lower edge, and a step up for each CDF value between that edge and u (rarely any) finishes
    it, about 4 times faster than the binary search and the same integers.
    """
    if mean <= 0:
        return np.zeros(size, np.int64)
    start, cdf_ext = _poisson_table(mean)
    u = rng.random(size)
    k = start[(u * _POISSON_BUCKETS).astype(np.intp)]
    while True:
        up = cdf_ext[k] <= u
        if not up.any():
            return k.astype(np.int64, copy=False)
        k += up


_POISSON_BUCKETS = 4096  # a power of 2: u x buckets is exact, so each u falls in its own bucket


@functools.lru_cache(maxsize=32)
def _poisson_cdf(mean: float) -> np.ndarray:
    from scipy.special import gammaln

    kmax = int(mean + 12 * np.sqrt(mean) + 12)
    ks = np.arange(kmax + 1)
    return np.cumsum(np.exp(ks * np.log(mean) - mean - gammaln(ks + 1)))


@functools.lru_cache(maxsize=32)
def _poisson_table(mean: float) -> tuple[np.ndarray, np.ndarray]:
    """(count of CDF values <= each bucket's lower edge, the CDF with +inf appended)."""
    cdf = _poisson_cdf(mean)
    edges = np.arange(_POISSON_BUCKETS) / _POISSON_BUCKETS
    return (np.searchsorted(cdf, edges, side="right").astype(np.intp),
            np.append(cdf, np.inf))


def _distinct_jobs(rng: np.random.Generator, k: np.ndarray, size: int, n_jobs: int
                   ) -> np.ndarray:
    """Job index of each proposal slot; the ``k[i]`` slots of one freelancer get distinct jobs.

    The first job of a freelancer is uniform; the next ones follow at random positive gaps
    (mod ``n_jobs``) whose sum stays below ``n_jobs``, so each slot's job is uniform on its own
    and a freelancer never proposes twice to one job.
    """
    if size == 0:
        return np.empty(0, np.int64)
    k_max = int(k.max())
    gap_max = max(1, n_jobs // max(k_max, 1))
    gaps = (rng.integers(1, gap_max + 1, size, dtype=np.int32) if gap_max > 1
            else np.ones(size, np.int32))
    if size * gap_max < 2**31:  # the running sum fits: accumulate in int32, then widen once
        csum = np.add.accumulate(gaps, dtype=np.int32).astype(np.int64)
    else:
        csum = np.cumsum(gaps, dtype=np.int64)
    start = np.cumsum(k) - k  # first slot of each freelancer
    nonempty = k > 0
    base = np.zeros(k.size, np.int64)
    base[nonempty] = rng.integers(0, n_jobs, int(nonempty.sum())) - csum[start[nonempty]]
    j = np.repeat(base, k) + csum  # first job + gaps since the first slot
    j -= n_jobs * (j >= n_jobs)  # wrap around (arithmetic: a bool-mask update is slower)
    return j
