"""The sections of an experiment's report and the names that choose them (no pandas, no
matplotlib: `marketplace validate` checks a config's `analysis:` list against these and must
start in well under a second). The report itself is `marketplace.analysis.report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HISTORY_BAND_COLUMNS = {
    "2-4": "jss_drop_after_one_negative_2_4",
    "5-9": "jss_drop_after_one_negative_5_9",
    "10-19": "jss_drop_after_one_negative_10_19",
    "20+": "jss_drop_after_one_negative_20plus",
}

POLICY_TABLE_METRICS: tuple[str, ...] = (
    # informativeness
    "spearman_quality_market", "auc_top_quartile_market", "p_above_beats_below_market",
    # what clients get
    "mean_quality_hired", "mean_delivered_quality", "refunds_usd",
    # newcomers
    "newcomer_never_hired_share", "first_hire_weeks_median", "newcomers_admitted_market",
    # concentration
    "gini_jobs", "gini_earnings", "top10_earnings_share",
    # volatility
    "drop_one_liar_market", "volatility_market",
    # platform
    "platform_fees_usd",
)
"""Columns of the policy table (issue 14 item 5) and the report's policy section."""


@dataclass(frozen=True)
class Analysis:
    """A block of the report: the question it answers, its metrics and its figures."""

    title: str
    question: str
    metrics: tuple[str, ...]
    figures: tuple[str, ...] = ()


ANALYSES: dict[str, Analysis] = {
    "validity": Analysis(
        "Does the JSS track true quality?",
        "How well does the score rank freelancers by their hidden true quality, and what does a "
        "client filtering at 90 get?",
        ("spearman_jss_quality", "quality_gap_90", "quality_gap_90_d", "p_above_beats_below_90",
         "auc_top_quartile", "precision_90", "recall_90", "excluded_good_share_90",
         "excluded_good_share_90_incl_no_jss", "mean_quality_jss_ge_90",
         "mean_quality_jss_lt_90"),
        ("quality_by_jss_band", "jss_quality_hexbin", "precision_recall"),
    ),
    "threshold": Analysis(
        "Is there a jump in quality at 90?",
        "Are freelancers just above 90 better than those just below (regression discontinuity), "
        "and do scores bunch at 90 (density test)?",
        ("rd_jump_90", "p_above_beats_below_90", "density_test_p_90"),
        ("rd_plot",),
    ),
    "bunching": Analysis(
        "Where do the scores sit?",
        "How many freelancers reach 90 and 100, and what do refunds cost?",
        ("share_jss_ge_90", "share_jss_100", "share_top_rated", "density_test_p_90",
         "refunds_usd", "fees_lost_to_refunds_usd"),
        ("jss_histogram",),
    ),
    "ratings": Analysis(
        "What do the public ratings say?",
        "How inflated are public ratings, and how often do unhappy clients still rate well "
        "publicly?",
        ("mean_public_stars", "share_five_star", "share_pos_public_given_private_dissatisfied"),
    ),
    "volatility": Analysis(
        "How much does one bad client move the score?",
        "How far does one extra negative outcome pull a JSS down, by length of history?",
        ("jss_drop_after_one_negative", *HISTORY_BAND_COLUMNS.values()),
        ("one_negative_drop",),
    ),
    "newcomers": Analysis(
        "What does the score cost newcomers?",
        "How long do newcomers wait for a first job, and how many good freelancers does a 90 "
        "filter hide because they have no JSS yet?",
        ("share_with_jss", "first_hire_weeks_median", "first_hire_weeks_median_hired",
         "newcomer_never_hired_share", "excluded_good_share_90_incl_no_jss"),
    ),
    "market": Analysis(
        "What does the market look like?",
        "Proposals, hires, how many proposals clients read per hire, and the quality clients "
        "actually get.",
        ("mean_quality_hired", "mean_delivered_quality", "proposals_per_job", "hire_rate",
         "hires_per_proposal", "proposals_read_per_hire"),
    ),
    "concentration": Analysis(
        "Who gets the work?",
        "How unequal are jobs and earnings, against the floor that random hiring would give, and "
        "does the work go to the better freelancers?",
        ("gini_jobs", "random_allocation_gini_jobs", "gini_earnings", "top10_earnings_share",
         "top20_earnings_share", "never_hired_share", "spearman_quality_jobs"),
    ),
    "policy": Analysis(
        "Would another score tell better freelancers apart?",
        "With the market running on each score (and with or without client reputation): how well "
        "does the score rank true quality, what do clients get, what happens to newcomers, how "
        "concentrated is the work, how much does one lying client move the score, and what does "
        "the platform earn? Metrics with `_market` are those of the score the market ran on.",
        POLICY_TABLE_METRICS,
        ("counterfactual_scores", "policy_scores_by_week"),
    ),
    "sweep": Analysis(
        "How do the answers change with the swept parameters?",
        "Each swept parameter against the key metrics of the other analyses.",
        (),
        ("parameter_sweep",),
    ),
    "sensitivity": Analysis(
        "What decides the answer",
        "Which assumptions (parameters with no empirical source) move each headline metric, and "
        "which way (global sensitivity analysis with SALib: Morris or Sobol)?",
        (),
        ("sensitivity_indices",),
    ),
    "robustness": Analysis(
        "Is 90 meaningful across the plausible parameter space?",
        "Over what share of the sampled parameter space is a freelancer just above 90 better "
        "than one just below with 95% confidence, and where not?",
        (),
        ("robustness",),
    ),
}
SPECIAL_SECTIONS = ("sensitivity", "robustness")
"""Sections rendered from the whole sample (sensitivity.parquet, robustness.parquet) rather than
per combination; they say nothing for an experiment without a sample."""

# The canonical experiments' names stand for their sets of sections, so a config may say
# `analysis: [threshold_validity]` (the form in the experiment-config example of the docs).
ANALYSIS_PRESETS: dict[str, tuple[str, ...]] = {
    "threshold_validity": ("validity", "threshold", "bunching", "ratings", "volatility",
                           "newcomers", "market", "concentration"),
    "dishonest_raters": ("validity", "threshold", "ratings", "volatility", "sweep"),
    "refund_chasing": ("bunching", "threshold", "validity", "ratings", "sweep"),
    "newcomer_volatility": ("volatility", "newcomers", "concentration", "validity", "sweep"),
    "rule_eras": ("validity", "threshold", "volatility", "newcomers", "bunching", "sweep"),
    "client_filters": ("market", "newcomers", "concentration", "validity", "sweep"),
    "client_choice": ("concentration", "market", "validity", "newcomers", "sweep"),
    "sensitivity": ("sensitivity", "robustness"),
    "policy_alternatives": ("policy", "validity", "market", "newcomers", "concentration",
                            "sweep"),
}


def expand_analyses(names: Sequence[str]) -> list[str]:
    """Section names with presets expanded, in order, each once; unknown names kept as given."""
    out: list[str] = []
    for name in names:
        for section in ANALYSIS_PRESETS.get(name, (name,)):
            if section not in out:
                out.append(section)
    return out
"""Report blocks an experiment can ask for in its config's `analysis:` list."""
