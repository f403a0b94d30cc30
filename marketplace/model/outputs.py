"""Outputs of one run: four pandas DataFrames and the dictionary of their columns.

The column lists below are the contract with the analysis, runner and dashboard layers
(docs/architecture.md section 2); ``docs/outputs.md`` gives the same dictionary in prose. Columns
may be added, never renamed or removed. Units: weeks (model steps), USD, JSS in percent points 0-100
(``NaN`` = no JSS), true quality in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "CHASE_ACTIONS",
    "CLIENT_COLUMNS",
    "CONTRACT_COLUMNS",
    "EARLY_END_CAUSES",
    "FREELANCER_COLUMNS",
    "RATER_TYPES",
    "STRATEGIES",
    "TIMESERIES_COLUMNS",
    "RunOutputs",
]

#: Freelancer strategies (column ``strategy``).
STRATEGIES: tuple[str, ...] = ("honest", "chaser")
#: Client rater types (column ``rater_type``).
RATER_TYPES: tuple[str, ...] = ("honest", "lenient", "harsh", "dishonest")
#: What a chaser offered an unhappy client (column ``chase_action``; "" = nothing offered).
CHASE_ACTIONS: tuple[str, ...] = ("", "full_refund", "partial_refund", "extra_work")
#: Why a contract ended before its planned end (column ``early_end_cause``; "" = it did not).
EARLY_END_CAUSES: tuple[str, ...] = (
    "",
    "budget_shortfall",
    "change_of_direction",
    "performance",
    "dishonest_client",
    "freelancer_quit",
)

# name -> (unit, meaning)
CONTRACT_COLUMNS: dict[str, tuple[str, str]] = {
    "contract_id": ("id", "Contract index, 0-based, in order of hire."),
    "freelancer_id": ("id", "Freelancer index (row of the freelancer state, 0-based)."),
    "client_id": ("id", "Client index, 0-based."),
    "start_week": ("week", "Week the contract was hired (work starts the following week)."),
    "end_week": ("week", "Week the contract ended; <NA> = still running at the end of the run."),
    "planned_weeks": ("weeks", "Duration the contract would run without an early end (for a "
                      "dishonest client's hourly job, the real, longer duration)."),
    "posted_weeks": ("weeks", "Duration stated in the job post."),
    "fixed_price": ("bool", "True = fixed-price, False = hourly."),
    "rehire": ("bool", "True = the client offered it directly to a freelancer it was happy with."),
    "job_value_usd": ("USD", "Value of the posted job at the reference hourly rate."),
    "value_percentile": ("share", "Percentile of the job's value among all job values (0-1)."),
    "value_usd": ("USD", "Agreed contract value: posted hours x the freelancer's asking rate."),
    "jss_at_hire": ("JSS 0-100", "The freelancer's displayed JSS when hired; NaN = none."),
    "top_rated_at_hire": ("bool", "The freelancer held Top Rated when hired."),
    "hours": ("hours", "Hours of work posted (job value / reference rate)."),
    "paid_usd": ("USD", "Total the client paid (before refunds)."),
    "refunded_usd": ("USD", "Total refunded to the client by the freelancer."),
    "earnings_usd": ("USD", "paid_usd - refunded_usd: what the JSS weighs."),
    "fee_usd": ("USD", "Platform fee charged to the freelancer on earnings_usd."),
    "paid_weeks": ("weeks", "Weeks with a payment."),
    "unpaid_extra_hours": ("hours", "Unpaid hours worked: a chaser's extra work plus a dishonest "
                           "client's unstated scope on fixed-price jobs."),
    "end_reason": ("category", "completed / client_ended / freelancer_ended / dispute; <NA> = "
                   "running."),
    "early_end_cause": ("category", "'' or budget_shortfall / change_of_direction / performance "
                        "/ dishonest_client / freelancer_quit."),
    "delivered_quality": ("quality 0-1", "Ground truth: quality of the work on this contract, "
                          "drawn around the freelancer's true quality."),
    "satisfaction": ("0-1", "Ground truth: the client's satisfaction after any accepted chase."),
    "satisfaction_before_chase": ("0-1", "Ground truth: the client's satisfaction at the end, "
                                  "before any chase; NaN = running."),
    "observed_satisfaction": ("0-1", "What the freelancer observed of the client's satisfaction "
                              "at the end (true satisfaction plus noise); a chaser offers when "
                              "it would give a negative honest private score. NaN = running."),
    "chase_action": ("category", "'' or full_refund / partial_refund / extra_work offered by a "
                     "chaser to an unhappy client."),
    "chase_accepted": ("bool", "The client accepted the chaser's offer."),
    "public_stars": ("stars 1-5", "Public rating; NaN = none given or hidden by a full refund."),
    "private_score": ("0-10", "Private 'would recommend' score; NaN = no feedback."),
    "client_flagged": ("bool", "The client was flagged when the contract was last scored."),
    "removed": ("bool", "Feedback removed from the JSS by the Top Rated perk."),
    "outcome": ("category", "Scoring-engine class at the last scoring: success / neutral / "
                "negative / excluded; <NA> = running."),
    "weight": ("weight", "Scoring-engine weight of the contract (earnings and length)."),
    "exclusion_reason": ("category", "Why an excluded contract does not count ('' = counted)."),
    "client_rating_by_freelancer": ("stars 1-5", "The freelancer's feedback on the client, from "
                                    "what the client did in the contract (ODD 7.6)."),
    "negative_without_chase": ("bool", "Ground truth for offered contracts: the feedback would "
                               "have been negative (private band or dispute) without the offer "
                               "(same random draws); False where nothing was offered."),
    "scope_unpaid_hours": ("hours", "Unpaid hours from a dishonest client's unstated scope on a "
                           "fixed-price job (part of unpaid_extra_hours)."),
    "chase_extra_hours": ("hours", "Unpaid extra hours of an accepted chase offer (part of "
                          "unpaid_extra_hours)."),
    "jss_at_end": ("JSS 0-100", "The freelancer's JSS when the contract ended; NaN = none."),
    "jss_after_end": ("JSS 0-100", "The freelancer's JSS at the first JSS update after the end "
                      "(includes other contracts changing at that update); NaN = none."),
    "jss_recovered_week": ("week", "Where jss_after_end < jss_at_end: first JSS update week at "
                           "which the JSS was back at jss_at_end or above; <NA> = not (yet) or "
                           "no drop."),
}

#: Snapshots every K weeks hold the freelancers on the platform plus those who left since the
#: previous snapshot (each departure appears once, with ``active`` False); the final snapshot holds
#: every freelancer who ever entered.
FREELANCER_COLUMNS: dict[str, tuple[str, str]] = {
    "week": ("week", "Snapshot week (end of that week)."),
    "freelancer_id": ("id", "Freelancer index, 0-based."),
    "true_quality": ("quality 0-1", "Hidden true quality (never visible to agents)."),
    "strategy": ("category", "honest / chaser."),
    "entry_week": ("week", "Week the freelancer entered (0 = initial population)."),
    "active": ("bool", "Still on the platform (False = left after a long idle spell)."),
    "exit_week": ("week", "Week the freelancer left; <NA> = still active."),
    "capacity": ("contracts", "Largest number of concurrent contracts."),
    "price_usd": ("USD/hour", "Current asking hourly rate."),
    "jss": ("JSS 0-100", "Displayed Job Success Score; NaN = none yet."),
    "jss_24m": ("JSS 0-100", "24-month window score; NaN = not enough outcomes."),
    "jss_12m": ("JSS 0-100", "12-month window score."),
    "jss_6m": ("JSS 0-100", "6-month window score."),
    "jss_3m": ("JSS 0-100", "3-month window score."),
    "jss_trending": ("JSS 0-100", "(6-month + 3-month) / 2."),
    "top_rated": ("bool", "Holds the Top Rated badge."),
    "top_rated_plus": ("bool", "Holds the Top Rated Plus badge."),
    "rising_talent": ("bool", "Holds the Rising Talent badge."),
    "n_outcomes": ("contracts", "Counted outcomes in the 24-month window."),
    "n_success": ("contracts", "Successful outcomes in the 24-month window."),
    "n_neutral": ("contracts", "Neutral outcomes in the 24-month window."),
    "n_negative": ("contracts", "Negative outcomes in the 24-month window."),
    "n_clients": ("clients", "Distinct clients with counted outcomes in the 24-month window."),
    "n_contracts": ("contracts", "Contracts ever hired."),
    "n_ongoing": ("contracts", "Contracts running at the snapshot."),
    "n_reviews": ("reviews", "Public reviews shown on the profile (stars given, not hidden)."),
    "mean_public_stars": ("stars", "Mean of the public reviews; NaN = none."),
    "first_hire_week": ("week", "Week of the first hire; <NA> = never hired."),
    "earnings_usd_total": ("USD", "Earnings (after refunds) of ended and running contracts."),
    "earnings_usd_52w": ("USD", "Payments received in the last 52 weeks, net of refunds."),
    "refunds_usd_total": ("USD", "Refunds given."),
    "unpaid_hours_total": ("hours", "Unpaid extra hours worked."),
    "proposals_sent": ("proposals", "Proposals sent since entry."),
    "market_score": ("points 0-100", "The score the market shows (platform.score, on the 0-100 "
                     "scale clients filter on); equals jss under platform.score = jss; "
                     "NaN = none."),
}

CLIENT_COLUMNS: dict[str, tuple[str, str]] = {
    "client_id": ("id", "Client index, 0-based."),
    "rater_type": ("category", "honest / lenient / harsh / dishonest."),
    "min_jss": ("JSS 0-100", "Preferred minimum JSS; 0 = any."),
    "accepts_no_jss": ("bool", "Freelancers without a JSS pass the preference."),
    "jobs_per_week": ("jobs/week", "The client's posting rate."),
    "flagged": ("bool", "Flagged by the platform at the end of the run."),
    "flagged_week": ("week", "Week first flagged; <NA> = never."),
    "jobs_posted": ("jobs", "Jobs posted."),
    "hires": ("contracts", "Hires (including direct rehires)."),
    "rehires": ("contracts", "Direct rehires of freelancers it was happy with."),
    "proposals_received": ("proposals", "Proposals received (both tabs)."),
    "proposals_read": ("proposals", "Proposals read: the first tab, plus the second tab when "
                       "opened (issue 8 client workload)."),
    "second_tab_opened": ("jobs", "Jobs for which the client opened the second tab."),
    "mean_rating_by_freelancers": ("stars", "Mean feedback from freelancers; NaN = none."),
    "reputation_score": ("0-1", "The client's visible score under two-sided reputation: mean "
                         "rating by freelancers shrunk to the market's mean, 1-5 stars mapped to "
                         "0-1 (computed whether or not platform.client_reputation is on)."),
}

TIMESERIES_COLUMNS: dict[str, tuple[str, str]] = {
    "week": ("week", "Week (0-based)."),
    "n_active_freelancers": ("freelancers", "Freelancers on the platform."),
    "n_ongoing_contracts": ("contracts", "Contracts running at the end of the week."),
    "mean_public_stars": ("stars", "Mean public rating given this week (NaN if none)."),
    "share_five_star": ("share", "Share of this week's public ratings that are 5 stars."),
    "share_with_jss": ("share", "Share of active freelancers with a JSS."),
    "share_jss_ge_90": ("share", "Share of active freelancers with a JSS whose JSS >= 90."),
    "share_jss_100": ("share", "Share of active freelancers with a JSS whose JSS = 100."),
    "share_top_rated": ("share", "Share of active freelancers holding Top Rated (or Plus)."),
    "jobs_posted": ("jobs", "Jobs posted this week."),
    "proposals_per_job": ("proposals", "Proposals per open post (posts not filled by a direct "
                          "rehire)."),
    "share_posts_hired": ("share", "Share of this week's posts that ended in a hire (direct "
                          "rehires included)."),
    "hires": ("contracts", "Contracts hired this week."),
    "platform_fees_usd": ("USD", "Freelancer fees charged this week (net of refunded fees)."),
    "connects_revenue_usd": ("USD", "Connects spent this week x their price."),
    "refunds_usd": ("USD", "Refunds given this week."),
    "spearman_jss_quality": ("rho", "Spearman correlation of JSS and true quality among active "
                             "freelancers with a JSS (recomputed at each JSS update)."),
}


@dataclass
class RunOutputs:
    """The four tables of one run plus the parameters and seed that made them."""

    contracts: pd.DataFrame
    freelancers: pd.DataFrame
    clients: pd.DataFrame
    timeseries: pd.DataFrame
    params: Any = None
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def final_freelancers(self) -> pd.DataFrame:
        """The freelancer snapshot at the final week."""
        last = self.freelancers["week"].max()
        return self.freelancers[self.freelancers["week"] == last]

    def to_dict(self) -> dict[str, pd.DataFrame]:
        """The four tables by name (for storing)."""
        return {"contracts": self.contracts, "freelancers": self.freelancers,
                "clients": self.clients, "timeseries": self.timeseries}
