"""The flagging thresholds as optional model parameters (``platform.flag_*``, issue 12).

The thresholds live in the rule set (``RuleSet.flag_*``, ODD 7.1.6); the platform parameters
override them so sweeps and the sensitivity study can vary them. None keeps the rule set's value.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from mutmut_hits import cache_with_hits

from marketplace.model import MarketplaceModel, ModelParams, simulate
from marketplace.model.params import ParameterError, PlatformParams
from marketplace.scoring import RULE_SET_NAMES, get_rules
from marketplace.scoring.rules import RULE_FIELDS

TINY = {"n_freelancers": 40, "weeks": 10, "burn_in_weeks": 2}
SMALL = {"n_freelancers": 400, "weeks": 120, "burn_in_weeks": 20}
#: a value different from every era's for each threshold (all eras share 5, 0.6, 104, 5, 2.5)
OTHER = {"flag_min_contracts": 8, "flag_min_negative_share": 0.75, "flag_lookback_weeks": 52,
         "flag_min_ratings": 3, "flag_max_mean_rating": 2.0}


def test_the_overridable_fields_are_rule_set_fields():
    assert set(PlatformParams.FLAG_THRESHOLD_FIELDS) == set(OTHER)
    for name in PlatformParams.FLAG_THRESHOLD_FIELDS:
        assert name in RULE_FIELDS
        assert name in PlatformParams.model_fields


@pytest.mark.parametrize("era", RULE_SET_NAMES)
def test_none_leaves_the_rule_set_unchanged(era):
    params = ModelParams().with_overrides({**TINY, "rules": era})
    assert all(getattr(params.platform, n) is None for n in PlatformParams.FLAG_THRESHOLD_FIELDS)
    assert params.platform.rule_overrides() == {}
    assert MarketplaceModel(params, rng=1).rules == get_rules(era)


@pytest.mark.parametrize("name", sorted(OTHER))
def test_an_override_reaches_the_models_rules_and_nothing_else(name):
    params = ModelParams().with_overrides({**TINY, f"platform.{name}": OTHER[name]})
    rules = MarketplaceModel(params, rng=1).rules
    assert getattr(rules, name) == OTHER[name]
    assert getattr(get_rules("upwork-2023"), name) != OTHER[name]
    assert rules == dataclasses.replace(get_rules("upwork-2023"), **{name: OTHER[name]})


def test_overrides_combine_with_the_era_and_the_removal_perk():
    params = ModelParams().with_overrides({**TINY, "rules": "upwork-2024",
                                           "platform.removal_perk": True,
                                           **{f"platform.{k}": v for k, v in OTHER.items()}})
    rules = MarketplaceModel(params, rng=1).rules
    assert rules == dataclasses.replace(get_rules("upwork-2024"), removal_perk=True, **OTHER)


def test_the_analysis_layer_rebuilds_the_same_rules():
    """Metrics that reclassify contracts use the run's rule set, overrides included."""
    from marketplace.analysis.metrics import _rules_for

    params = ModelParams().with_overrides({f"platform.{k}": v for k, v in OTHER.items()})
    assert _rules_for(params) == MarketplaceModel(params.with_overrides(TINY), rng=1).rules
    as_dict = params.model_dump(mode="json", by_alias=True)  # as a manifest stores them
    assert _rules_for(as_dict) == _rules_for(params)
    assert _rules_for(ModelParams().model_dump(mode="json")) == get_rules("upwork-2023")
    # flagging switched off: the analysis must not rescore with flagging on
    off = params.with_overrides({"platform.flag_clients": False})
    assert not MarketplaceModel(off.with_overrides(TINY), rng=1).rules.client_flagging
    assert _rules_for(off) == MarketplaceModel(off.with_overrides(TINY), rng=1).rules
    assert _rules_for(off.model_dump(mode="json", by_alias=True)) == _rules_for(off)


@pytest.mark.parametrize(("path", "bad"), [
    ("platform.flag_min_contracts", 0), ("platform.flag_min_contracts", 2.5),
    ("platform.flag_min_negative_share", 1.2), ("platform.flag_min_negative_share", -0.1),
    ("platform.flag_lookback_weeks", 0), ("platform.flag_min_ratings", 0),
    ("platform.flag_max_mean_rating", 0.5), ("platform.flag_max_mean_rating", 5.5),
    ("platform.flag_min_contracts", True),
])
def test_bad_thresholds_are_refused_naming_the_field(path, bad):
    with pytest.raises(ParameterError, match=path.replace(".", r"\.")):
        ModelParams().with_overrides({path: bad})


def test_a_sensitivity_bound_outside_the_allowed_range_is_refused(tmp_path):
    """The config check (exit 2 in the CLI) names the sampled parameter and the bad bound."""
    from marketplace.runner.config import ConfigError, load_config

    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\nmodel: {n_freelancers: 50, weeks: 20, burn_in_weeks: 5}\n"
        "sweep:\n  sensitivity:\n    method: morris\n    trajectories: 2\n    parameters:\n"
        "      platform.flag_min_negative_share: [0.3, 1.5]\n"
        "      platform.flag_min_contracts: [3, 10]\n")
    with pytest.raises(ConfigError, match=r"platform\.flag_min_negative_share"):
        load_config(path)


@cache_with_hits  # functools.cache that mutmut sees through (tests/mutmut_hits.py)
def _flagged(overrides_json: str) -> int:
    overrides = {**SMALL, "clients.rater_mix.harsh": 0.3, **json.loads(overrides_json)}
    out = simulate(ModelParams().with_overrides(overrides), seed=1, snapshot_every_weeks=40)
    return int(out.clients.flagged.sum())


@pytest.mark.parametrize("stricter", [{"platform.flag_min_contracts": 12},
                                      {"platform.flag_lookback_weeks": 12}])
def test_a_stricter_threshold_flags_fewer_clients(stricter):
    default = _flagged("{}")
    assert default >= 8  # harsh raters are common: the default rules flag several
    assert _flagged(json.dumps(stricter)) < default


def test_a_looser_threshold_flags_more_clients():
    assert _flagged(json.dumps({"platform.flag_min_contracts": 2})) > _flagged("{}")


def test_a_stricter_rating_threshold_flags_fewer_poorly_rated_clients():
    """The freelancers'-rating criterion: clients rated about 2 stars are flagged at the
    default 2.5-star line, hardly any at 1.5 stars."""
    lenient = {"honest": 0.0, "lenient": 1.0, "harsh": 0.0, "dishonest": 0.0}
    base = {**SMALL, "clients.rater_mix": lenient, "platform.freelancer_rating_base": 2.0}
    default = simulate(ModelParams().with_overrides(base), seed=1, snapshot_every_weeks=40)
    strict = simulate(ModelParams().with_overrides(
        {**base, "platform.flag_max_mean_rating": 1.5}), seed=1, snapshot_every_weeks=40)
    assert default.clients.flagged.sum() >= 10
    assert strict.clients.flagged.sum() < default.clients.flagged.sum() / 2


def test_thresholds_do_nothing_when_flagging_is_switched_off():
    """With ``platform.flag_clients`` False no client is flagged, whatever the thresholds."""
    params = ModelParams().with_overrides({**SMALL, "clients.rater_mix.harsh": 0.3,
                                           "platform.flag_clients": False,
                                           "platform.flag_min_contracts": 1,
                                           "platform.flag_min_negative_share": 0.0})
    rules = MarketplaceModel(params.with_overrides(TINY), rng=1).rules
    assert not rules.client_flagging and rules.flag_min_contracts == 1
    out = simulate(params, seed=1, snapshot_every_weeks=40)
    assert not out.clients.flagged.any()
    assert (out.contracts.exclusion_reason == "flagged_client").sum() == 0


def test_the_sensitivity_study_varies_the_flagging_thresholds_around_the_rule_set():
    """Issue 12 asks the Morris study to cover the flagging thresholds; each range contains the
    rule set's value, so the study varies around what the default runs use."""
    from pathlib import Path

    from marketplace.runner.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "experiments" / "sensitivity.yaml")
    spec = cfg.sweep.sensitivity
    rules = get_rules(cfg.model["rules"])
    flags = {p: v for p, v in spec.parameters.items() if p.startswith("platform.flag_")}
    assert len(flags) >= 3
    for path, value in flags.items():
        low, high = getattr(value, "bounds", value)
        assert low < getattr(rules, path.removeprefix("platform.")) < high, path
