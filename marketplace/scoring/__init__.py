"""Job Success Score rules as pure, vectorized numpy/pandas functions (no Mesa).

See docs/architecture.md section 1 for the interface and docs/ODD.md section 7.1 for every rule,
its source and every assumption.
"""

from typing import Any

# Each public name and the submodule that defines it. The submodules are imported on first use:
# the model's parameter schema only needs the rule-set names, so `marketplace validate` and
# `list` load neither numpy nor pandas (the history reader alone costs about 0.6 s to import).
_EXPORTS: dict[str, str] = {
    "AlternativeScores": "alternatives",
    "SCORE_CHOICES": "alternatives",
    "alternative_scores": "alternatives",
    "average_ranks": "alternatives",
    "client_rating_weights": "alternatives",
    "client_reputation_scores": "alternatives",
    "score_history_alternatives": "alternatives",
    "to_jss_scale": "alternatives",
    "BadgeState": "badges",
    "large_contract_flags": "badges",
    "update_badges": "badges",
    "freelancer_fee_usd": "fees",
    "FlagCounts": "flagging",
    "contract_client_flagged": "flagging",
    "flag_clients": "flagging",
    "HistoryScore": "history",
    "HistoryValidationError": "history",
    "read_history": "history",
    "read_history_csv": "history",
    "score_history": "history",
    "validate_history": "history",
    "JSSResult": "jss",
    "job_success_scores": "jss",
    "window_score": "jss",
    "WindowSums": "jss_incremental",
    "END_REASONS": "outcomes",
    "EXCLUSION_REASONS": "outcomes",
    "OUTCOME_NAMES": "outcomes",
    "Outcome": "outcomes",
    "REASONS": "outcomes",
    "classify_outcomes": "outcomes",
    "feedback_class": "outcomes",
    "PerkState": "perk",
    "select_removals": "perk",
    "AlternativeRules": "rules",
    "DEFAULT_RULES": "rules",
    "ERAS": "rules",
    "RULE_FIELDS": "rules",
    "RULE_SET_NAMES": "rules",
    "RuleSet": "rules",
    "SCORE_NAMES": "rules",
    "WINDOW_NAMES": "rules",
    "get_rules": "rules",
    "contract_weights": "weights",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


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
    "FlagCounts",
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
