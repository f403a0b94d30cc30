"""The rule set of the Job Success Score and its named eras.

Every documented Upwork rule, and every assumption where Upwork publishes none, is one field of
:class:`RuleSet`, so each can be switched on its own:
``get_rules("upwork-2023", removal_perk=False)``.
Sources and reasoning for each default: ``docs/ODD.md`` section 7.1. Units: weeks and USD.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

#: Names of the four window scores, in the order of ``RuleSet.window_weeks``, plus "trending".
WINDOW_NAMES: tuple[str, ...] = ("24m", "12m", "6m", "3m")
SCORE_NAMES: tuple[str, ...] = (*WINDOW_NAMES, "trending")

MissingFeedback = Literal["exclude", "negative_if_large_share"]
FeeSchedule = Literal["flat", "tiered"]
Rounding = Literal["none", "floor", "round"]


@dataclass(frozen=True)
class AlternativeRules:
    """Parameters of the alternative scores (``marketplace.scoring.alternatives``, issue 14).

    Every default is an assumption [A] unless marked; reasoning in ``docs/ODD.md`` 7.1.12.
    """

    min_outcomes: int = 1
    """An alternative score is shown from this many counted outcomes (EPP: contracts) in the
    24-month window [A]: shrinkage and bounds carry their own uncertainty, so no 2-client rule."""
    bayes_prior_mean: float | None = None
    """Prior mean of the success share; None = empirical Bayes (the pooled success share of all
    counted outcomes in the window, recomputed at each scoring) [A]."""
    bayes_prior_strength: float = 4.0
    """Prior weight in job units (pseudo-outcomes) of the Beta prior and of the JSS interval's
    Dirichlet prior [A]: 4 outcomes of evidence halve the prior's pull."""
    confidence_level: float = 0.95
    """One-sided level of the Bayesian lower credible bound, the Wilson lower bound and each end
    of the JSS interval (a two-sided 90% interval) [A]."""
    debias_prior_ratings: float = 3.0
    """Pseudo-ratings that shrink a client's rating-deviation estimate towards an honest rater's
    [A]: a client with 3 ratings is judged halfway."""
    debias_noise_sd: float = 1.5
    """Typical deviation (private 0-10 points) of an honest client's score from what the same
    freelancer's other clients gave; deviations up to this cost no weight [A] (the model's honest
    private score has about 1.4 points of noise from delivery and satisfaction)."""
    debias_scale: float = 2.0
    """Private points of excess root-mean-square deviation at which a client's weight halves
    [A]."""
    debias_rounds: int = 2
    """Rounds of the estimator: each round recomputes the freelancers' reference means with the
    client weights of the previous round [A]."""
    client_prior_ratings: float = 3.0
    """Pseudo-ratings at the market's mean that shrink a client's visible reputation score [A]."""


@dataclass(frozen=True)
class RuleSet:
    """All scoring, badge, perk, flagging and fee rules. Frozen: derive variants with ``get_rules``.

    Defaults are the ``upwork-2023`` rules (December 2023 to September 2024).
    """

    name: str = "custom"

    # --- outcome of a contract (private score 0-10, public stars 1-5) ----------------------------
    private_success_min: float = 9.0
    """Private score at or above this is a success (NPS promoter, 9-10) [S]."""
    private_neutral_min: float = 7.0
    """Private score at or above this (and below success) is neutral (NPS passive, 7-8) [S]."""
    use_public_stars_fallback: bool = True
    """When a contract has no private score, classify it from its public stars (assumption)."""
    public_success_min: float = 4.5
    """Public stars at or above this are a success when only stars exist (assumption)."""
    public_neutral_min: float = 3.5
    """Public stars at or above this (below success) are neutral, stars only (assumption)."""
    dispute_is_negative: bool = True
    """A disputed contract is a negative outcome whatever its feedback [V]."""
    missing_feedback: MissingFeedback = "exclude"
    """'exclude' (Nov 2020 on [V]) or 'negative_if_large_share' (before: counted "only when it
    represents a significant portion of your contracts" [V])."""
    missing_feedback_share: float = 0.25
    """Share of no-feedback contracts in a window above which all count negative (assumption)."""
    exclude_zero_earnings_non_negative: bool = True
    """$0 earned with positive/neutral feedback is excluded (2020 on [V]); negative still counts."""
    neutral_in_denominator: bool = True
    """A neutral outcome adds to the denominator only (NPS passive [S]); False drops neutrals."""
    client_flagging: bool = True
    """Honour the per-contract ``client_flagged`` input: a flagged client is excluded [V]."""
    count_ongoing_long_term: bool = True
    """An ongoing contract paid for at least ``ongoing_min_paid_weeks`` with a payment within
    ``ongoing_max_weeks_since_payment`` counts as a success ("long-term contracts ... where payment
    is made every 90 days" are eligible [V]; success is an assumption)."""
    ongoing_min_paid_weeks: int = 13
    ongoing_max_weeks_since_payment: int = 13

    # --- weight of a contract --------------------------------------------------------------------
    job_size_weights: bool = True
    """Weight by earnings (since March 2020 [V]); off = every job weighs ``size_weights[0]``."""
    size_weight_cutoffs_usd: tuple[float, float] = (250.0, 1000.0)
    size_weights: tuple[float, float, float] = (1.0, 1.25, 1.5)
    """$1-250 -> 1.0, $251-1,000 -> 1.25, > $1,000 -> 1.5 [V]."""
    long_term_extra_weight: float = 1.0
    """Extra weight per ``long_term_period_weeks`` paid weeks ("an extra job" [V]); 0 = off."""
    long_term_period_weeks: int = 13
    weight_cap: float = 8.0
    """Maximum weight of one contract ("up to a maximum weight of eight jobs" [V]); inf = off."""

    # --- windows, visibility, display ------------------------------------------------------------
    window_weeks: tuple[int, int, int, int] = (104, 52, 26, 13)
    """Lengths of the 24-, 12-, 6- and 3-month windows, in weeks [V]."""
    displayed: tuple[str, ...] = ("24m", "12m", "6m", "trending")
    """Scores the displayed JSS is the best of [V]; trending = mean of 6m and 3m."""
    window_min_outcomes: int = 2
    """A window is scored only with at least this many counted outcomes ("enough", assumption)."""
    window_min_clients: int = 2
    """... from at least this many distinct clients ("enough clients", assumption)."""
    visibility_min_outcomes: int = 2
    """No JSS until this many counted outcomes in ``visibility_window_weeks`` (Dec 2023: 2 [V])."""
    visibility_min_clients: int = 2
    """... from this many distinct clients (Dec 2023: 2 [V])."""
    visibility_window_weeks: int = 104
    jss_rounding: Rounding = "none"
    """Rounding of the displayed JSS (Upwork shows whole percent; unpublished how). Windows are
    never rounded."""

    # --- client flagging (flag_clients) ----------------------------------------------------------
    flag_min_contracts: int = 5
    """A client is judged only after this many contracts with feedback (assumption)."""
    flag_min_negative_share: float = 0.6
    """Flag a client when at least this share of its feedback is negative (assumption)."""
    flag_lookback_weeks: int = 104
    """Feedback older than this is not used to flag (assumption)."""
    flag_min_ratings: int = 5
    flag_max_mean_rating: float = 2.5
    """Also flag a client whose mean rating by freelancers (1-5 stars) is at most this over at least
    ``flag_min_ratings`` ratings ("a very low FL feedback rating" [V]; numbers are assumptions)."""
    flag_retroactive: bool = True
    """A flag also excludes the client's earlier contracts ("their inputs omitted" [V])."""

    # --- Top Rated feedback-removal perk (select_removals) ---------------------------------------
    removal_perk: bool = True
    """The perk exists (about 2016 to 3 Sept 2024 [V])."""
    removal_perk_until_week: int | None = None
    """Model week from which the perk is gone (None = for the whole run)."""
    removal_min_weeks_between: int = 13
    """At most once every 3 months [V]."""
    removal_min_jobs_between: int = 10
    """At most once every 10 jobs [V]: 10 ended contracts since the last removal (or in all)."""

    # --- badges (update_badges) ------------------------------------------------------------------
    tr_min_jss: float = 90.0
    tr_history_weeks: int = 16
    tr_min_eligible_weeks: int = 13
    """Top Rated: JSS >= 90 (or Rising Talent) in >= 13 of the last 16 weeks [V]."""
    tr_min_earnings_52w_usd: float = 1000.0
    tr_min_tenure_weeks: int = 13
    """First contract more than 90 days (13 weeks) ago [V]."""
    tr_max_weeks_inactive: int = 13
    """Activity in the past 90 days [V]."""
    top_rated_plus: bool = True
    """Top Rated Plus exists (July 2020 on [V])."""
    trp_min_earnings_52w_usd: float = 10000.0
    trp_large_contract_usd: float = 10000.0
    """A 'large' contract: $5k-30k depending on category [V]; one value here (assumption)."""
    rising_talent: bool = True
    rt_new_account_weeks: int = 4
    """Rising Talent also for accounts that joined in the past 30 days [V]."""

    # --- fees (freelancer_fee_usd) ---------------------------------------------------------------
    fee_schedule: FeeSchedule = "flat"
    fee_flat_rate: float = 0.10
    """Flat 10% since 3 May 2023 [V]."""
    fee_tier_limits_usd: tuple[float, float] = (500.0, 10000.0)
    fee_tier_rates: tuple[float, float, float] = (0.20, 0.10, 0.05)
    """2016-2023: 20% of the first $500 per client relationship, 10% to $10k, 5% above [V]."""

    # --- alternative scores (scoring.alternatives, issue 14) -------------------------------------
    alternatives: AlternativeRules = dataclasses.field(default_factory=AlternativeRules)
    """Parameters of the Bayesian, Wilson, EPP, rater-debiased and JSS-interval scores."""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def trending(self) -> bool:
        return "trending" in self.displayed

    def perk_active(self, week: float) -> bool:
        """Whether the feedback-removal perk exists at ``week``."""
        if not self.removal_perk:
            return False
        return self.removal_perk_until_week is None or week < self.removal_perk_until_week

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fail(field: str, value: Any, allowed: str) -> None:
    raise ValueError(f"rule field {field!r}: value {value!r} is not allowed; expected {allowed}")


def _validate(r: RuleSet) -> None:
    def unit(name: str) -> None:
        v = getattr(r, name)
        if not (isinstance(v, int | float) and 0 <= v <= 1):
            _fail(name, v, "a number from 0 to 1")

    def nonneg(name: str, integer: bool = False) -> None:
        v = getattr(r, name)
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if not ok or isinstance(v, bool) or v < 0 or (isinstance(v, float) and math.isnan(v)):
            _fail(name, v, "a non-negative integer" if integer else "a non-negative number")

    if r.missing_feedback not in ("exclude", "negative_if_large_share"):
        _fail("missing_feedback", r.missing_feedback, "'exclude' or 'negative_if_large_share'")
    if r.fee_schedule not in ("flat", "tiered"):
        _fail("fee_schedule", r.fee_schedule, "'flat' or 'tiered'")
    if r.jss_rounding not in ("none", "floor", "round"):
        _fail("jss_rounding", r.jss_rounding, "'none', 'floor' or 'round'")
    ww = tuple(r.window_weeks)
    if (
        len(ww) != 4
        or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in ww)
        or len(set(ww)) != 4
    ):
        _fail("window_weeks", r.window_weeks, "4 distinct positive integers (24m, 12m, 6m, 3m)")
    if not r.displayed or any(d not in SCORE_NAMES for d in r.displayed):
        _fail("displayed", r.displayed, f"a non-empty tuple of {', '.join(SCORE_NAMES)}")
    if not (0 <= r.private_neutral_min <= r.private_success_min <= 10):
        _fail("private_success_min", r.private_success_min,
              "0 <= private_neutral_min <= private_success_min <= 10")
    if not (1 <= r.public_neutral_min <= r.public_success_min <= 5):
        _fail("public_success_min", r.public_success_min,
              "1 <= public_neutral_min <= public_success_min <= 5")
    if len(r.size_weights) != 3 or len(r.size_weight_cutoffs_usd) != 2:
        _fail("size_weights", r.size_weights, "3 weights and 2 cut-offs")
    if len(r.fee_tier_rates) != 3 or len(r.fee_tier_limits_usd) != 2:
        _fail("fee_tier_rates", r.fee_tier_rates, "3 rates and 2 limits")
    for name in ("missing_feedback_share", "flag_min_negative_share", "fee_flat_rate"):
        unit(name)
    for name in ("window_min_outcomes", "window_min_clients", "visibility_min_outcomes",
                 "visibility_min_clients", "visibility_window_weeks", "long_term_period_weeks",
                 "ongoing_min_paid_weeks", "ongoing_max_weeks_since_payment", "flag_min_contracts",
                 "flag_lookback_weeks", "flag_min_ratings", "removal_min_weeks_between",
                 "removal_min_jobs_between", "tr_history_weeks", "tr_min_eligible_weeks",
                 "tr_min_tenure_weeks", "tr_max_weeks_inactive", "rt_new_account_weeks"):
        nonneg(name, integer=True)
    for name in ("long_term_extra_weight", "weight_cap", "tr_min_jss", "tr_min_earnings_52w_usd",
                 "trp_min_earnings_52w_usd", "trp_large_contract_usd"):
        nonneg(name)
    if r.long_term_period_weeks == 0:
        _fail("long_term_period_weeks", 0, "a positive integer")
    if not 1 <= r.tr_history_weeks <= 32:
        _fail("tr_history_weeks", r.tr_history_weeks, "an integer from 1 to 32")
    if r.tr_min_eligible_weeks > r.tr_history_weeks:
        _fail("tr_min_eligible_weeks", r.tr_min_eligible_weeks, "at most tr_history_weeks")
    a = r.alternatives
    if isinstance(a, dict):
        a = AlternativeRules(**a)
        object.__setattr__(r, "alternatives", a)
    if not isinstance(a, AlternativeRules):
        _fail("alternatives", a, "an AlternativeRules")
    if not (isinstance(a.min_outcomes, int) and a.min_outcomes >= 1):
        _fail("alternatives.min_outcomes", a.min_outcomes, "an integer >= 1")
    if a.bayes_prior_mean is not None and not 0 < a.bayes_prior_mean < 1:
        _fail("alternatives.bayes_prior_mean", a.bayes_prior_mean, "None or a number in (0, 1)")
    if not 0.5 < a.confidence_level < 1:
        _fail("alternatives.confidence_level", a.confidence_level, "a number in (0.5, 1)")
    for name in ("bayes_prior_strength", "debias_noise_sd", "debias_scale",
                 "debias_prior_ratings", "client_prior_ratings"):
        v = getattr(a, name)
        if not (isinstance(v, int | float) and v > 0):
            _fail(f"alternatives.{name}", v, "a positive number")
    if not (isinstance(a.debias_rounds, int) and a.debias_rounds >= 1):
        _fail("alternatives.debias_rounds", a.debias_rounds, "an integer >= 1")


_BASE = RuleSet()

#: The named eras. Each changes only what differs from the 2023 defaults; see docs/ODD.md 7.1.
ERAS: dict[str, RuleSet] = {
    # ~2015 to Nov 2020: missing feedback counts against when a large share; 3 distinct clients
    # to show a score; no job-size weights, $0 positive jobs counted; best of 24/12/6 months (no
    # trending); tiered fees; no Top Rated Plus (July 2020).
    "upwork-2015": dataclasses.replace(
        _BASE,
        name="upwork-2015",
        missing_feedback="negative_if_large_share",
        visibility_min_outcomes=3,
        visibility_min_clients=3,
        window_min_outcomes=3,
        window_min_clients=3,
        job_size_weights=False,
        exclude_zero_earnings_non_negative=False,
        displayed=("24m", "12m", "6m"),
        fee_schedule="tiered",
        top_rated_plus=False,
    ),
    # Nov 2020 to Dec 2023: no-feedback contracts excluded, job-size weights, 4 outcomes from
    # 2 clients, trending score, tiered fees (flat 10% only from May 2023).
    "upwork-2020": dataclasses.replace(
        _BASE,
        name="upwork-2020",
        visibility_min_outcomes=4,
        visibility_min_clients=2,
        window_min_outcomes=4,
        window_min_clients=2,
        fee_schedule="tiered",
    ),
    # Dec 2023 to Sept 2024: 2 outcomes from 2 clients, flat 10% fee, removal perk still exists.
    "upwork-2023": dataclasses.replace(_BASE, name="upwork-2023"),
    # From 3 Sept 2024: the feedback-removal perk is gone.
    "upwork-2024": dataclasses.replace(_BASE, name="upwork-2024", removal_perk=False),
}

RULE_SET_NAMES: tuple[str, ...] = tuple(ERAS)
DEFAULT_RULES = "upwork-2023"
RULE_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RuleSet))


def get_rules(name: str = DEFAULT_RULES, **overrides: Any) -> RuleSet:
    """The rule set of era ``name`` with any field overridden, e.g. ``removal_perk=False``.

    Raises ValueError naming the unknown era or field and the allowed ones, or the bad value.
    """
    if name not in ERAS:
        raise ValueError(
            f"unknown rule set {name!r}; allowed rule sets: {', '.join(RULE_SET_NAMES)}"
        )
    unknown = [k for k in overrides if k not in RULE_FIELDS or k == "name"]
    if unknown:
        raise ValueError(
            f"unknown rule field {unknown[0]!r}; allowed fields: "
            + ", ".join(f for f in RULE_FIELDS if f != "name")
        )
    if not overrides:
        return ERAS[name]
    tuple_fields = {f.name for f in dataclasses.fields(RuleSet) if "tuple" in str(f.type)}
    clean = {k: tuple(v) if k in tuple_fields and isinstance(v, list) else v
             for k, v in overrides.items()}
    return dataclasses.replace(ERAS[name], **clean)
