"""The parameter schema: defaults, documentation, validation messages, overrides."""

from __future__ import annotations

import pydantic
import pytest

from marketplace.model.params import ModelParams, ParameterError, field_metadata


def test_every_parameter_has_a_default_and_a_description_with_meaning():
    rows = field_metadata()
    assert len(rows) > 60
    for row in rows:
        assert row["description"], f"{row['path']} has no description"
    paths = {r["path"] for r in rows}
    for required in ("n_freelancers", "n_clients", "weeks", "burn_in_weeks", "rules",
                     "jss_update_weeks", "freelancers.chaser_share", "freelancers.pricing",
                     "freelancers.reputation_price_slope", "freelancers.quality.kind",
                     "clients.min_jss_mix.any", "clients.min_jss_mix.80",
                     "clients.min_jss_mix.90", "clients.min_jss_mix.95",
                     "clients.rater_mix.honest", "clients.rater_mix.lenient",
                     "clients.rater_mix.harsh", "clients.rater_mix.dishonest",
                     "clients.budget_shortfall_rate", "clients.utility.score_weight_slope",
                     "clients.utility.quality_signal_noise", "clients.utility.badge_weight",
                     "clients.utility.reviews_weight"):
        assert required in paths


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"n_freelancers": -5}, ["n_freelancers", "greater than or equal to 1"]),
        ({"n_clients": 0}, ["n_clients"]),
        ({"weeks": -1}, ["weeks"]),
        ({"clients.second_tab_prob": 1.5}, ["clients.second_tab_prob", "less than or equal to 1"]),
        ({"freelancers.chaser_share": -0.1}, ["freelancers.chaser_share"]),
        ({"clients.budget_shortfall_rate": 2}, ["clients.budget_shortfall_rate"]),
        ({"rules": "upwork-2032"}, ["rules", "upwork-2023", "upwork-2024"]),
        ({"clients.rater_mix": {"honest": 0.5, "lenient": 0.1, "harsh": 0.1, "dishonest": 0.1}},
         ["clients.rater_mix", "sum to 1"]),
        ({"freelancers.chase_action_mix": (0.5, 0.5, 0.5)}, ["freelancers.chase_action_mix"]),
        ({"burn_in_weeks": 300, "weeks": 100}, ["burn_in_weeks"]),
    ],
)
def test_bad_parameters_name_the_parameter_and_what_is_allowed(overrides, names):
    with pytest.raises(ParameterError) as err:
        ModelParams().with_overrides(overrides)
    for name in names:
        assert name in str(err.value)


def test_direct_construction_rejects_a_mix_that_does_not_sum_to_one():
    with pytest.raises(pydantic.ValidationError) as err:
        ModelParams(clients={"min_jss_mix": {"any": 0.5, "90": 0.2}})
    assert "clients.min_jss_mix" in str(err.value)
    assert "sum to 1" in str(err.value)


def test_with_overrides_renormalises_the_other_shares_proportionally():
    base = ModelParams()
    mix = base.clients.rater_mix.shares()
    new = base.with_overrides({"clients.rater_mix.dishonest": 0.2}).clients.rater_mix.shares()
    assert new["dishonest"] == pytest.approx(0.2)
    scale = (1 - 0.2) / (1 - mix["dishonest"])
    for key in ("honest", "lenient", "harsh"):
        assert new[key] == pytest.approx(mix[key] * scale)
    assert sum(new.values()) == pytest.approx(1.0)


def test_with_overrides_alias_keys_and_several_shares_of_one_mix():
    p = ModelParams().with_overrides({"clients.min_jss_mix.90": 0.6, "clients.min_jss_mix.95": 0.1})
    shares = p.clients.min_jss_mix.shares()
    assert shares["90"] == pytest.approx(0.6)
    assert shares["95"] == pytest.approx(0.1)
    assert shares["any"] / shares["80"] == pytest.approx(0.5 / 0.2)  # others keep their ratio
    assert sum(shares.values()) == pytest.approx(1.0)
    # the whole of a mix set to one value: the rest becomes zero
    only90 = ModelParams().with_overrides({"clients.min_jss_mix.90": 1.0}).clients.min_jss_mix
    assert only90.shares() == {"any": 0.0, "80": 0.0, "90": 1.0, "95": 0.0}


def test_with_overrides_rejects_shares_that_cannot_be_renormalised():
    with pytest.raises(ParameterError, match=r"clients.rater_mix.*sum"):
        ModelParams().with_overrides({"clients.rater_mix.honest": 0.7,
                                      "clients.rater_mix.harsh": 0.6})
    with pytest.raises(ParameterError, match=r"clients.rater_mix.harsh.*\[0, 1\]"):
        ModelParams().with_overrides({"clients.rater_mix.harsh": 1.2})


def test_unknown_path_gives_did_you_mean():
    with pytest.raises(ParameterError) as err:
        ModelParams().with_overrides({"clients.rater_mx.honest": 0.5})
    assert "clients.rater_mix.honest" in str(err.value)
    with pytest.raises(ParameterError, match="budget_shortfall_rate"):
        ModelParams().with_overrides({"clients.budget_shortfal_rate": 0.5})


def test_n_clients_defaults_to_a_share_of_freelancers():
    p = ModelParams(n_freelancers=1000)
    assert p.n_clients is None
    assert p.n_clients_effective == round(p.clients.per_freelancer * 1000)
    assert ModelParams(n_freelancers=1000, n_clients=7).n_clients_effective == 7


def test_output_docs_and_architecture_list_every_column():
    from pathlib import Path

    from marketplace.model.outputs import (
        CLIENT_COLUMNS,
        CONTRACT_COLUMNS,
        FREELANCER_COLUMNS,
        TIMESERIES_COLUMNS,
    )

    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "outputs.md").read_text()
    for cols in (CONTRACT_COLUMNS, FREELANCER_COLUMNS, CLIENT_COLUMNS, TIMESERIES_COLUMNS):
        for name in cols:
            assert f"`{name}`" in doc, name
    # the columns named by the interface contract are kept
    arch = (root / "docs" / "architecture.md").read_text()
    section = arch[arch.index("### Output tables"):arch.index("Added by the model")]
    for token in section.replace("`", " ").replace(",", " ").replace(":", " ").split():
        if token.islower() and "_" in token and token not in ("snapshot_every_weeks",):
            assert any(token in c for c in (CONTRACT_COLUMNS, FREELANCER_COLUMNS, CLIENT_COLUMNS,
                                            TIMESERIES_COLUMNS)), token


def test_odd_lists_every_parameter_with_its_current_default():
    import re
    from pathlib import Path

    odd = (Path(__file__).resolve().parents[1] / "docs" / "ODD.md").read_text()
    for row in field_metadata():
        d = row["default"]
        shown = (repr(d) if isinstance(d, str | tuple) or d is None
                 else f"{d:g}" if isinstance(d, float) else str(d))
        m = re.search(r"^\| `" + re.escape(row["path"]) + r"` \| ([^|]*) \|", odd, re.M)
        assert m, f"{row['path']} missing from docs/ODD.md"
        assert m.group(1).strip() == shown, f"{row['path']}: ODD says {m.group(1)}, schema {shown}"


def test_probability_fields_accept_only_0_to_1():
    """Every ``_probability`` field refuses values outside [0, 1]. The helper is also called
    here, at test time: mutation testing only reaches code a test runs (the parameter classes
    are built at import)."""
    from marketplace.model.params import _probability

    class Share(pydantic.BaseModel):
        value: float = _probability("A share. Unit: probability.", 0.5)

    for ok in (0.0, 1.0):
        assert Share(value=ok).value == ok
    for bad in (-0.01, 1.01):
        with pytest.raises(pydantic.ValidationError):
            Share(value=bad)
    for name in ("clients.dispute_prob", "clients.dishonest_threat_prob",
                 "freelancers.chase_accept_prob"):
        for bad in (-0.1, 1.5):
            with pytest.raises(ParameterError) as err:
                ModelParams().with_overrides({name: bad})
            assert name in str(err.value)


def test_parameter_descriptions_give_units_bounds_and_titles():
    """``marketplace params`` and figure titles read units, bounds and names from the schema."""
    from marketplace.model.describe import parameter_rows, parameter_title

    rows = {r["path"]: r for r in parameter_rows()}
    assert (rows["clients.dispute_prob"]["unit"], rows["clients.dispute_prob"]["bounds"]) == (
        "probability", "[0, 1]")
    assert rows["weeks"]["bounds"] == "[1, inf)"  # ge only
    assert rows["freelancers.price_median_usd"]["bounds"] == "(0, inf)"  # gt only
    assert rows["clients.rater_mix.harsh"]["unit"] == "share"  # a mix share without a Unit
    silence = rows["clients.silence"]  # a choice: no unit, its choices as bounds
    assert (silence["unit"], silence["type"]) == ("", "choice")
    assert silence["bounds"] == "'continuous' | 'binary'"
    assert [r["path"] for r in parameter_rows("clients.rater_mix.*")] == [
        f"clients.rater_mix.{t}" for t in ("honest", "lenient", "harsh", "dishonest")]
    assert parameter_title("clients.rater_mix.dishonest") == (
        "Clients' rater types: dishonest share")
    assert parameter_title("combo") == "combo"  # not a parameter: as given


def test_bad_parameter_error_shows_the_value_given():
    # the message names the value that was refused, not only the rule (mutation survivor, seed 21)
    with pytest.raises(ParameterError) as err:
        ModelParams().with_overrides({"clients.second_tab_prob": 1.5})
    assert "clients.second_tab_prob" in str(err.value)
    assert "(got 1.5)" in str(err.value)
