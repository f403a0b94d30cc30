"""The one parameter schema of the market model.

Every field has a default, a unit and a documented meaning (``Field(description=...)``); the ODD
(`docs/ODD.md`) lists the source or reasoning for each default. Parameters are grouped:
``freelancers``, ``clients`` (with the nested ``utility``) and ``platform``; top-level fields size
the run and choose the JSS rule set.

Sweeps change a parameter through :meth:`ModelParams.with_overrides` with dotted paths
(``{"clients.rater_mix.dishonest": 0.2}``). It is the ONE place where setting one share of a mix
renormalises the other shares of that mix proportionally, so the mix still sums to 1: raising
``dishonest`` from 0.05 to 0.2 scales ``honest``, ``lenient`` and ``harsh`` by
(1 - 0.2) / (1 - 0.05). Constructing a ``ModelParams`` directly never renormalises: a mix that
does not sum to 1 is an error.
"""

from __future__ import annotations

import difflib
import math
import types
import typing
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from marketplace.scoring.rules import ERAS

try:  # the scoring layer owns the rule-set names; fall back while it is being written
    from marketplace.scoring import RULE_SET_NAMES as _RULE_SET_NAMES
except ImportError:  # pragma: no cover - only before the scoring engine lands
    _RULE_SET_NAMES = ("upwork-2023",)

__all__ = [
    "ClientParams",
    "ClientUtilityParams",
    "FreelancerParams",
    "MinJssMix",
    "ModelParams",
    "ParameterError",
    "PlatformParams",
    "QualityDistribution",
    "RaterMix",
    "field_metadata",
]

_SHARE_TOLERANCE = 1e-6


class ParameterError(ValueError):
    """A parameter path or value that the schema does not allow (message names the parameter)."""


class _Group(BaseModel):
    # allow_inf_nan=False: an infinite or NaN parameter (YAML `.inf`, `1e400`) is never meant
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True,
                              populate_by_name=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, value: Any, info: Any) -> Any:
        """pydantic's lax mode reads True as 1; a boolean given for a number is a mistake."""
        field = cls.model_fields.get(info.field_name)
        if isinstance(value, bool) and field is not None and _is_numeric(field.annotation):
            raise ValueError("must be a number, not a boolean")
        return value


def _is_numeric(annotation: Any) -> bool:
    """int, float or an Optional of one (the annotations a boolean must not fill)."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (
        typing.Union, types.UnionType) else (annotation,)
    return any(a in (int, float) for a in args)


def _probability(description: str, default: float) -> Any:
    return Field(default, ge=0.0, le=1.0, description=description)


class _Mix(_Group):
    """A set of shares that must sum to 1 (each in [0, 1])."""

    _mix_name: ClassVar[str] = "mix"

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> _Mix:
        values = self.shares()
        total = sum(values.values())
        if abs(total - 1.0) > _SHARE_TOLERANCE:
            listed = ", ".join(f"{k}={v:g}" for k, v in values.items())
            raise ValueError(
                f"{self._mix_name} shares must sum to 1 (got {total:g}: {listed}); each share "
                f"is in [0, 1]. To sweep one share, use ModelParams.with_overrides, which "
                f"renormalises "
                f"the others."
            )
        return self

    def __repr_args__(self) -> Any:
        """Printed with the public names (``90=0.3``), the spelling configs use."""
        return list(self.shares().items())

    def shares(self) -> dict[str, float]:
        """The shares keyed by their public names (aliases such as ``"90"`` where defined)."""
        return {
            (info.alias or name): float(getattr(self, name))
            for name, info in type(self).model_fields.items()
        }


class QualityDistribution(_Group):
    """Distribution of freelancers' hidden true quality, a float in [0, 1] (higher is better)."""

    kind: Literal["beta", "uniform", "truncnormal"] = Field(
        "beta", description="Family: 'beta' (a, b), 'uniform' (low, high) or 'truncnormal' "
        "(mean, sd, truncated to [0, 1]). Unit: none.")
    a: float = Field(4.0, gt=0, description="Beta shape a (> 0). Used when kind='beta'.")
    b: float = Field(2.0, gt=0, description="Beta shape b (> 0). Used when kind='beta'.")
    low: float = Field(0.0, ge=0, le=1, description="Uniform lower bound in [0, 1].")
    high: float = Field(1.0, ge=0, le=1, description="Uniform upper bound in [0, 1].")
    mean: float = Field(0.65, ge=0, le=1, description="Truncated normal mean in [0, 1].")
    sd: float = Field(0.15, gt=0, description="Truncated normal standard deviation (> 0).")

    @model_validator(mode="after")
    def _bounds(self) -> QualityDistribution:
        if self.kind == "uniform" and self.low >= self.high:
            raise ValueError("freelancers.quality: uniform needs low < high (both in [0, 1])")
        return self


class FreelancerParams(_Group):
    """Supply side: who freelancers are, what they ask, how they search and chase feedback."""

    quality: QualityDistribution = Field(
        default_factory=QualityDistribution,
        description="Distribution of hidden true quality in [0, 1]; never visible to any agent.")
    chaser_share: float = _probability(
        "Share of entering freelancers with strategy 'chaser' (offer refunds or unpaid extra "
        "work to turn an unhappy client's feedback); the rest are 'honest'. Unit: share.", 0.3)
    pricing: Literal["quality", "reputation"] = Field(
        "quality", description="How asking prices are set: 'quality' = follows true quality only "
        "(fixed at entry); 'reputation' = rises with the public JSS and badges (updated at each "
        "JSS update), with slope `reputation_price_slope`, as on open platforms.")
    price_median_usd: float = Field(
        25.0, gt=0, description="Median asking hourly rate of a freelancer of median quality. "
        "Unit: USD per hour. Also the reference rate that converts a job's value into hours.")
    price_quality_slope: float = Field(
        1.5, description="Under pricing='quality': change in log asking price per unit of true "
        "quality (0 = prices unrelated to quality). Unit: log(USD/h) per quality unit.")
    price_noise_sd: float = Field(
        0.3, ge=0, description="Standard deviation of the individual log-price deviation. "
        "Unit: log(USD/h).")
    reputation_price_slope: float = Field(
        0.8, description="Under pricing='reputation': change in log asking price per unit of the "
        "reputation index r = JSS/100 (0 without a JSS) + 0.25 x Top Rated + 0.25 x Top Rated "
        "Plus. Unit: log(USD/h) per index unit.")
    reputation_price_quality_slope: float | None = Field(
        None, description="Under pricing='reputation': change in the base log asking price per "
        "unit of true quality (None = price_quality_slope, so switching pricing to 'reputation' "
        "changes only how the price follows reputation). Unit: log(USD/h) per quality unit.")
    capacity_max: int = Field(
        5, ge=1, description="Largest number of concurrent contracts; each freelancer's capacity "
        "is drawn uniformly from 1..capacity_max at entry. Unit: contracts.")
    proposals_per_week: float = Field(
        2.37, ge=0, description="Mean proposals (Poisson) a freelancer with free capacity sends "
        "per week, before the Connects budget caps it. Unit: proposals/week.")
    connects_per_month: float = Field(
        60.0, ge=0, description="Connects added to each freelancer's balance every 4 weeks "
        "(free plus bought); the balance is capped at 3 months' worth. Unit: Connects.")
    connects_per_proposal: float = Field(
        4.0, ge=0, description="Connects one proposal costs (rate card 2-16). Unit: Connects.")
    connects_usd: float = Field(
        0.15, ge=0, description="Price of one Connect, counted as platform revenue. Unit: USD.")
    apply_below_preference_prob: float = _probability(
        "Probability that a freelancer who does not meet a job's preferred minimum JSS applies "
        "anyway (the proposal lands in the client's second tab). Unit: probability.", 0.5)
    avoid_poorly_rated_clients: float = _probability(
        "Probability that a freelancer skips a job whose client has a mean rating from "
        "freelancers below 3 stars (freelancers warn each other through client feedback; 0 "
        "switches this off). Unit: probability.", 0.8)
    entry_rate_per_week: float = Field(
        0.016, ge=0, description="Newcomers per week as a share of n_freelancers (Poisson). "
        "They enter with no history. Unit: share of n_freelancers per week.")
    exit_idle_weeks: int = Field(
        26, ge=1, description="Weeks without any contract (since entry or the last contract's "
        "end) after which a freelancer may leave. Unit: weeks.")
    exit_prob_per_week: float = _probability(
        "Weekly probability of leaving once idle for exit_idle_weeks (0 = nobody leaves). "
        "Unit: probability per week.", 0.05)
    career_end_prob_per_week: float = _probability(
        "Weekly probability that a freelancer with no running contract leaves the platform for "
        "good whatever its success (career end, a job elsewhere); bounds how long anyone stays, "
        "so the population's mix of history lengths reaches a steady state (0 = only idle "
        "freelancers leave). Unit: probability per week.", 0.0)
    delivery_noise_sd: float = Field(
        0.1, ge=0, description="Standard deviation of delivered quality around true quality on "
        "one contract (clipped to [0, 1]). Unit: quality units.")
    chase_action_mix: tuple[float, float, float] = Field(
        (0.3, 0.3, 0.4), description="Shares of the chaser's offers to an unhappy client: (full "
        "refund, partial refund, unpaid extra work). Must sum to 1. Unit: shares.")
    chase_accept_prob: float = _probability(
        "Probability that an unhappy client accepts the chaser's offer and revises the "
        "feedback. Unit: probability.", 0.6)
    chase_satisfaction_boost: float = Field(
        0.3, ge=0, le=1, description="Rise in an honest client's satisfaction (0-1 scale) when "
        "it accepts the chaser's offer (its feedback follows the new satisfaction). Unit: "
        "satisfaction units.")
    chase_signal_noise_sd: float = Field(
        0.1, ge=0, description="Standard deviation of what a freelancer observes of the "
        "client's satisfaction at the end of a contract (revision requests, messages, a "
        "disputed milestone) around the true satisfaction; a chaser offers when the observed "
        "satisfaction would give a negative honest private score. Unit: satisfaction units.")
    chase_dishonest_still_low_prob: float = _probability(
        "Probability that a dishonest client who accepts the offer (takes the refund) still "
        "gives its unrelated, often negative feedback (the thread's extortion story); otherwise "
        "it rates as an honest client would on the boosted satisfaction. Unit: probability.",
        0.5)
    chase_harsh_moved_prob: float = _probability(
        "Probability that a harsh client who accepts the offer rates as an honest client would "
        "on the boosted satisfaction instead of its consistently negative feedback (0 = harsh "
        "clients cannot be moved). Unit: probability.", 0.0)
    partial_refund_share: float = _probability(
        "Share of the amount paid that a partial refund returns. Unit: share.", 0.5)
    extra_work_share: float = Field(
        0.25, ge=0, description="Unpaid extra work offered, as a share of the contract's paid "
        "hours. Unit: share of hours.")

    @field_validator("chase_action_mix")
    @classmethod
    def _chase_mix(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        if any(x < 0 or x > 1 for x in v) or abs(sum(v) - 1.0) > _SHARE_TOLERANCE:
            raise ValueError(f"freelancers.chase_action_mix must be 3 shares in [0, 1] summing to "
                             f"1 (full refund, partial refund, extra work); got {v}")
        return v


class MinJssMix(_Mix):
    """Clients' preferred minimum JSS: shares of 'any', '80', '90' and '95'."""

    _mix_name: ClassVar[str] = "clients.min_jss_mix"
    any: float = Field(0.5, ge=0, le=1, description="Share of clients with no JSS preference.")
    jss80: float = Field(0.2, ge=0, le=1, alias="80",
                         description="Share preferring JSS >= 80 ('80% & up').")
    jss90: float = Field(0.3, ge=0, le=1, alias="90",
                         description="Share preferring JSS >= 90 ('90% & up').")
    jss95: float = Field(0.0, ge=0, le=1, alias="95",
                         description="Share preferring JSS >= 95 (not a UI option; for sweeps).")


class RaterMix(_Mix):
    """Clients' rater types (how they give feedback)."""

    _mix_name: ClassVar[str] = "clients.rater_mix"
    honest: float = Field(0.81, ge=0, le=1, description="Rate what they received (inflated "
                          "publicly, candid privately).")
    lenient: float = Field(0.1, ge=0, le=1, description="5 stars and a private 9-10 regardless.")
    harsh: float = Field(0.04, ge=0, le=1, description="Consistently negative (1-3 stars, "
                         "private 0-5) regardless of the work.")
    dishonest: float = Field(0.05, ge=0, le=1, description="Misstate scope or length, may end "
                             "early, and give feedback unrelated to the work (typically 5 public "
                             "stars with a negative private score).")


class ClientUtilityParams(_Group):
    """How a client scores a proposal (issue 8). See ODD 7.4 for the formula."""

    score_weight_slope: float = Field(
        4.0, description="Slope of the logistic that sets the weight on the public score "
        "against price by the job's value percentile p: w(p) = 1 / (1 + exp(-slope (p - 0.5))). "
        "0 = every job weighs score and price evenly (w = 0.5); steep = small jobs bought on "
        "price, large jobs on reputation. Unit: per percentile unit.")
    public_profile_weight: float = Field(
        1.0, ge=0, description="Scale of the whole public-profile part of the utility (score, "
        "badges, reviews); 0 = clients ignore the public profile. Unit: utility per unit.")
    score_scale: float = Field(
        10.0, ge=0, description="Utility of the public score per unit JSS/100, before the weight "
        "w(p). Unit: utility.")
    price_scale: float = Field(
        2.0, ge=0, description="Utility lost per unit log(bid / job value), before (1 - w(p)). "
        "Unit: utility per log-USD.")
    no_jss_score: float = Field(
        80.0, ge=0, le=100, description="The JSS a client assumes for a freelancer who has none "
        "yet (cold-start prior). Unit: JSS points.")
    badge_weight: float = Field(
        0.5, description="Utility of a Top Rated badge (Top Rated Plus counts 1.5x; Rising "
        "Talent 0.5x). Unit: utility.")
    reviews_weight: float = Field(
        0.3, description="Utility per unit log(1 + number of public reviews). Unit: utility.")
    quality_weight: float = Field(
        4.0, ge=0, description="Utility per unit of the client's private read of true quality "
        "(proposal and interview). Unit: utility per quality unit.")
    quality_signal_noise: float = Field(
        0.2, ge=0, description="Standard deviation of the private read of true quality; very "
        "large = clients see only the public profile (full information asymmetry). Unit: "
        "quality units.")
    choice_noise: float = Field(
        0.5, ge=0, description="Scale of the Gumbel taste shock per proposal (0 = deterministic "
        "choice). Unit: utility.")
    reservation_utility: float = Field(
        6.07, description="Utility of hiring no one, relative to the market: the best visible "
        "proposal must beat this plus the score utility of the average freelancer on the "
        "platform (public_profile_weight x w(p) x score_scale x mean S/100), so score_scale "
        "changes whom clients hire, not how often. Unit: utility.")


class ClientParams(_Group):
    """Demand side: who posts what, how clients filter, choose, rate and end contracts."""

    per_freelancer: float = Field(
        0.3, gt=0, description="Clients per freelancer, used when n_clients is not given "
        "(keeps the market's shape when n_freelancers is scaled). Unit: clients/freelancer.")
    jobs_per_week: float = Field(
        0.3, ge=0, description="Mean jobs a client posts per week (each client's rate is "
        "gamma-distributed around it). Unit: jobs/week.")
    jobs_rate_shape: float = Field(
        0.5, gt=0, description="Gamma shape of clients' posting rates (small = a few heavy "
        "posters). Unit: none.")
    job_value_median_usd: float = Field(
        600.0, gt=0, description="Median value (budget) of a posted job at the reference rate. "
        "Unit: USD.")
    job_value_log_sd: float = Field(
        1.8, ge=0, description="Standard deviation of log job value (lognormal). Unit: log-USD.")
    duration_median_weeks: float = Field(
        3.0, gt=0, description="Median expected duration of a job. Unit: weeks.")
    duration_log_sd: float = Field(
        0.9, ge=0, description="Standard deviation of log duration (lognormal, rounded up, at "
        "most 104). Unit: log-weeks.")
    value_duration_corr: float = Field(
        0.6, ge=-1, le=1, description="Correlation of log value and log duration. Unit: none.")
    fixed_price_share: float = _probability(
        "Share of jobs that are fixed-price (the rest hourly). Unit: share.", 0.5)
    min_jss_mix: MinJssMix = Field(
        default_factory=MinJssMix, description="Shares of clients' preferred minimum JSS "
        "('any', '80', '90', '95'); must sum to 1.")
    accepts_no_jss_share: float = _probability(
        "Share of clients with a JSS preference who let freelancers with no JSS yet pass it. "
        "Unit: share.", 0.5)
    second_tab_prob: float = _probability(
        "Probability that a client opens the second tab of proposals that miss the preference "
        "(per job). Unit: probability.", 0.1)
    rater_mix: RaterMix = Field(
        default_factory=RaterMix, description="Shares of rater types (honest, lenient, harsh, "
        "dishonest); must sum to 1.")
    abandon_prob: float = _probability(
        "Probability that a post is abandoned without a hire whatever the proposals (client "
        "not serious, hired off-platform, project cancelled). Unit: probability.", 0.55)
    rehire_prob: float = _probability(
        "Probability that a client with a freelancer it was happy with offers the new job to "
        "that freelancer directly (if available), skipping proposals. Unit: probability.", 0.118)
    budget_shortfall_rate: float = _probability(
        "Weekly probability that a running contract ends early because the client's budget ran "
        "out (unrelated to the freelancer). Unit: probability per contract-week.", 0.01)
    change_of_direction_rate: float = _probability(
        "Weekly probability that a running contract ends early because the client changed "
        "direction (unrelated to the freelancer). Unit: probability per contract-week.", 0.005)
    performance_end_rate: float = _probability(
        "Weekly probability that a client ends a running contract early when it is unhappy "
        "(its honest private score would be negative, i.e. in the rule set's negative band). "
        "Unit: probability/week.", 0.15)
    satisfaction_noise_sd: float = Field(
        0.1, ge=0, description="Standard deviation of a client's satisfaction around delivered "
        "quality. Unit: satisfaction units (0-1).")
    private_bias: float = Field(
        1.0, description="Points added to 10 x satisfaction in an honest private score (0-10, "
        "rounded). Unit: private points.")
    public_full_marks: float = Field(
        0.65, ge=0, le=1, description="Satisfaction at and above which an honest rater's expected "
        "public rating is 5 stars (reputation inflation: clients who are only fairly satisfied "
        "still give full marks). Unit: satisfaction (0-1).")
    public_slope: float = Field(
        14.0, ge=0, description="Stars an honest rater's public rating drops per unit of "
        "satisfaction below public_full_marks (calibrated so about a quarter of privately "
        "dissatisfied clients still give 4+ stars). Unit: stars per satisfaction unit.")
    public_noise_sd: float = Field(
        0.5, ge=0, description="Standard deviation of the honest public rating before rounding "
        "to whole stars in [1, 5]. Unit: stars.")
    public_inflation_stars_per_year: float = Field(
        0.04, ge=0, description="Standards drift: an honest rater's public rating rises by this "
        "many stars per year of market time (before rounding, at most 5), whatever the work "
        "(raters apply lower standards as the market average rises; 0 switches it off). Unit: "
        "stars per year.")
    silence: Literal["continuous", "binary"] = Field(
        "continuous", description="How the chance of leaving feedback depends on satisfaction s: "
        "'continuous' = feedback_prob_happy - feedback_prob_slope x max(0, public_full_marks - "
        "s) (at least 0); 'binary' = feedback_prob_unhappy for an unhappy client (negative "
        "honest private score), else feedback_prob_happy.")
    feedback_prob_happy: float = _probability(
        "Probability that a client leaves feedback: a satisfied client (satisfaction at or "
        "above public_full_marks; under silence='binary' every client who is not unhappy). "
        "Unit: probability.", 0.9)
    feedback_prob_slope: float = Field(
        1.0, ge=0, description="Under silence='continuous': fall in the probability of leaving "
        "feedback per unit of satisfaction below public_full_marks. Unit: probability per "
        "satisfaction unit.")
    feedback_prob_unhappy: float = _probability(
        "Under silence='binary': probability that an unhappy client leaves feedback (silence: "
        "Dellarocas & Wood). Unit: probability.", 0.7)
    budget_end_feedback_prob: float = _probability(
        "Probability that a client whose contract ended for a reason unrelated to the work "
        "(budget shortfall or change of direction) leaves feedback. Unit: probability.", 0.6)
    budget_end_private_shift: float = Field(
        -1.0, description="Shift of the honest private score (and of the satisfaction the "
        "public rating follows, by shift/10) after an end for a budget shortfall or a change of "
        "direction: the client is left with unfinished work. Unit: private points (0-10 scale).")
    dispute_prob: float = _probability(
        "Probability that an unhappy client's contract (after any accepted chase) ends in a "
        "dispute. Unit: probability.",
        0.1)
    dishonest_scope_extra: float = Field(
        0.5, ge=0, description="A dishonest client's misstatement: the real work is (1 + this) "
        "times the posted work; on fixed-price jobs the excess is unpaid hours, on hourly jobs "
        "the contract runs that much longer. Unit: share of posted work.")
    dishonest_threat_prob: float = _probability(
        "Probability that a dishonest client threatens bad feedback at the end of a contract "
        "whatever the work (extortion), so that it looks unhappy to the freelancer. Unit: "
        "probability.", 0.5)
    dishonest_early_end_rate: float = _probability(
        "Weekly probability that a dishonest client ends a contract early for no reason tied "
        "to the work. Unit: probability per contract-week.", 0.05)
    utility: ClientUtilityParams = Field(
        default_factory=ClientUtilityParams, description="How clients score proposals (issue 8).")


class LargeContractBarMix(_Mix):
    """Shares of freelancers by the Top Rated Plus 'large contract' bar of their job category.

    Upwork sets the bar by category [V]: "$5,000 ... others $20,000 or $30,000" (Upwork staff);
    Engineering & Architecture $5,000 and Sales & Marketing $10,000 (moderator); writers and
    designers report $5,000 [S]. The categories' shares are not published: the $5,000 share is
    calibrated to Top Rated Plus at 2-4% of active freelancers (results/calibration/
    default_calibration), the rest is split equally [A].
    """

    _mix_name: ClassVar[str] = "platform.large_contract_bar_mix"
    usd5000: float = Field(0.06, ge=0, le=1, alias="5000",
                           description="Share whose category's large contract is $5,000.")
    usd10000: float = Field(0.3134, ge=0, le=1, alias="10000",
                            description="Share whose category's large contract is $10,000.")
    usd20000: float = Field(0.3133, ge=0, le=1, alias="20000",
                            description="Share whose category's large contract is $20,000.")
    usd30000: float = Field(0.3133, ge=0, le=1, alias="30000",
                            description="Share whose category's large contract is $30,000.")

    def bars_usd(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(bars in USD, their shares), in increasing bar order."""
        shares = self.shares()
        return tuple(float(k) for k in shares), tuple(shares.values())


def _flag_threshold(name: str, meaning: str, scope: str, unit: str, source: str,
                    **bounds: float) -> Any:
    """An optional override of the rule set's client-flagging threshold ``name`` (ODD 7.1.6):
    None keeps the rule set's value, which the description quotes from the rule sets themselves
    (one place for each number)."""
    values = sorted({getattr(rules, name) for rules in ERAS.values()})
    documented = (f"{values[0]:g} in every era" if len(values) == 1
                  else "by era: " + ", ".join(f"{v:g}" for v in values))
    where = f"{scope}; " if scope else ""
    return Field(None, **bounds, description=(
        f"{meaning} ({where}override of the rule set's {name}, {documented}; None = the rule "
        f"set's value; no effect when flag_clients is False). Unit: {unit}. {source}"))


class PlatformParams(_Group):
    """What the platform does besides scoring: flagging, perk, fees (rules from the rule set)."""

    flag_clients: bool = Field(
        True, description="Flag clients with poor feedback from freelancers and exclude their "
        "feedback from JSS (False switches flagging off).")
    removal_perk: bool | None = Field(
        None, description="Top Rated feedback-removal perk; None = the rule set's default.")
    # --- flagging thresholds (ODD 7.1.6): optional overrides of the rule set's numbers, so a
    # sweep or sensitivity study can vary them; None keeps the rule set's value (bit-identical).
    # All [A]: Upwork documents that clients are flagged [V], not at which numbers. With
    # flag_clients False they have no effect (nobody is flagged).
    flag_min_contracts: int | None = _flag_threshold(
        "flag_min_contracts", "Rated contracts a client needs before it can be flagged as a "
        "harsh rater", "counted over the lookback", "contracts",
        "[A] Upwork publishes no number.", ge=1)
    flag_min_negative_share: float | None = _flag_threshold(
        "flag_min_negative_share", "Negative share of a client's feedback that flags it as a "
        "harsh rater", "over the lookback", "share of contracts with feedback",
        "[A] Upwork: 'a significant amount of bad feedback' [V], no number.", ge=0.0, le=1.0)
    flag_lookback_weeks: int | None = _flag_threshold(
        "flag_lookback_weeks", "Weeks of feedback that flagging looks back over",
        "given and received", "weeks", "[A] the JSS's own 24-month window.", ge=1)
    flag_min_ratings: int | None = _flag_threshold(
        "flag_min_ratings", "Freelancer ratings a client needs before it can be flagged as "
        "poorly rated", "counted over the lookback", "ratings",
        "[A] Upwork publishes no number.", ge=1)
    flag_max_mean_rating: float | None = _flag_threshold(
        "flag_max_mean_rating", "Mean rating by freelancers at or below which a client is "
        "flagged as poorly rated", "", "stars (1-5)",
        "[A] Upwork: 'a very low FL feedback rating' [V], no number.", ge=1.0, le=5.0)
    freelancer_rating_noise_sd: float = Field(
        0.5, ge=0, description="Standard deviation of a freelancer's 1-5 star rating of a client "
        "around what the client did in the contract. Unit: stars.")
    # --- policy lab (issue 14): which score the market runs on, two-sided reputation ----------
    score: Literal["jss", "bayes", "wilson", "epp", "debiased", "jss-interval"] = Field(
        "jss", description="The score the market shows and uses (ODD 7.1.12, 7.8): clients "
        "filter on it (their preferred minimum) and weigh it in their choice, badges and "
        "reputation prices follow it. 'jss' = Upwork's Job Success Score; the others are the "
        "alternatives of marketplace.scoring.alternatives. The JSS is still computed and "
        "reported either way.")
    score_mapping: Literal["quantile", "percent"] = Field(
        "quantile", description="How an alternative score is put on the JSS's 0-100 scale that "
        "clients' filters (80, 90, 95) and the utility use: 'quantile' = the JSS at the "
        "score's percentile rank among freelancers with the score (a filter admits as many as "
        "the same filter on JSS would; only who passes changes); 'percent' = the score in "
        "percent as is (success share x 100; the JSS interval's lower end).")
    client_reputation: bool = Field(
        False, description="Two-sided reputation: every client shows a score from freelancers' "
        "ratings of it (shrunk mean, 0-1), and freelancers skip jobs of low-scored clients with "
        "probability client_reputation_avoidance x shortfall (0 at or above the median "
        "client's score, 1 at or below the 5th percentile, linear between), on top of "
        "freelancers.avoid_poorly_rated_clients.")
    client_reputation_avoidance: float = _probability(
        "Strength of freelancers' avoidance of low-scored clients when client_reputation is on: "
        "the probability of skipping a job of a client at or below the 5th percentile of client "
        "scores (the shortfall below the median scales it; relative, so the ratings' overall "
        "level does not matter). [A] set so that well-rated clients get about 40% more "
        "proposals than poorly rated ones (direction of Benson, Sojourner and Umyarov 2020). "
        "Unit: probability.", 0.5)
    top_rated_plus_bar: Literal["by_category", "single"] = Field(
        "by_category", description="Top Rated Plus 'large contract' bar: 'by_category' = each "
        "freelancer's category bar from large_contract_bar_mix (Upwork's documented rule), "
        "'single' = the rule set's one trp_large_contract_usd ($10,000) for everyone.")
    large_contract_bar_mix: LargeContractBarMix = Field(
        default_factory=LargeContractBarMix, description="Shares of freelancers by the large-"
        "contract bar of their category (used when top_rated_plus_bar = 'by_category').")
    freelancer_rating_base: float = Field(
        4.8, ge=1, le=5, description="A freelancer's expected rating of a client who did nothing "
        "wrong in the contract. Unit: stars.")
    rating_penalty_feedback_gap: float = Field(
        0.8, ge=0, description="Stars a freelancer takes off per public star the client gave "
        "below what the delivered work deserved (an honest rater's expected stars for the "
        "delivered quality), beyond a tolerance of one star. Unit: stars per star.")
    rating_penalty_early_end: float = Field(
        0.5, ge=0, description="Stars taken off when the client ended the contract early (for "
        "whatever cause). Unit: stars.")
    rating_penalty_scope: float = Field(
        1.5, ge=0, description="Stars taken off when the work turned out larger than posted "
        "(unpaid scope or a longer hourly contract: scope creep). Unit: stars.")
    rating_penalty_dispute: float = Field(
        1.5, ge=0, description="Stars taken off when the contract ended in a dispute. Unit: "
        "stars.")

    #: Platform fields that override the rule-set field of the same name when not None.
    FLAG_THRESHOLD_FIELDS: ClassVar[tuple[str, ...]] = (
        "flag_min_contracts", "flag_min_negative_share", "flag_lookback_weeks",
        "flag_min_ratings", "flag_max_mean_rating")

    def rule_overrides(self) -> dict[str, Any]:
        """The rule-set fields these parameters override (``scoring.get_rules(name, **...)``):
        the removal perk and flagging thresholds when set, client flagging when switched off."""
        return platform_rule_overrides(lambda name: getattr(self, name))


def platform_rule_overrides(value: typing.Callable[[str], Any]) -> dict[str, Any]:
    """``PlatformParams.rule_overrides`` from any reader of platform parameters: ``value(name)``
    gives a parameter's value, None when absent (a manifest's stored dict reads the same as the
    schema, so the analysis rebuilds exactly the rule set the model used)."""
    out: dict[str, Any] = {}
    perk = value("removal_perk")
    if perk is not None:
        out["removal_perk"] = bool(perk)
    if value("flag_clients") is False:
        out["client_flagging"] = False
    for name in PlatformParams.FLAG_THRESHOLD_FIELDS:
        threshold = value(name)
        if threshold is not None:
            out[name] = threshold
    return out


class ModelParams(_Group):
    """All parameters of one market run. Every field has a default, a unit and a meaning."""

    n_freelancers: int = Field(
        2_000, ge=1, description="Freelancers at week 0 (newcomers are added). Unit: agents.")
    n_clients: int | None = Field(
        None, ge=1, description="Clients (a fixed population). None = round(clients.per_freelancer "
        "x n_freelancers). Unit: agents.")
    weeks: int = Field(416, ge=1, description="Weeks simulated (one step = one week), burn-in "
                       "included. Unit: weeks.")
    burn_in_weeks: int = Field(
        260, ge=0, description="Initial weeks the analysis discards: every freelancer starts "
        "without history, 104 weeks fill the 24-month JSS window, and the population's mix of "
        "history lengths settles by about week 260 (steady state, ODD 5). Unit: weeks.")
    rules: str = Field("upwork-2023", description="JSS rule set name (marketplace.scoring."
                       "RULE_SET_NAMES).")
    jss_update_weeks: int = Field(2, ge=1, description="Weeks between JSS recomputations "
                                  "(Upwork: every two weeks). Unit: weeks.")
    freelancers: FreelancerParams = Field(default_factory=FreelancerParams,
                                          description="Supply side.")
    clients: ClientParams = Field(default_factory=ClientParams, description="Demand side.")
    platform: PlatformParams = Field(default_factory=PlatformParams, description="Platform.")

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, v: str) -> str:
        names = _rule_set_names()
        if v not in names:
            hint = difflib.get_close_matches(v, names, n=1)
            did = f" Did you mean {hint[0]!r}?" if hint else ""
            raise ValueError(f"rules: unknown rule set {v!r}; allowed: {', '.join(names)}.{did}")
        return v

    @model_validator(mode="after")
    def _burn_in(self) -> ModelParams:
        if self.burn_in_weeks >= self.weeks:
            raise ValueError(f"burn_in_weeks ({self.burn_in_weeks}) must be smaller than weeks "
                             f"({self.weeks})")
        return self

    @property
    def n_clients_effective(self) -> int:
        """n_clients, or round(clients.per_freelancer x n_freelancers) when it is None."""
        if self.n_clients is not None:
            return self.n_clients
        return max(1, round(self.clients.per_freelancer * self.n_freelancers))

    # ----------------------------------------------------------------- overrides
    def with_overrides(self, overrides: dict[str, Any] | None = None, **kwargs: Any) -> ModelParams:
        """A copy with dotted-path overrides, e.g. ``{"clients.rater_mix.dishonest": 0.2}``.

        Setting one share of a mix (``clients.rater_mix``, ``clients.min_jss_mix``) rescales the
        other shares of that mix proportionally so the mix sums to 1 (this is the only place that
        renormalises). Setting several shares of one mix at once renormalises only the shares not
        set, which must leave room (the set shares may sum to at most 1). A whole mix can also be
        given as a dict. Unknown paths raise :class:`ParameterError` with a did-you-mean hint.
        Keyword arguments are top-level fields (``n_freelancers=...``).
        """
        items = dict(overrides or {})
        items.update(kwargs)
        data = self.model_dump(by_alias=True)
        mix_sets: dict[tuple[str, ...], dict[str, float]] = {}
        for path, value in items.items():
            keys = _resolve_path(type(self), str(path))
            parent_cls = _class_at(type(self), keys[:-1])
            if parent_cls is not None and issubclass(parent_cls, _Mix):
                mix_sets.setdefault(tuple(keys[:-1]), {})[keys[-1]] = value
                continue
            _set_in(data, keys, value)
        for mix_keys, set_shares in mix_sets.items():
            current = _get_in(data, list(mix_keys))
            _set_in(data, list(mix_keys), _renormalise(".".join(mix_keys), current, set_shares))
        try:
            return type(self).model_validate(data)
        except ValidationError as err:
            raise ParameterError(_format_validation_error(err)) from err


def _rule_set_names() -> tuple[str, ...]:
    try:
        from marketplace.scoring import RULE_SET_NAMES
        return tuple(RULE_SET_NAMES)
    except ImportError:  # pragma: no cover
        return tuple(_RULE_SET_NAMES)


def _alias_map(cls: type[BaseModel]) -> dict[str, str]:
    """Public name (alias or field name) -> field name."""
    out: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        out[name] = name
        if info.alias:
            out[info.alias] = name
    return out


def _nested_class(cls: type[BaseModel], field: str) -> type[BaseModel] | None:
    ann = cls.model_fields[field].annotation
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _all_paths(cls: type[BaseModel], prefix: str = "") -> list[str]:
    paths: list[str] = []
    for name, info in cls.model_fields.items():
        public = info.alias or name
        sub = _nested_class(cls, name)
        if sub is not None:
            paths.extend(_all_paths(sub, f"{prefix}{public}."))
        else:
            paths.append(f"{prefix}{public}")
    return paths


def _resolve_path(cls: type[BaseModel], path: str) -> list[str]:
    """Dotted public path -> list of dump keys (aliases), or ParameterError with a hint."""
    keys: list[str] = []
    parts = path.split(".")
    current: type[BaseModel] | None = cls
    for part in parts:
        amap = _alias_map(current) if current is not None else {}
        if part not in amap:
            keys = []
            break
        field = amap[part]
        keys.append(current.model_fields[field].alias or field)
        current = _nested_class(current, field)
    if len(keys) != len(parts):
        every = _all_paths(cls)
        hint = difflib.get_close_matches(path, every, n=3, cutoff=0.5)
        did = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        raise ParameterError(f"unknown parameter {path!r}.{did} See docs/ODD.md or "
                             f"ModelParams.model_json_schema() for every parameter.")
    return keys


def _class_at(cls: type[BaseModel], keys: list[str]) -> type[BaseModel] | None:
    current: type[BaseModel] | None = cls
    for key in keys:
        if current is None:
            return None
        current = _nested_class(current, _alias_map(current)[key])
    return current


def _get_in(data: dict[str, Any], keys: list[str]) -> Any:
    for key in keys:
        data = data[key]
    return data


def _set_in(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        data = data[key]
    data[keys[-1]] = value


def _renormalise(name: str, current: dict[str, float], set_shares: dict[str, Any]) -> dict:
    """Set some shares of a mix and rescale the rest proportionally so the mix sums to 1."""
    new = dict(current)
    for key, value in set_shares.items():
        if isinstance(value, bool):
            raise ParameterError(f"{name}.{key}: a share must be a number in [0, 1], got "
                                 f"{value!r}")
        try:
            v = float(value)
        except (TypeError, ValueError) as err:
            raise ParameterError(f"{name}.{key}: a share must be a number in [0, 1], got "
                                 f"{value!r}") from err
        if not (0.0 <= v <= 1.0) or math.isnan(v):
            raise ParameterError(f"{name}.{key}: a share must be in [0, 1], got {v:g}")
        new[key] = v
    fixed = sum(new[k] for k in set_shares)
    rest = [k for k in new if k not in set_shares]
    if fixed > 1.0 + _SHARE_TOLERANCE:
        raise ParameterError(f"{name}: the shares set ({', '.join(set_shares)}) sum to "
                             f"{fixed:g} > 1; shares must sum to 1")
    free = sum(new[k] for k in rest)
    room = max(0.0, 1.0 - fixed)
    if rest:
        if free > 0:
            for k in rest:
                new[k] = new[k] * room / free
        else:  # all other shares were zero: spread the room evenly
            for k in rest:
                new[k] = room / len(rest)
    return new


def _format_validation_error(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "parameters"
        lines.append(f"{loc}: {e['msg']} (got {e.get('input')!r})")
    return "invalid parameters:\n  " + "\n  ".join(lines)


def field_metadata(cls: type[BaseModel] = ModelParams, prefix: str = "") -> list[dict[str, Any]]:
    """Every leaf parameter as {path, default, description} (for docs and the analysis layer)."""
    rows: list[dict[str, Any]] = []
    instance = cls()
    for name, info in cls.model_fields.items():
        public = info.alias or name
        sub = _nested_class(cls, name)
        if sub is not None:
            rows.extend(field_metadata(sub, f"{prefix}{public}."))
        else:
            rows.append({"path": f"{prefix}{public}", "default": getattr(instance, name),
                         "description": info.description or ""})
    return rows
