"""The market model: what happens each week, in order.

``MarketplaceModel`` is a ``mesa.Model``; one ``step()`` is one week:

1. newcomers enter (no history); Connects are refilled every 4 weeks;
2. running contracts: early ends (budget shortfall, change of direction, poor work, dishonest
   client, freelancer quits), then weekly payments (fees charged); contracts reaching their planned
   length complete;
3. ending contracts: the chaser's offer and the client's answer, dispute, public and private
   feedback, the freelancer's feedback on the client, rehire memory;
4. clients post jobs; happy clients offer some directly to a freelancer they liked (rehire);
5. freelancers with free capacity send proposals (Connects); clients read the first tab (and the
   second with a small probability) and hire the best visible proposal or no one;
6. platform: every ``jss_update_weeks`` the scoring engine recomputes every JSS, badges, the
   removal perk and client flags; reputation prices follow; idle freelancers may leave;
7. the week's figures are collected (``mesa.DataCollector``; snapshots every K weeks).

All state lives in numpy struct-of-arrays tables (``freelancer_state``, ``client_state``,
``contract_state``); the Mesa agents are views. Every step is vectorized over all agents.
"""

from __future__ import annotations

import collections
import math
from typing import Any

import mesa
import numpy as np
import pandas as pd

from marketplace import scoring

from .agents import (
    BUDGET_ENDED,
    DISHONEST,
    EXTRA_WORK,
    FULL_REFUND,
    HARSH,
    HONEST,
    PARTIAL_REFUND,
    Client,
    Freelancer,
    is_unhappy,
)
from .outputs import (
    CHASE_ACTIONS,
    CLIENT_COLUMNS,
    CONTRACT_COLUMNS,
    EARLY_END_CAUSES,
    FREELANCER_COLUMNS,
    RATER_TYPES,
    STRATEGIES,
    TIMESERIES_COLUMNS,
    RunOutputs,
)
from .params import ModelParams
from .state import Table

__all__ = ["MarketplaceModel", "simulate"]

COMPLETED, CLIENT_ENDED, FREELANCER_ENDED, DISPUTE = range(4)
_CAUSE_BUDGET, _CAUSE_DIRECTION, _CAUSE_PERFORMANCE, _CAUSE_DISHONEST, _CAUSE_QUIT = range(1, 6)
_RECENT_PAIRS_MAX = 4096  # recent (freelancer, client) pairs kept apart before a merge
_EARN_WINDOW = 52  # weeks of the rolling earnings used by Top Rated
_GOLDEN_FRACTION = (5 ** 0.5 - 1) / 2  # Weyl sequence step for freelancer categories

_FREELANCER_SCHEMA = {
    "quality": (np.float64, 0.0),
    "strategy": (np.int8, 0),
    "entry_week": (np.int32, 0),
    "exit_week": (np.int32, -1),
    "active": (np.bool_, False),
    "capacity": (np.int16, 1),
    "n_ongoing": (np.int16, 0),
    "connects": (np.float64, 0.0),
    "last_work_week": (np.int32, 0),
    "last_activity_week": (np.int32, -1),
    "base_log_price": (np.float64, 0.0),
    "price": (np.float64, 0.0),
    "jss": (np.float64, np.nan),
    "jss_24m": (np.float64, np.nan),
    "jss_12m": (np.float64, np.nan),
    "jss_6m": (np.float64, np.nan),
    "jss_3m": (np.float64, np.nan),
    "jss_trending": (np.float64, np.nan),
    "n_outcomes": (np.int32, 0),
    "n_success": (np.int32, 0),
    "n_neutral": (np.int32, 0),
    "n_negative": (np.int32, 0),
    "n_clients": (np.int32, 0),
    "top_rated": (np.bool_, False),
    "top_rated_plus": (np.bool_, False),
    "rising_talent": (np.bool_, False),
    "n_contracts": (np.int32, 0),
    "n_ended": (np.int32, 0),
    "n_reviews": (np.int32, 0),
    "stars_sum": (np.float64, 0.0),
    "first_hire_week": (np.int32, -1),
    "earnings_total": (np.float64, 0.0),
    "earnings_52w": (np.float64, 0.0),
    "refunds_total": (np.float64, 0.0),
    "unpaid_hours_total": (np.float64, 0.0),
    "proposals_sent": (np.int32, 0),
    "score": (np.float64, np.nan),  # the market's displayed score (platform.score), 0-100
}

_CLIENT_SCHEMA = {
    "rater_type": (np.int8, 0),
    "min_jss": (np.float64, 0.0),
    "accepts_no_jss": (np.bool_, True),
    "post_rate": (np.float64, 0.0),
    "flagged": (np.bool_, False),
    "flagged_week": (np.int32, -1),
    "jobs_posted": (np.int32, 0),
    "hires": (np.int32, 0),
    "rehires": (np.int32, 0),
    "proposals_received": (np.int64, 0),
    "proposals_read": (np.int64, 0),
    "second_tab_opened": (np.int32, 0),
    "rating_sum": (np.float64, 0.0),
    "rating_n": (np.int32, 0),
    "favorite": (np.int64, -1),
}

_CONTRACT_SCHEMA = {
    "freelancer": (np.int64, 0),
    "client": (np.int64, 0),
    "start_week": (np.int32, 0),
    "end_week": (np.int32, -1),
    "planned_weeks": (np.int32, 1),
    "posted_weeks": (np.int32, 1),
    "fixed_price": (np.bool_, False),
    "rehire": (np.bool_, False),
    "job_value": (np.float64, 0.0),
    "value_percentile": (np.float64, 0.0),
    "value": (np.float64, 0.0),
    "hours": (np.float64, 0.0),
    "weekly_pay": (np.float64, 0.0),
    "paid": (np.float64, 0.0),
    "refunded": (np.float64, 0.0),
    "fee": (np.float64, 0.0),
    "paid_weeks": (np.int32, 0),
    "last_payment_week": (np.float64, np.nan),
    "unpaid_hours": (np.float64, 0.0),
    "end_reason": (np.int8, -1),
    "early_end_cause": (np.int8, 0),
    "delivered_quality": (np.float64, 0.0),
    "satisfaction": (np.float64, 0.0),
    "satisfaction_before_chase": (np.float64, np.nan),
    "observed_satisfaction": (np.float64, np.nan),
    "negative_without_chase": (np.bool_, False),
    "scope_hours": (np.float64, 0.0),
    "chase_extra_hours": (np.float64, 0.0),
    "jss_at_end": (np.float64, np.nan),
    "jss_after_end": (np.float64, np.nan),
    "jss_recovered_week": (np.int32, -1),
    "chase_action": (np.int8, 0),
    "chase_accepted": (np.bool_, False),
    "public_stars": (np.float64, np.nan),
    "private_score": (np.float64, np.nan),
    "client_flagged": (np.bool_, False),
    "removed": (np.bool_, False),
    "outcome": (np.int8, -1),
    "weight": (np.float64, np.nan),
    "reason": (np.int8, -1),
    "client_rating": (np.float64, np.nan),
    "pair": (np.int64, 0),  # id of the (freelancer, client) relationship
    "jss_at_hire": (np.float64, np.nan),
    "top_rated_at_hire": (np.bool_, False),
    "stale": (np.bool_, True),  # must be classified again at the next JSS update
}


def _fee_usd(amount: np.ndarray, billed_before: np.ndarray, rules: Any) -> np.ndarray:
    """Freelancer fee on a payment (scoring layer). The relationship's prior billings are
    approximated by this contract's (a rehire starts a new count)."""
    return np.asarray(scoring.freelancer_fee_usd(amount, billed_before, rules), dtype=np.float64)


def _count_at(counter: np.ndarray, idx: np.ndarray, step: int = 1) -> None:
    """``counter[i] += step`` for every occurrence of ``i`` in ``idx`` (repeats add up).

    ``np.add.at`` with a scalar of the counter's own dtype takes numpy's fast path (a Python int
    makes it cast per element, ~15x slower on these small updates)."""
    np.add.at(counter, idx, counter.dtype.type(step))


class MarketplaceModel(mesa.Model):
    """An Upwork-like freelance market whose JSS is computed by ``marketplace.scoring``.

    Args:
        params: the run's parameters (defaults if None).
        rng: seed (int), ``SeedSequence`` or ``Generator`` for every random draw.
        snapshot_every_weeks: freelancer snapshots every K weeks (0 = only the final one).
        jss_engine: 'incremental' (default: window sums and client-flag counts updated by
            events, ``scoring.WindowSums`` and ``scoring.FlagCounts``) or 'full' (every window
            and every client's counts recomputed from all contracts at each update: the
            reference). Both give bit-identical outputs; a rule set the incremental engine does
            not support (weights not multiples of 1/4) scores the JSS the 'full' way.
        **overrides: dotted-path parameter overrides applied with ``ModelParams.with_overrides``
            (e.g. ``n_freelancers=500`` or ``**{"clients.second_tab_prob": 0.2}``).
    """

    def __init__(self, params: ModelParams | None = None, rng: Any = None,
                 snapshot_every_weeks: int = 26, jss_engine: str = "incremental",
                 **overrides: Any) -> None:
        if jss_engine not in ("incremental", "full"):
            raise ValueError(f"jss_engine must be 'incremental' or 'full', got {jss_engine!r}")
        if isinstance(rng, str):  # SolaraViz InputText gives a str seed in mesa 3.5.1
            rng = int(rng)
        super().__init__(rng=rng)
        params = params or ModelParams()
        if overrides:
            params = params.with_overrides(overrides)
        self.p = params
        self.rules = scoring.get_rules(params.rules, **params.platform.rule_overrides())
        self._window_sums = (scoring.WindowSums(self.rules) if jss_engine == "incremental"
                             and scoring.WindowSums.supports(self.rules) else None)
        self.snapshot_every_weeks = int(snapshot_every_weeks)
        self.week = 0
        self.quality_mean = self._quality_mean()

        n_f, n_c = params.n_freelancers, params.n_clients_effective
        expected_entrants = params.freelancers.entry_rate_per_week * n_f * params.weeks
        self.freelancer_state = Table(_FREELANCER_SCHEMA,
                                      initial_rows=int(n_f + 1.05 * expected_entrants) + 64)
        self.client_state = Table(_CLIENT_SCHEMA, initial_rows=n_c)
        expected_contracts = int(n_c * params.clients.jobs_per_week * params.weeks * 0.5) + 64
        self.contract_state = Table(_CONTRACT_SCHEMA, initial_rows=expected_contracts)
        # payments of the last 52 weeks, one (freelancer, amount) pair of arrays per week
        self._pay_log: collections.deque = collections.deque()
        self._week_pay: list[tuple[np.ndarray, np.ndarray]] = []
        self.ongoing = np.empty(0, np.int64)
        self._ended_log: list[np.ndarray] = []  # contract ids in order of end week
        self._ended_weeks: list[int] = []
        self._ended_since_update: list[np.ndarray] = []  # contracts ended since the last JSS update
        self._pending_recovery = np.empty(0, np.int64)  # contracts whose JSS drop is not yet undone
        self._freelancer_agents: list[Freelancer] = []  # views of rows 0 .. len - 1
        self.active_idx = np.empty(0, np.int64)
        self._pair_keys = np.empty(0, np.int64)  # sorted (freelancer x n_clients + client)
        self._pair_values = np.empty(0, np.int64)
        self._recent_pair_keys = np.empty(0, np.int64)  # sorted, merged in at _RECENT_PAIRS_MAX
        self._recent_pair_values = np.empty(0, np.int64)
        self._n_pairs = 0  # pair ids handed out so far
        self._tr_bits = np.zeros(self.freelancer_state.allocated, np.uint32)
        self._trp_bar_usd = np.zeros(0)  # each freelancer's Top Rated Plus bar (by_category)
        self._trp_bar_table: tuple[np.ndarray, np.ndarray] | None = None  # (bars, upper shares)

        cl = Client.draw_population(self, n_c)
        self.client_state.append(n_c, **cl)
        Client.create_agents(self, n_c, idx=np.arange(n_c))
        self._add_freelancers(n_f)

        self._client_flagged_week = np.full(n_c, np.nan)
        self._flag_counts = (scoring.FlagCounts(self.rules, n_c) if jss_engine == "incremental"
                             and self.rules.client_flagging else None)
        self._perk_state = None
        self._badge_week: float | None = None
        self._large_contract: np.ndarray | None = None
        self._week_stats: dict[str, float] = {}
        self._spearman = math.nan
        self._snapshots: list[dict[str, np.ndarray]] = []
        self._last_snapshot_week = -1
        self._final_snapshot_taken = False
        self.datacollector = mesa.DataCollector(
            model_reporters={name: _reporter(name) for name in TIMESERIES_COLUMNS})
        self.running = True

    # ------------------------------------------------------------------ setup helpers
    def _quality_mean(self) -> float:
        q = self.p.freelancers.quality
        if q.kind == "beta":
            return q.a / (q.a + q.b)
        if q.kind == "uniform":
            return (q.low + q.high) / 2
        return q.mean

    def _add_freelancers(self, k: int) -> None:
        if k <= 0:
            return
        s = self.freelancer_state
        old_cap = s.allocated
        attrs = Freelancer.draw_entrants(self, k)
        idx = s.append(k, entry_week=self.week, active=True, last_work_week=self.week,
                       connects=self.p.freelancers.connects_per_month, **attrs)
        s.price[idx] = np.exp(attrs["base_log_price"])
        if s.allocated != old_cap:
            bits = np.zeros(s.allocated, np.uint32)
            bits[:old_cap] = self._tr_bits
            self._tr_bits = bits
        self.active_idx = np.concatenate([self.active_idx, idx])
        if self.p.platform.top_rated_plus_bar != "single":
            self._trp_bar_usd = np.concatenate([self._trp_bar_usd,
                                                self._large_contract_bar_usd(idx)])
        # Freelancer agents (views) are registered with Mesa on demand: see ``agents``.

    # ------------------------------------------------------------------ Mesa agents, on demand
    def _register_freelancer_views(self) -> None:
        """Register a ``Freelancer`` view for every row that has none yet, in row order.

        Every decision runs on the arrays, so a run never needs the Mesa agents; registering
        ~40,000 newcomers one by one (with Mesa's agent-added signal) cost ~7% of a 10,000 x 260
        run. Views are therefore created when someone looks at the model's agents (``agents``,
        ``agents_by_type``, ``agent_types``): the same agents with the same unique ids as eager
        creation, since no other agent is created after the clients at set-up."""
        if "_freelancer_agents" not in self.__dict__:  # during mesa.Model.__init__
            return
        have, n = len(self._freelancer_agents), self.freelancer_state.n
        if have < n:
            self._freelancer_agents.extend(
                Freelancer.create_views(self, np.arange(have, n)))

    @property
    def agents(self):
        self._register_freelancer_views()
        return super().agents

    @property
    def agents_by_type(self):
        self._register_freelancer_views()
        return super().agents_by_type

    @property
    def agent_types(self):
        self._register_freelancer_views()
        return super().agent_types

    def remove_all_agents(self) -> None:
        self._register_freelancer_views()
        super().remove_all_agents()

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week of the market (see the module docstring for the order)."""
        w = self.week
        p = self.p
        self._final_snapshot_taken = False
        self._week_stats = {"fees": 0.0, "refunds": 0.0, "connects_spent": 0.0}
        self._enter(w)
        if w % 4 == 0:
            self._refill_connects()
        s = self.freelancer_state
        if len(self._pay_log) == _EARN_WINDOW:  # payments made 52 weeks ago drop out
            old_f, old_amount = self._pay_log.popleft()
            np.subtract.at(s.earnings_52w, old_f, old_amount)
        self._week_pay = []
        self._progress_contracts(w)
        jobs = Client.post_jobs(self)
        if self._week_pay:
            self._pay_log.append((np.concatenate([x[0] for x in self._week_pay]),
                                  np.concatenate([x[1] for x in self._week_pay])))
        else:
            self._pay_log.append((np.empty(0, np.int64), np.empty(0)))
        self._match(w, jobs)
        if w % p.jss_update_weeks == 0:
            self._platform_update(w)
        self._update_badges(w)
        self._exits(w)
        s.last_activity_week[self.contract_state.freelancer[self.ongoing]] = w
        self._collect(w, jobs)
        if self.snapshot_every_weeks > 0 and (w + 1) % self.snapshot_every_weeks == 0:
            self._snapshot(w)
        self.week += 1
        if self.week >= p.weeks:
            self.running = False

    def _enter(self, w: int) -> None:
        if w == 0:
            return
        rate = self.p.freelancers.entry_rate_per_week * self.p.n_freelancers
        self._add_freelancers(int(self.rng.poisson(rate)))

    def _refill_connects(self) -> None:
        s = self.freelancer_state
        per_month = self.p.freelancers.connects_per_month
        act = self.active_idx
        s.connects[act] = np.minimum(s.connects[act] + per_month, 3 * per_month)

    # ------------------------------------------------------------------ contracts
    def _progress_contracts(self, w: int) -> None:
        ct = self.contract_state
        og = self.ongoing
        if og.size == 0:
            return
        cause = Client.early_end(self, og)
        early = cause > 0
        pay_ids = og[~early]
        pay = ct.weekly_pay[pay_ids]
        fee = _fee_usd(pay, ct.paid[pay_ids], self.rules)
        ct.paid[pay_ids] += pay
        ct.fee[pay_ids] += fee
        ct.paid_weeks[pay_ids] += 1
        ct.last_payment_week[pay_ids] = w
        f = ct.freelancer[pay_ids]
        s = self.freelancer_state
        np.add.at(s.earnings_total, f, pay)
        np.add.at(s.earnings_52w, f, pay)
        self._week_pay.append((f, pay))
        self._week_stats["fees"] += float(fee.sum())
        done_mask = ct.paid_weeks[pay_ids] >= ct.planned_weeks[pay_ids]
        done = pay_ids[done_mask]
        early_ids = og[early]
        ending = np.concatenate([early_ids, done])
        if ending.size == 0:
            return
        reason = np.concatenate([
            np.where(cause[early] == _CAUSE_QUIT, FREELANCER_ENDED, CLIENT_ENDED),
            np.full(done.size, COMPLETED),
        ]).astype(np.int8)
        ct.early_end_cause[early_ids] = cause[early]
        self._end_contracts(w, ending, reason)
        still = ~early
        still[still] = ~done_mask
        self.ongoing = og[still]

    def _end_contracts(self, w: int, ids: np.ndarray, reason: np.ndarray) -> None:
        """Close contracts: chase, dispute, feedback both ways, rehire memory, bookkeeping."""
        rng = self.rng
        ct, s, cs = self.contract_state, self.freelancer_state, self.client_state
        fp = self.p.freelancers
        f = ct.freelancer[ids]
        c = ct.client[ids]
        rater = cs.rater_type[c]
        # a dishonest client's unstated scope on a fixed-price job is unpaid work
        scope = ct.fixed_price[ids] & (rater == DISHONEST)
        scope_hours = np.where(
            scope, self.p.clients.dishonest_scope_extra * ct.hours[ids]
            * np.minimum(1.0, ct.paid_weeks[ids] / np.maximum(ct.posted_weeks[ids], 1)), 0.0)
        ct.scope_hours[ids] = scope_hours
        ct.unpaid_hours[ids] += scope_hours
        # the chaser's offer to a client who seems unhappy (from what the freelancer observes)
        sat_before = ct.satisfaction[ids].copy()
        ct.satisfaction_before_chase[ids] = sat_before
        observed = Client.observed_satisfaction(self, ids)
        ct.observed_satisfaction[ids] = observed
        appears = Client.appears_unhappy(self, ids, observed)
        action = Freelancer.chase_offer(self, f, appears)
        accepted = Client.accepts_offer(self, action)
        ct.chase_action[ids] = action
        ct.chase_accepted[ids] = accepted
        paid = ct.paid[ids]
        refund = np.where(accepted & (action == FULL_REFUND), paid,
                          np.where(accepted & (action == PARTIAL_REFUND),
                                   fp.partial_refund_share * paid, 0.0))
        extra = np.where(accepted & (action == EXTRA_WORK),
                         fp.extra_work_share * ct.hours[ids]
                         * np.minimum(1.0, ct.paid_weeks[ids] / np.maximum(ct.planned_weeks[ids],
                                                                            1)), 0.0)
        if refund.any():
            # the fee on a refunded amount is returned to the freelancer
            fee_back = np.where(paid > 0, ct.fee[ids] * refund / np.where(paid > 0, paid, 1), 0)
            ct.fee[ids] -= fee_back
            self._week_stats["fees"] -= float(fee_back.sum())
            np.add.at(s.earnings_total, f, -refund)
            np.add.at(s.earnings_52w, f, -refund)
            self._week_pay.append((f, -refund))
            np.add.at(s.refunds_total, f, refund)
            self._week_stats["refunds"] += float(refund.sum())
        ct.refunded[ids] = refund
        ct.unpaid_hours[ids] += extra
        ct.chase_extra_hours[ids] = extra
        np.add.at(s.unpaid_hours_total, f, ct.unpaid_hours[ids])
        # each rater type's response to an accepted offer (ODD 7.7): an honest client's
        # satisfaction moves; a dishonest client may take the refund and still rate low; a harsh
        # client is moved with its own probability; a lenient client's feedback is 5 stars anyway
        draws = Client.feedback_draws(self, ids.size)
        moved_other = accepted & (
            ((rater == DISHONEST) & (draws["response"] >= fp.chase_dishonest_still_low_prob))
            | ((rater == HARSH) & (draws["response"] < fp.chase_harsh_moved_prob)))
        boost = accepted & ((rater == HONEST) | moved_other)
        sat_after = np.where(boost, np.minimum(1.0, sat_before + fp.chase_satisfaction_boost),
                             sat_before)
        ct.satisfaction[ids] = sat_after
        as_honest = (rater == HONEST) | moved_other
        budget_end = BUDGET_ENDED[ct.early_end_cause[ids]]
        # disputes: an unhappy client (after any chase) may dispute instead of closing
        u_dispute = rng.random(ids.size)
        dispute = is_unhappy(self, sat_after) & (u_dispute < self.p.clients.dispute_prob)
        reason = np.where(dispute, DISPUTE, reason).astype(np.int8)
        public, private = Client.feedback(self, rater, sat_after, as_honest, budget_end, draws)
        public = np.where(accepted & (action == FULL_REFUND), np.nan, public)  # hidden, $0 earned
        # ground truth: would the feedback have been negative without the offer (same draws)?
        chased = action > 0
        if chased.any():
            pub0, priv0 = Client.feedback(self, rater[chased], sat_before[chased],
                                          rater[chased] == HONEST, budget_end[chased],
                                          {k: v[chased] for k, v in draws.items()})
            neg0 = scoring.feedback_class(priv0, pub0, self.rules) == 2
            if self.rules.dispute_is_negative:
                neg0 |= is_unhappy(self, sat_before[chased]) & (
                    u_dispute[chased] < self.p.clients.dispute_prob)
            ct.negative_without_chase[ids[chased]] = neg0
        ct.public_stars[ids] = public
        ct.private_score[ids] = private
        ct.end_reason[ids] = reason
        ct.end_week[ids] = w
        ct.stale[ids] = True  # classified again at the next JSS update
        ct.jss_at_end[ids] = s.jss[f]
        self._ended_since_update.append(ids.copy())
        ct.client_rating[ids] = Freelancer.rate_clients(self, ids, public, dispute)
        np.add.at(cs.rating_sum, c, ct.client_rating[ids])
        _count_at(cs.rating_n, c)
        # freelancer bookkeeping
        has_pub = ~np.isnan(public)
        _count_at(s.n_reviews, f[has_pub])
        np.add.at(s.stars_sum, f[has_pub], public[has_pub])
        _count_at(s.n_ongoing, f, -1)
        _count_at(s.n_ended, f)
        s.last_work_week[f] = w
        # rehire memory: the client remembers the last freelancer it was happy with
        happy = ct.satisfaction[ids] >= 0.7
        cs.favorite[c[happy]] = f[happy]
        stars = public[has_pub]
        self._week_stats["stars_n"] = self._week_stats.get("stars_n", 0) + stars.size
        self._week_stats["stars_sum"] = self._week_stats.get("stars_sum", 0.0) + float(stars.sum())
        self._week_stats["stars_5"] = self._week_stats.get("stars_5", 0) + int((stars == 5).sum())
        self._ended_log.append(ids.copy())
        self._ended_weeks.append(w)

    # ------------------------------------------------------------------ matching
    def _match(self, w: int, jobs: dict[str, np.ndarray]) -> None:
        cs, s = self.client_state, self.freelancer_state
        n_jobs = jobs["client"].size
        self._week_stats.update(jobs_posted=n_jobs, hires=0, proposals=0, open_posts=0)
        if n_jobs == 0:
            return
        _count_at(cs.jobs_posted, jobs["client"])
        act = self.active_idx
        free = np.zeros(s.n, np.int64)
        free[act] = s.capacity[act] - s.n_ongoing[act]
        # direct rehires of a freelancer the client was happy with
        fav = cs.favorite[jobs["client"]]
        want = (fav >= 0) & (self.rng.random(n_jobs) < self.p.clients.rehire_prob)
        want_idx = np.flatnonzero(want)
        want_idx = want_idx[free[fav[want_idx]] > 0]
        got = want_idx[_first_k_per_group(fav[want_idx], free)]
        rehired = np.zeros(n_jobs, bool)
        rehired[got] = True
        if got.size:
            self._hire(w, jobs, got, fav[got], rehire=True)
            _count_at(free, fav[got], -1)
        open_idx = np.flatnonzero(~rehired)
        open_jobs = {k: v[open_idx] for k, v in jobs.items()}
        f, j, passes = Freelancer.send_proposals(self, open_jobs)
        self._week_stats["connects_spent"] = f.size * self.p.freelancers.connects_per_proposal
        choice = Client.choose(self, open_jobs, f, j, passes)
        oc = open_jobs["client"]
        np.add.at(cs.proposals_received, oc, choice["n_proposals"])
        np.add.at(cs.proposals_read, oc, choice["n_read"])
        _count_at(cs.second_tab_opened, oc[choice["opened"]])
        winner = choice["winner"]
        won = np.flatnonzero(winner >= 0)
        won = won[_first_k_per_group(winner[won], free)]
        if won.size:
            self._hire(w, jobs, open_idx[won], winner[won], rehire=False)
        self._week_stats.update(proposals=f.size, open_posts=open_idx.size)
        self._last_choice = (open_jobs, f, j, choice)

    def _pair_ids(self, freelancer: np.ndarray, client: np.ndarray) -> np.ndarray:
        """One integer id per (freelancer, client) relationship (new pairs get new ids, in the
        order of their keys). Known pairs sit in two sorted tables, a large one and a small one
        of recent pairs that is merged into the large one when it fills: inserting a week's
        new pairs into the large table each time cost more than the lookups."""
        keys = freelancer.astype(np.int64) * np.int64(self.client_state.n) + client
        ids = np.full(keys.size, -1, np.int64)
        for table, values in ((self._pair_keys, self._pair_values),
                              (self._recent_pair_keys, self._recent_pair_values)):
            if table.size:
                pos = np.minimum(np.searchsorted(table, keys), table.size - 1)
                hit = table[pos] == keys
                ids[hit] = values[pos[hit]]
        miss = np.flatnonzero(ids < 0)
        if miss.size:
            new, inverse = np.unique(keys[miss], return_inverse=True)
            new_ids = np.arange(self._n_pairs, self._n_pairs + new.size)
            self._n_pairs += new.size
            ids[miss] = new_ids[inverse]
            at = np.searchsorted(self._recent_pair_keys, new)
            self._recent_pair_keys = np.insert(self._recent_pair_keys, at, new)
            self._recent_pair_values = np.insert(self._recent_pair_values, at, new_ids)
            if self._recent_pair_keys.size >= _RECENT_PAIRS_MAX:
                at = np.searchsorted(self._pair_keys, self._recent_pair_keys)
                self._pair_keys = np.insert(self._pair_keys, at, self._recent_pair_keys)
                self._pair_values = np.insert(self._pair_values, at, self._recent_pair_values)
                self._recent_pair_keys = np.empty(0, np.int64)
                self._recent_pair_values = np.empty(0, np.int64)
        return ids

    def _hire(self, w: int, jobs: dict[str, np.ndarray], job_idx: np.ndarray,
              freelancer: np.ndarray, rehire: bool) -> None:
        rng = self.rng
        s, cs, ct = self.freelancer_state, self.client_state, self.contract_state
        k = job_idx.size
        client = jobs["client"][job_idx]
        posted = jobs["weeks"][job_idx]
        fixed = jobs["fixed"][job_idx]
        hours = jobs["value"][job_idx] / self.p.freelancers.price_median_usd
        value = hours * s.price[freelancer]
        dishonest = cs.rater_type[client] == DISHONEST
        longer = dishonest & ~fixed  # an hourly job misstated in length runs longer
        planned = np.where(longer, np.ceil(posted * (1 + self.p.clients.dishonest_scope_extra)),
                           posted).astype(np.int32)
        delivered = np.clip(s.quality[freelancer] + rng.normal(
            0.0, self.p.freelancers.delivery_noise_sd, k), 0.0, 1.0)
        satisfaction = np.clip(delivered + rng.normal(
            0.0, self.p.clients.satisfaction_noise_sd, k), 0.0, 1.0)
        ids = ct.append(
            k, freelancer=freelancer, client=client, pair=self._pair_ids(freelancer, client),
            start_week=w, planned_weeks=planned,
            posted_weeks=posted, fixed_price=fixed, rehire=rehire,
            job_value=jobs["value"][job_idx], value_percentile=jobs["percentile"][job_idx],
            value=value, hours=hours, weekly_pay=value / posted, delivered_quality=delivered,
            satisfaction=satisfaction, jss_at_hire=s.jss[freelancer],
            top_rated_at_hire=s.top_rated[freelancer])
        _count_at(s.n_ongoing, freelancer)
        _count_at(s.n_contracts, freelancer)
        first = s.first_hire_week[freelancer] < 0
        s.first_hire_week[freelancer[first]] = w
        _count_at(cs.hires, client)
        if rehire:
            _count_at(cs.rehires, client)
        self.ongoing = np.concatenate([self.ongoing, ids])
        self._week_stats["hires"] = self._week_stats.get("hires", 0) + k

    # ------------------------------------------------------------------ platform
    def _window_contracts(self, w: int) -> np.ndarray:
        """Ended contracts young enough to count at week ``w``, plus the running ones."""
        horizon = max(self.rules.visibility_window_weeks, max(self.rules.window_weeks),
                      self.rules.flag_lookback_weeks)
        while self._ended_weeks and w - self._ended_weeks[0] >= horizon:
            self._ended_weeks.pop(0)
            self._ended_log.pop(0)
        parts = [*self._ended_log, self.ongoing]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def _score(self, w: int, ids: np.ndarray, end_week: np.ndarray | None = None):
        """Outcome, weight and reason of contracts ``ids`` as the scoring engine sees them now."""
        ct, cs = self.contract_state, self.client_state
        ongoing = ct.end_reason[ids] < 0
        if end_week is None:
            end_week = np.where(ongoing, np.nan, ct.end_week[ids])
        ct.client_flagged[ids] = scoring.contract_client_flagged(
            ct.client[ids], end_week, cs.flagged[: cs.n], self._client_flagged_week, self.rules)
        earnings = ct.paid[ids] - ct.refunded[ids]
        outcome, reason = scoring.classify_outcomes(
            ct.private_score[ids], ct.public_stars[ids], np.maximum(ct.end_reason[ids], 0),
            earnings, ct.client_flagged[ids], ct.removed[ids], self.rules,
            ongoing=ongoing, paid_weeks=ct.paid_weeks[ids],
            last_payment_week=ct.last_payment_week[ids], week=w)
        weight = scoring.contract_weights(earnings, ct.paid_weeks[ids], self.rules)
        ct.outcome[ids] = outcome
        ct.reason[ids] = reason
        ct.weight[ids] = weight
        ct.stale[ids] = False
        return outcome, weight, reason

    def _platform_update(self, w: int) -> None:
        """Recompute every JSS (scoring engine), the removal perk, client flags, prices.

        A contract is classified again only when something it depends on changed (it is running,
        it just ended, its client was just flagged, its feedback was just removed); the JSS is
        computed for the freelancers still on the platform (a compact index).
        """
        s, ct, cs = self.freelancer_state, self.contract_state, self.client_state
        ids = self._window_contracts(w)
        ended = ct.end_reason[ids] >= 0
        end_week = np.where(ended, ct.end_week[ids], np.nan)
        fr, cl, pair = ct.freelancer[ids], ct.client[ids], ct.pair[ids]  # gathered once
        if self.rules.client_flagging:
            before = cs.flagged[: cs.n].copy()
            if self._flag_counts is not None:  # incremental: the contracts ended since the last
                if self._ended_since_update:   # update enter, those past the lookback leave
                    new = np.concatenate(self._ended_since_update)
                    self._flag_counts.add(ct.client[new], ct.end_week[new], ct.private_score[new],
                                          ct.public_stars[new], ct.client_rating[new])
                flagged, flagged_week = self._flag_counts.flag(w, before,
                                                               self._client_flagged_week)
            else:
                flagged, flagged_week = scoring.flag_clients(
                    cl, end_week, ct.private_score[ids], ct.public_stars[ids], week=w,
                    n_clients=cs.n, rules=self.rules, flagged=before,
                    flagged_week=self._client_flagged_week,
                    rating_by_freelancer=ct.client_rating[ids])
            cs.flagged[: cs.n] = flagged
            self._client_flagged_week = flagged_week
            cs.flagged_week[: cs.n] = np.where(np.isnan(flagged_week), -1, flagged_week)
            newly = flagged & ~before
            if newly.any():
                ct.stale[ids[newly[cl]]] = True
        redo = ct.stale[ids] | ~ended
        self._score(w, ids[redo], end_week[redo])
        outcome, weight, reason = ct.outcome[ids], ct.weight[ids], ct.reason[ids]
        if self._window_sums is not None:
            # incremental: only contracts classified again (and those ageing) move the sums
            self._update_window_sums(w, ids[redo])
        if self.rules.perk_active(w):
            remove, self._perk_state = scoring.select_removals(
                fr, cl, end_week, outcome, weight,
                top_rated=s.top_rated[: s.n] | s.top_rated_plus[: s.n], state=self._perk_state,
                week=w, n_freelancers=s.n, rules=self.rules, reason=reason,
                pair_idx=pair, window_sums=self._window_sums, contract_ids=ids)
            if remove.any():
                removed_ids = ids[remove]
                ct.removed[removed_ids] = True
                self._score(w, removed_ids, end_week[remove])
                if self._window_sums is not None:
                    self._update_window_sums(w, removed_ids)
                outcome, weight, reason = ct.outcome[ids], ct.weight[ids], ct.reason[ids]
        n = s.n
        active = np.flatnonzero(s.active[:n])
        f_local = None  # compact index of each contract's freelancer (-1 = left), when needed
        if self._window_sums is None or self.p.platform.score != "jss":
            local = np.full(n, -1, np.int64)
            local[active] = np.arange(active.size)
            f_local = local[fr]
        if self._window_sums is not None:
            res = self._window_sums.result(active)
        else:
            keep = f_local >= 0
            if self.rules.missing_feedback == "exclude":  # excluded contracts cannot move a JSS
                keep &= outcome < scoring.Outcome.EXCLUDED
            rows = np.flatnonzero(keep)  # one index for seven gathers (take beats a bool mask)
            res = scoring.job_success_scores(
                f_local.take(rows), cl.take(rows), end_week.take(rows), outcome.take(rows),
                weight.take(rows), week=w, n_freelancers=active.size, rules=self.rules,
                reason=reason.take(rows), pair_idx=pair.take(rows))
        s.jss[active] = res.jss
        s.jss_24m[active] = res.window_24m
        s.jss_12m[active] = res.window_12m
        s.jss_6m[active] = res.window_6m
        s.jss_3m[active] = res.window_3m
        s.jss_trending[active] = res.trending
        s.n_outcomes[active] = res.n_outcomes
        s.n_clients[active] = res.n_clients
        s.n_success[active] = res.n_success
        s.n_neutral[active] = res.n_neutral
        s.n_negative[active] = res.n_negative
        self._update_market_score(w, ids, f_local, active, res)
        self._track_jss_after_end(w)
        if self.rules.top_rated_plus:
            self._large_contract = scoring.large_contract_flags(
                fr, ct.paid[ids] - ct.refunded[ids], outcome, end_week,
                week=w, n_freelancers=n, rules=self.rules,
                threshold_usd=None if self.p.platform.top_rated_plus_bar == "single"
                else self._trp_bar_usd[fr])
        if self.p.freelancers.pricing == "reputation":
            s.price[active] = Freelancer.asking_price(self, active)
        has = active[~np.isnan(s.jss[active])]
        self._spearman = _spearman(s.jss[has], s.quality[has])

    def _update_window_sums(self, w: int, upd: np.ndarray) -> None:
        """Contracts ``upd`` (just classified again) take their new place in the JSS window
        sums; contracts crossing a window length since the last update leave it."""
        ct = self.contract_state
        upd_ended = ct.end_reason[upd] >= 0
        self._window_sums.update(
            w, upd, freelancer=ct.freelancer, pair=ct.pair,
            end_week=np.where(upd_ended, ct.end_week[upd], np.nan), outcome=ct.outcome[upd],
            reason=ct.reason[upd], weight=ct.weight[upd], n_freelancers=self.freelancer_state.n,
            n_pairs=self._n_pairs)

    def _update_market_score(self, w: int, ids: np.ndarray, f_local: np.ndarray | None,
                             active: np.ndarray, res: Any) -> None:
        """The score the market shows (``platform.score``), on the 0-100 scale clients filter on.

        Under 'jss' it is the JSS. Otherwise the alternative score of the scoring engine over the
        window contracts of the freelancers on the platform (silent ones included, for EPP),
        mapped onto the JSS distribution (``platform.score_mapping``, ODD 7.1.12).
        """
        s, ct = self.freelancer_state, self.contract_state
        name = self.p.platform.score
        if name == "jss":
            s.score[active] = res.jss
            return
        keep = f_local >= 0
        sel = ids[keep]
        ended = ct.end_reason[sel] >= 0
        alt = scoring.alternative_scores(
            f_local[keep], ct.client[sel], np.where(ended, ct.end_week[sel], np.nan),
            ct.outcome[sel], ct.weight[sel], week=w, n_freelancers=active.size,
            rules=self.rules, reason=ct.reason[sel], private_score=ct.private_score[sel],
            n_clients=self.client_state.n, jss=res)
        value = alt.score(name)
        if self.p.platform.score_mapping == "quantile":
            value = scoring.to_jss_scale(value, res.jss)
        s.score[active] = value

    def client_reputation_scores(self) -> np.ndarray:
        """Every client's visible score in [0, 1] from freelancers' ratings (scoring engine)."""
        cs = self.client_state
        return scoring.client_reputation_scores(cs.rating_sum[: cs.n], cs.rating_n[: cs.n],
                                                self.rules.alternatives)

    def _large_contract_bar_usd(self, freelancer: np.ndarray) -> np.ndarray | None:
        """Top Rated Plus large-contract bar (USD) of each given freelancer's job category.

        None under ``platform.top_rated_plus_bar = 'single'`` (the rule set's one bar). The
        category comes from the freelancer's index by a golden-ratio (Weyl) sequence: uniform,
        fixed for life, independent of every other attribute, and it draws nothing from the
        model's generator, so switching the bar changes no other random draw.
        """
        if self.p.platform.top_rated_plus_bar == "single":
            return None
        if self._trp_bar_table is None:  # the mix is fixed for the run: read it once
            bars, shares = self.p.platform.large_contract_bar_mix.bars_usd()
            self._trp_bar_table = (np.asarray(bars, dtype=np.float64), np.cumsum(shares)[:-1])
        bars_usd, upper = self._trp_bar_table
        u = np.modf((freelancer.astype(np.float64) + 1.0) * _GOLDEN_FRACTION)[0]
        return bars_usd[np.searchsorted(upper, u, side="right")]

    def _track_jss_after_end(self, w: int) -> None:
        """Ground truth of each ended contract's effect on its freelancer's JSS: the JSS at the
        first update after the end (``jss_after_end``) and, where it fell, the first update week
        at which the JSS is back at its level at the end (``jss_recovered_week``; followed for
        156 weeks while the freelancer stays)."""
        s, ct = self.freelancer_state, self.contract_state
        pending = self._pending_recovery
        if self._ended_since_update:
            recent = np.concatenate(self._ended_since_update)
            self._ended_since_update = []
            after = s.jss[ct.freelancer[recent]]
            ct.jss_after_end[recent] = after
            with np.errstate(invalid="ignore"):
                dropped = recent[after < ct.jss_at_end[recent]]
            pending = np.concatenate([pending, dropped])
        if pending.size:
            fr = ct.freelancer[pending]
            with np.errstate(invalid="ignore"):
                back = s.jss[fr] >= ct.jss_at_end[pending]
            ct.jss_recovered_week[pending[back]] = w
            keep = ~back & s.active[fr] & (w - ct.end_week[pending] < 156)
            pending = pending[keep]
        self._pending_recovery = pending

    def _update_badges(self, w: int) -> None:
        """Top Rated (Plus) and Rising Talent, weekly, by the scoring engine's rules (for the
        freelancers on the platform; the 16-week eligibility history is kept per freelancer)."""
        s = self.freelancer_state
        act = self.active_idx
        first = s.first_hire_week[act].astype(np.float64)
        first[first < 0] = np.nan
        last = s.last_activity_week[act].astype(np.float64)
        last[last < 0] = np.nan
        large = None
        if self._large_contract is not None:
            large = np.zeros(s.n, bool)
            large[: self._large_contract.size] = self._large_contract
            large = large[act]
        prev = None
        if self._badge_week is not None:
            prev = scoring.BadgeState(self._tr_bits[act], s.top_rated[act], s.top_rated_plus[act],
                                      s.rising_talent[act], self._badge_week)
        state = scoring.update_badges(
            prev, jss=s.score[act], earnings_52w_usd=s.earnings_52w[act],
            first_contract_week=first, last_activity_week=last, week=w, rules=self.rules,
            entry_week=s.entry_week[act], n_negative=s.n_negative[act], has_large_contract=large)
        self._badge_week = float(w)
        self._tr_bits[act] = state.eligible_bits
        s.top_rated[act] = state.top_rated
        s.top_rated_plus[act] = state.top_rated_plus
        s.rising_talent[act] = state.rising_talent

    def _exits(self, w: int) -> None:
        leaving = Freelancer.leaving(self, w)
        if leaving.size == 0:
            return
        s = self.freelancer_state
        s.active[leaving] = False
        s.exit_week[leaving] = w
        self.active_idx = self.active_idx[s.active[self.active_idx]]
        s.top_rated[leaving] = False
        s.top_rated_plus[leaving] = False
        s.rising_talent[leaving] = False
        # The Mesa agents of those who left stay registered as passive views (``active`` False):
        # deregistering ~1 agent per 60 freelancer-weeks cost 10% of the run time.

    # ------------------------------------------------------------------ observation
    def _collect(self, w: int, jobs: dict[str, np.ndarray]) -> None:
        s = self.freelancer_state
        act = self.active_idx
        n_act = int(act.size)
        jss = s.jss[act]
        has = ~np.isnan(jss)
        n_has = int(has.sum())
        st = self._week_stats
        stars_n = st.get("stars_n", 0)
        jobs_posted = st.get("jobs_posted", 0)
        self._current = {
            "week": w,
            "n_active_freelancers": n_act,
            "n_ongoing_contracts": int(self.ongoing.size),
            "mean_public_stars": st["stars_sum"] / stars_n if stars_n else math.nan,
            "share_five_star": st["stars_5"] / stars_n if stars_n else math.nan,
            "share_with_jss": n_has / n_act if n_act else math.nan,
            "share_jss_ge_90": float((jss[has] >= 90).sum()) / n_has if n_has else math.nan,
            "share_jss_100": float((jss[has] >= 100).sum()) / n_has if n_has else math.nan,
            "share_top_rated": float((s.top_rated[act] | s.top_rated_plus[act]).sum())
            / n_act if n_act else math.nan,
            "jobs_posted": jobs_posted,
            "proposals_per_job": st["proposals"] / st["open_posts"] if st.get("open_posts")
            else math.nan,
            "share_posts_hired": st["hires"] / jobs_posted if jobs_posted else math.nan,
            "hires": st.get("hires", 0),
            "platform_fees_usd": st["fees"],
            "connects_revenue_usd": st["connects_spent"] * self.p.freelancers.connects_usd,
            "refunds_usd": st["refunds"],
            "spearman_jss_quality": self._spearman,
        }
        self.datacollector.collect(self)

    def _snapshot(self, w: int, everyone: bool = False) -> None:
        """Freelancer rows at week ``w``: those on the platform and those who left since the
        previous snapshot (each departure is recorded once); ``everyone`` = all who ever entered
        (the final snapshot)."""
        s = self.freelancer_state
        n = s.n
        if everyone:
            rows = np.arange(n)
        else:
            rows = np.flatnonzero(s.active[:n] | (s.exit_week[:n] > self._last_snapshot_week))
        self._last_snapshot_week = w
        cols = ("quality", "strategy", "entry_week", "active", "exit_week", "capacity", "price",
                "jss", "jss_24m", "jss_12m", "jss_6m", "jss_3m", "jss_trending", "top_rated",
                "top_rated_plus", "rising_talent", "n_outcomes", "n_success", "n_neutral",
                "n_negative", "n_clients", "n_contracts", "n_ongoing", "n_reviews", "stars_sum",
                "first_hire_week", "earnings_total", "earnings_52w", "refunds_total",
                "unpaid_hours_total", "proposals_sent", "score")
        snap = {c: getattr(s, c)[rows] for c in cols}
        snap["week"] = np.full(rows.size, w, np.int32)
        snap["freelancer_id"] = rows
        self._snapshots.append(snap)

    # ------------------------------------------------------------------ outputs
    def outputs(self, keep_contracts: bool = True) -> RunOutputs:
        """The run's four tables (a final snapshot is added if the last week has none)."""
        last = self.week - 1
        if not self._final_snapshot_taken:
            if self._snapshots and int(self._snapshots[-1]["week"][0]) == last:
                self._snapshots.pop()  # replaced by the complete final snapshot
            self._snapshot(last, everyone=True)
            self._final_snapshot_taken = True
        # score every contract once more at the end so outcome/weight reflect the final state
        ct = self.contract_state
        if ct.n:
            self._score(last, np.arange(ct.n))
        contracts = self._contracts_frame() if keep_contracts else _empty(CONTRACT_COLUMNS)
        return RunOutputs(
            contracts=contracts,
            freelancers=self._freelancers_frame(),
            clients=self._clients_frame(),
            timeseries=self._timeseries_frame(),
            params=self.p,
            meta={"weeks_run": self.week, "n_contracts": int(ct.n)},
        )

    def _contracts_frame(self) -> pd.DataFrame:
        ct = self.contract_state
        n = ct.n
        v = ct.view
        running = v("end_reason") < 0
        end_reason = pd.Categorical.from_codes(v("end_reason"), categories=list(
            scoring.END_REASONS))
        outcome = pd.Categorical.from_codes(np.where(running, -1, v("outcome")),
                                            categories=list(scoring.OUTCOME_NAMES))
        reasons = list(scoring.EXCLUSION_REASONS)
        first_excluded = 4  # REASONS[4:] are the exclusion reasons
        excl_codes = np.where(v("outcome") == scoring.Outcome.EXCLUDED,
                              v("reason") - (first_excluded - 1), 0).astype(np.int8)
        earnings = v("paid") - v("refunded")
        df = pd.DataFrame({
            "contract_id": np.arange(n),
            "freelancer_id": v("freelancer"),
            "client_id": v("client"),
            "start_week": v("start_week"),
            "end_week": _nullable(np.where(running, -1, v("end_week"))),
            "planned_weeks": v("planned_weeks"),
            "posted_weeks": v("posted_weeks"),
            "fixed_price": v("fixed_price"),
            "rehire": v("rehire"),
            "job_value_usd": v("job_value"),
            "value_percentile": v("value_percentile"),
            "value_usd": v("value"),
            "jss_at_hire": v("jss_at_hire"),
            "top_rated_at_hire": v("top_rated_at_hire"),
            "hours": v("hours"),
            "paid_usd": v("paid"),
            "refunded_usd": v("refunded"),
            "earnings_usd": earnings,
            "fee_usd": v("fee"),
            "paid_weeks": v("paid_weeks"),
            "unpaid_extra_hours": v("unpaid_hours"),
            "end_reason": end_reason,
            "early_end_cause": pd.Categorical.from_codes(v("early_end_cause"),
                                                         categories=list(EARLY_END_CAUSES)),
            "delivered_quality": v("delivered_quality"),
            "satisfaction": v("satisfaction"),
            "satisfaction_before_chase": v("satisfaction_before_chase"),
            "observed_satisfaction": v("observed_satisfaction"),
            "chase_action": pd.Categorical.from_codes(v("chase_action"),
                                                      categories=list(CHASE_ACTIONS)),
            "chase_accepted": v("chase_accepted"),
            "public_stars": v("public_stars"),
            "private_score": v("private_score"),
            "client_flagged": v("client_flagged"),
            "removed": v("removed"),
            "outcome": outcome,
            "weight": v("weight"),
            "exclusion_reason": pd.Categorical.from_codes(
                excl_codes, categories=["", *reasons[first_excluded:]]),
            "client_rating_by_freelancer": v("client_rating"),
            "negative_without_chase": v("negative_without_chase"),
            "scope_unpaid_hours": v("scope_hours"),
            "chase_extra_hours": v("chase_extra_hours"),
            "jss_at_end": v("jss_at_end"),
            "jss_after_end": v("jss_after_end"),
            "jss_recovered_week": _nullable(v("jss_recovered_week")),
        })
        return _in_order(df, CONTRACT_COLUMNS)

    def _freelancers_frame(self) -> pd.DataFrame:
        if not self._snapshots:
            return _empty(FREELANCER_COLUMNS)
        # merge column by column, freeing each snapshot column as it goes (memory of large runs)
        snaps = self._snapshots
        cat = {k: np.concatenate([sn.pop(k) for sn in snaps]) for k in list(snaps[0])}
        self._snapshots = [cat]
        n_rows = cat["week"].size
        ids = cat["freelancer_id"]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_stars = np.where(cat["n_reviews"] > 0, cat["stars_sum"]
                                  / np.maximum(cat["n_reviews"], 1), np.nan)
        df = pd.DataFrame({
            "week": cat["week"],
            "freelancer_id": ids,
            "true_quality": cat["quality"],
            "strategy": pd.Categorical.from_codes(cat["strategy"], categories=list(STRATEGIES)),
            "entry_week": cat["entry_week"],
            "active": cat["active"],
            "exit_week": _nullable(cat["exit_week"]),
            "capacity": cat["capacity"],
            "price_usd": cat["price"],
            "jss": cat["jss"],
            "jss_24m": cat["jss_24m"],
            "jss_12m": cat["jss_12m"],
            "jss_6m": cat["jss_6m"],
            "jss_3m": cat["jss_3m"],
            "jss_trending": cat["jss_trending"],
            "top_rated": cat["top_rated"],
            "top_rated_plus": cat["top_rated_plus"],
            "rising_talent": cat["rising_talent"],
            "n_outcomes": cat["n_outcomes"],
            "n_success": cat["n_success"],
            "n_neutral": cat["n_neutral"],
            "n_negative": cat["n_negative"],
            "n_clients": cat["n_clients"],
            "n_contracts": cat["n_contracts"],
            "n_ongoing": cat["n_ongoing"],
            "n_reviews": cat["n_reviews"],
            "mean_public_stars": mean_stars,
            "first_hire_week": _nullable(cat["first_hire_week"]),
            "earnings_usd_total": cat["earnings_total"],
            "earnings_usd_52w": cat["earnings_52w"],
            "refunds_usd_total": cat["refunds_total"],
            "unpaid_hours_total": cat["unpaid_hours_total"],
            "proposals_sent": cat["proposals_sent"],
            "market_score": cat["score"],
        }, index=pd.RangeIndex(n_rows), copy=False)  # fresh arrays: no second copy
        return _in_order(df, FREELANCER_COLUMNS)

    def _clients_frame(self) -> pd.DataFrame:
        cs = self.client_state
        v = cs.view
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rating = np.where(v("rating_n") > 0, v("rating_sum")
                                   / np.maximum(v("rating_n"), 1), np.nan)
        df = pd.DataFrame({
            "client_id": np.arange(cs.n),
            "rater_type": pd.Categorical.from_codes(v("rater_type"), categories=list(RATER_TYPES)),
            "min_jss": v("min_jss"),
            "accepts_no_jss": v("accepts_no_jss"),
            "jobs_per_week": v("post_rate"),
            "flagged": v("flagged"),
            "flagged_week": _nullable(v("flagged_week")),
            "jobs_posted": v("jobs_posted"),
            "hires": v("hires"),
            "rehires": v("rehires"),
            "proposals_received": v("proposals_received"),
            "proposals_read": v("proposals_read"),
            "second_tab_opened": v("second_tab_opened"),
            "mean_rating_by_freelancers": mean_rating,
            "reputation_score": self.client_reputation_scores(),
        })
        return _in_order(df, CLIENT_COLUMNS)

    def _timeseries_frame(self) -> pd.DataFrame:
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        if df.empty:
            return _empty(TIMESERIES_COLUMNS)
        df["week"] = df["week"].astype(np.int32)
        return df[list(TIMESERIES_COLUMNS)]


def _reporter(name: str):
    def report(model: MarketplaceModel) -> Any:
        return model._current[name]
    report.__name__ = f"report_{name}"
    return report


def _nullable(a: np.ndarray) -> pd.arrays.IntegerArray:
    """int array with -1 meaning missing -> pandas nullable Int32."""
    return pd.arrays.IntegerArray(np.where(a < 0, 0, a).astype(np.int32), a < 0)


def _in_order(df: pd.DataFrame, columns: dict[str, Any]) -> pd.DataFrame:
    """The frame with the documented column order (no copy when already in order)."""
    return df if list(df.columns) == list(columns) else df[list(columns)]


def _empty(columns: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def _first_k_per_group(group: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """Mask keeping, in the given order, at most ``limit[g]`` items of each group ``g``."""
    if group.size == 0:
        return np.zeros(0, bool)
    order = np.argsort(group, kind="stable")
    gs = group[order]
    start = np.concatenate(([True], gs[1:] != gs[:-1]))
    first_pos = np.maximum.accumulate(np.where(start, np.arange(gs.size), 0))
    rank = np.arange(gs.size) - first_pos
    keep = np.empty(group.size, bool)
    keep[order] = rank < limit[gs]
    return keep


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman correlation (average ranks for ties); NaN with fewer than 3 points."""
    if a.size < 3:
        return math.nan
    ra, rb = scoring.average_ranks(a), scoring.average_ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def simulate(params: ModelParams | None = None, seed: int | None = 0,
             snapshot_every_weeks: int = 26, keep_contracts: bool = True,
             jss_engine: str = "incremental") -> RunOutputs:
    """Run a whole market and return its tables: one call for a full run.

    ``jss_engine``: 'incremental' (default) or 'full' (the reference JSS computation); both give
    bit-identical tables (see ``MarketplaceModel``).

    >>> out = simulate(ModelParams(n_freelancers=200, weeks=30, burn_in_weeks=10), seed=1)
    >>> sorted(out.to_dict())
    ['clients', 'contracts', 'freelancers', 'timeseries']
    """
    params = ModelParams() if params is None else params
    _check_simulate_args(params, seed, snapshot_every_weeks)
    model = MarketplaceModel(params=params, rng=seed, snapshot_every_weeks=snapshot_every_weeks,
                             jss_engine=jss_engine)
    for _ in range(params.weeks):
        model.step()
    out = model.outputs(keep_contracts=keep_contracts)
    out.seed = seed
    return out


def _check_simulate_args(params: Any, seed: Any, snapshot_every_weeks: Any) -> None:
    """Name the bad argument here rather than let it fail deep inside numpy or Mesa."""
    if not isinstance(params, ModelParams):
        hint = (" (build it with ModelParams.model_validate(your_dict) or "
                "ModelParams().with_overrides({...}))" if isinstance(params, dict) else "")
        raise TypeError(f"simulate: params must be a ModelParams, got "
                        f"{type(params).__name__}{hint}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)
                             or seed < 0):
        raise ValueError(f"simulate: seed must be a non-negative integer or None, got {seed!r}")
    if (isinstance(snapshot_every_weeks, bool)
            or not isinstance(snapshot_every_weeks, int | np.integer) or snapshot_every_weeks < 0):
        raise ValueError(f"simulate: snapshot_every_weeks must be an integer >= 0 (weeks; 0 = "
                         f"only the final snapshot), got "
                         f"{snapshot_every_weeks!r}")
