"""Job Success Score rules as pure, vectorized numpy/pandas functions (no Mesa).

See docs/architecture.md section 1 for the interface and docs/ODD.md section 7.1 for every rule,
its source and every assumption.
"""

from .alternatives import (
    SCORE_CHOICES,
    AlternativeScores,
    alternative_scores,
    average_ranks,
    client_rating_weights,
    client_reputation_scores,
    score_history_alternatives,
    to_jss_scale,
)
from .badges import BadgeState, large_contract_flags, update_badges
from .fees import freelancer_fee_usd
from .flagging import contract_client_flagged, flag_clients
from .history import (
    HistoryScore,
    HistoryValidationError,
    read_history,
    read_history_csv,
    score_history,
    validate_history,
)
from .jss import JSSResult, job_success_scores, window_score
from .jss_incremental import WindowSums
from .outcomes import (
    END_REASONS,
    EXCLUSION_REASONS,
    OUTCOME_NAMES,
    REASONS,
    Outcome,
    classify_outcomes,
    feedback_class,
)
from .perk import PerkState, select_removals
from .rules import (
    DEFAULT_RULES,
    ERAS,
    RULE_FIELDS,
    RULE_SET_NAMES,
    SCORE_NAMES,
    WINDOW_NAMES,
    AlternativeRules,
    RuleSet,
    get_rules,
)
from .weights import contract_weights

__all__ = [
    "DEFAULT_RULES",
    "END_REASONS",
    "ERAS",
    "EXCLUSION_REASONS",
    "OUTCOME_NAMES",
    "REASONS",
    "RULE_FIELDS",
    "RULE_SET_NAMES",
    "SCORE_CHOICES",
    "SCORE_NAMES",
    "WINDOW_NAMES",
    "AlternativeRules",
    "AlternativeScores",
    "BadgeState",
    "HistoryScore",
    "HistoryValidationError",
    "JSSResult",
    "Outcome",
    "PerkState",
    "RuleSet",
    "WindowSums",
    "alternative_scores",
    "average_ranks",
    "classify_outcomes",
    "client_rating_weights",
    "client_reputation_scores",
    "contract_client_flagged",
    "contract_weights",
    "feedback_class",
    "flag_clients",
    "freelancer_fee_usd",
    "get_rules",
    "job_success_scores",
    "large_contract_flags",
    "read_history",
    "read_history_csv",
    "score_history",
    "score_history_alternatives",
    "select_removals",
    "to_jss_scale",
    "update_badges",
    "validate_history",
    "window_score",
]
