"""Experiment configs: every bad config exits 2 through the CLI, names the field path and what is
allowed, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from marketplace.cli import app
from marketplace.model.params import ModelParams
from marketplace.runner.config import ConfigError, ExperimentConfig, apply_set, load_config

GOOD = {
    "name": "ok",
    "description": "A small valid experiment.",
    "model": {"n_freelancers": 40, "weeks": 30, "burn_in_weeks": 10},
    "sweep": {"grid": {"clients.rater_mix.dishonest": [0.0, 0.2]}, "replications": 2, "seed": 3},
}

# (what is wrong, config, expected text in the message: field path, hint)
BAD = [
    ("unknown top-level key", {**GOOD, "modle": {}}, ["modle", "did you mean 'model'"]),
    (
        "unknown model parameter",
        {**GOOD, "model": {"n_freelancer": 40}},
        ["model.n_freelancer", "did you mean 'n_freelancers'"],
    ),
    (
        "unknown nested parameter",
        {**GOOD, "model": {"clients": {"rater_mx": {"dishonest": 0.1}}}},
        ["model.clients.rater_mx", "did you mean 'rater_mix'"],
    ),
    (
        "model parameter at top level",
        {**GOOD, "weeks": 30},
        ["weeks", "did you mean 'model.weeks'"],
    ),
    (
        "wrong type",
        {**GOOD, "model": {"n_freelancers": "many"}},
        ["model.n_freelancers", "valid integer", "'many'"],
    ),
    (
        "wrong type in the runner's own block",
        {**GOOD, "outputs": {"contracts": "sometimes"}},
        ["outputs.contracts", "valid boolean"],
    ),
    (
        "out of range",
        {**GOOD, "model": {"weeks": 0}},
        ["model.weeks", "greater than or equal to 1"],
    ),
    (
        "swept value out of range",
        {**GOOD, "sweep": {"grid": {"clients.rater_mix.dishonest": [0.1, 1.5]}}},
        ["sweep.grid.clients.rater_mix.dishonest[1]", "1.5", "[0, 1]"],
    ),
    (
        "swept value not in a closed set",
        {**GOOD, "sweep": {"grid": {"rules": ["upwork-2099"]}}},
        ["sweep.grid.rules[0]", "upwork-2099", "allowed"],
    ),
    (
        "sweep over unknown parameter",
        {**GOOD, "sweep": {"grid": {"clients.rater_mix.dishonst": [0.1]}}},
        ["sweep.grid.clients.rater_mix.dishonst", "did you mean 'clients.rater_mix.dishonest'"],
    ),
    (
        "sweep over a parameter by its last name only",
        {**GOOD, "sweep": {"zip": {"dishonest": [0.1]}}},
        ["sweep.zip.dishonest", "did you mean 'clients.rater_mix.dishonest'"],
    ),
    (
        "empty sweep list",
        {**GOOD, "sweep": {"grid": {"clients.rater_mix.dishonest": []}}},
        ["sweep.grid.clients.rater_mix.dishonest", "empty list"],
    ),
    (
        "zip lists of different lengths",
        {**GOOD, "sweep": {"zip": {"n_freelancers": [40, 50], "clients.rater_mix.harsh": [0.1]}}},
        ["sweep.zip", "equal lengths"],
    ),
    (
        "zero replications",
        {**GOOD, "sweep": {"replications": 0}},
        ["sweep.replications", "greater than or equal to 1"],
    ),
    (
        "sobol size not a power of two",
        {**GOOD, "sweep": {"sobol": {"n": 6, "ranges": {"clients.rater_mix.harsh": [0, 0.3]}}}},
        ["sweep.sobol.n", "power of 2", "use 4 or 8"],
    ),
    (
        "sampling a non-numeric parameter",
        {**GOOD, "sweep": {"latin_hypercube": {"n": 4, "ranges": {"rules": [0, 1]}}}},
        ["sweep.latin_hypercube.ranges.rules", "only numeric", "grid"],
    ),
    (
        "sampled range outside the schema's bounds",
        {**GOOD, "sweep": {"latin_hypercube": {"n": 4, "ranges": {"weeks": [-5, 40]}}}},
        ["sweep.latin_hypercube.ranges.weeks", "-5"],
    ),
    ("missing name", {k: v for k, v in GOOD.items() if k != "name"}, ["name", "Field required"]),
    # issue 17: combinations, non-finite numbers, booleans
    (
        "swept shares valid alone but not together",
        {
            **GOOD,
            "sweep": {
                "grid": {"clients.rater_mix.dishonest": [0.6], "clients.rater_mix.lenient": [0.6]}
            },
        },
        ["clients.rater_mix.dishonest=0.6", "clients.rater_mix.lenient=0.6", "1.2 > 1"],
    ),
    (
        "zipped burn-in not below zipped weeks",
        {**GOOD, "sweep": {"zip": {"weeks": [30, 40], "burn_in_weeks": [35, 10]}}},
        ["weeks=30", "burn_in_weeks=35", "must be smaller than weeks"],
    ),
    (
        "infinite model value",
        {**GOOD, "model": {"clients": {"job_value_median_usd": float("inf")}}},
        ["model.clients.job_value_median_usd", "finite number"],
    ),
    (
        "infinite swept value",
        {**GOOD, "sweep": {"grid": {"clients.job_value_median_usd": [100.0, float("inf")]}}},
        ["sweep.grid.clients.job_value_median_usd[1]", "finite number"],
    ),
    (
        "infinite sampled bound",
        {**GOOD, "sweep": {"latin_hypercube": {"n": 4, "ranges": {"weeks": [30, float("inf")]}}}},
        ["sweep.latin_hypercube.ranges", "finite number"],
    ),
    (
        "boolean as a model number",
        {**GOOD, "model": {"n_freelancers": True}},
        ["model.n_freelancers", "not a boolean"],
    ),
    (
        "boolean as replications",
        {**GOOD, "sweep": {"replications": True}},
        ["sweep.replications", "not a boolean"],
    ),
    (
        "boolean as a mix share",
        {**GOOD, "model": {"clients.rater_mix.dishonest": True}},
        ["clients.rater_mix.dishonest", "True"],
    ),
]


def write(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_good_config_resolves_model_block_and_plan(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    params = cfg.base_params()
    assert (params.n_freelancers, params.weeks, params.burn_in_weeks) == (40, 30, 10)
    assert cfg.swept_paths() == ["clients.rater_mix.dishonest"]
    assert len(cfg.run_specs()) == 4
    resolved = cfg.resolved()
    assert resolved["model_params"]["n_freelancers"] == 40
    default_honest = ModelParams().clients.rater_mix.honest
    assert resolved["model_params"]["clients"]["rater_mix"]["honest"] == default_honest


def test_model_block_accepts_dotted_keys_and_renormalises_mixes(tmp_path):
    cfg = load_config(write(tmp_path, {**GOOD, "model": {"clients.rater_mix.dishonest": 0.25}}))
    mix = cfg.base_params().clients.rater_mix.shares()
    assert mix["dishonest"] == pytest.approx(0.25)
    assert sum(mix.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(("case", "raw", "expected"), BAD, ids=[b[0] for b in BAD])
def test_bad_config_exits_2_names_path_and_writes_nothing(tmp_path, case, raw, expected):
    config = write(tmp_path, raw)
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 2, result.output
    message = result.output
    for text in expected:
        assert text in message, f"{text!r} not in:\n{message}"
    assert not out.exists()
    # the Python API raises the same problems
    with pytest.raises(ConfigError):
        ExperimentConfig.from_dict(yaml.safe_load(config.read_text()))


def test_validate_reports_every_problem_at_once(tmp_path):
    raw = {**GOOD, "model": {"n_freelancer": 40, "weeks": 0}, "sweep": {"replications": 1}}
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 2
    assert "model.n_freelancer" in result.output
    assert "model.weeks" in result.output


def test_model_errors_are_reported_with_top_level_errors_and_hint_the_section(tmp_path):
    # a misplaced sweep key and two model errors: one message lists all three
    raw = {**GOOD, "replications": 3,
           "model": {"n_freelancers": 40, "weeks": 20, "burn_in_weeks": 50,
                     "clients.rater_mix.dishonest": 1.5}}
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 2
    assert "did you mean 'sweep.replications'" in result.output
    assert "burn_in_weeks" in result.output
    assert "clients.rater_mix.dishonest" in result.output


@pytest.mark.parametrize("spelling", ["90", "jss90"])
def test_a_mix_share_has_one_meaning_under_both_spellings(tmp_path, spelling):
    raw = {**GOOD, "model": {f"clients.min_jss_mix.{spelling}": 0.6},
           "sweep": {"grid": {f"clients.min_jss_mix.{spelling}": [0.5, 0.6]}}}
    cfg = load_config(write(tmp_path, raw))
    assert cfg.base_params().clients.min_jss_mix.shares()["90"] == pytest.approx(0.6)
    assert cfg.swept_paths() == ["clients.min_jss_mix.90"]
    # printed the way configs spell it
    assert "90=0.6" in str(cfg.base_params().clients.min_jss_mix)


def test_validate_good_config_prints_plan(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    assert "runs:          4" in result.output
    assert "clients.rater_mix.dishonest" in result.output


def test_set_overrides_model_and_sweep(tmp_path):
    config = write(tmp_path, GOOD)
    cfg = load_config(
        config,
        [
            "model.weeks=40",
            "sweep.grid.clients.rater_mix.dishonest=[0.0, 0.1, 0.3]",
            "sweep.replications=1",
            "outputs.contracts=true",
        ],
    )
    assert cfg.base_params().weeks == 40
    assert [p["clients.rater_mix.dishonest"] for p in cfg.points] == [0.0, 0.1, 0.3]
    assert cfg.outputs.contracts is True
    assert len(cfg.run_specs()) == 3


def test_bad_set_exits_2(tmp_path):
    config = write(tmp_path, GOOD)
    out = tmp_path / "results"
    for bad, text in [("model.weeks", "PATH=VALUE"), ("model.wekks=3", "model.wekks")]:
        result = CliRunner().invoke(app, ["run", str(config), "--set", bad, "--out", str(out)])
        assert result.exit_code == 2, result.output
        assert text in result.output
    assert not out.exists()


def test_apply_set_keeps_dotted_parameter_paths_whole():
    raw: dict = {"sweep": {"grid": {}}}
    apply_set(raw, "sweep.grid.clients.rater_mix.dishonest=[0, 0.5]")
    assert raw["sweep"]["grid"] == {"clients.rater_mix.dishonest": [0, 0.5]}


def test_missing_or_unparsable_file_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "not found" in result.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = CliRunner().invoke(app, ["validate", str(broken)])
    assert result.exit_code == 2 and "YAML" in result.output


def test_config_hash_ignores_description_but_not_parameters(tmp_path):
    a = ExperimentConfig.from_dict(GOOD)
    b = ExperimentConfig.from_dict({**GOOD, "description": "other words"})
    c = ExperimentConfig.from_dict({**GOOD, "model": {**GOOD["model"], "weeks": 31}})
    assert a.config_hash() == b.config_hash() != c.config_hash()


def test_list_shows_experiments_with_descriptions(tmp_path):
    write(tmp_path, GOOD, "ok.yaml")
    write(tmp_path, {**GOOD, "name": "bad", "modle": {}}, "bad.yaml")
    result = CliRunner().invoke(app, ["list", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok.yaml" in result.output and "A small valid experiment." in result.output
    assert "bad.yaml" in result.output and "invalid" in result.output


def test_shipped_experiments_are_valid():
    root = Path(__file__).resolve().parents[1] / "experiments"
    configs = sorted(root.glob("*.yaml"))
    assert any(p.name == "quickstart.yaml" for p in configs)
    for path in configs:
        load_config(path)


def test_experiment_name_as_analysis_preset_expands_to_its_sections(tmp_path):
    from marketplace.analysis.report import ANALYSES, expand_analyses

    cfg = load_config(write(tmp_path, {**GOOD, "analysis": ["threshold_validity"]}))
    assert cfg.analysis == ["threshold_validity"]
    sections = expand_analyses(cfg.analysis)
    assert "validity" in sections and "threshold" in sections
    assert all(s in ANALYSES for s in sections)
    # a preset followed by one of its own sections does not repeat it
    assert expand_analyses(["refund_chasing", "bunching"]).count("bunching") == 1
    with pytest.raises(ConfigError, match="analysis"):
        load_config(write(tmp_path, {**GOOD, "analysis": ["threshold_validty"]}, "bad.yaml"))


def test_yaml_1e400_is_infinite_and_rejected(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: big\nmodel:\n  clients:\n    job_value_median_usd: 1e400\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert "model.clients.job_value_median_usd" in result.output
    assert "finite" in result.output


def test_duplicate_yaml_key_is_refused_with_both_lines(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("name: dup\nmodel:\n  weeks: 30\n  burn_in_weeks: 10\n  weeks: 40\n")
    out = tmp_path / "results"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 2, result.output
    assert "duplicate key 'weeks'" in result.output
    assert "lines 3 and 5" in result.output
    assert not out.exists()


def test_million_combination_grid_validates_without_building_the_grid(tmp_path):
    """A 10^6 grid (six unrelated parameters of 10 values each) is checked as combinations of
    related parameters only; the grid itself is never materialised."""
    import tracemalloc

    tens = lambda start, step: [start + i * step for i in range(10)]  # noqa: E731
    raw = {
        **GOOD,
        "sweep": {
            "grid": {
                "n_freelancers": tens(10, 10),
                "weeks": tens(30, 1),
                "burn_in_weeks": tens(1, 1),
                "clients.job_value_median_usd": tens(100, 100),
                "clients.rater_mix.dishonest": tens(0.0, 0.05),
                "clients.rater_mix.lenient": tens(0.0, 0.05),
            }
        },
    }
    tracemalloc.start()
    cfg = load_config(write(tmp_path, raw))
    assert cfg.n_combinations == 10**6
    first = next(cfg.iter_run_specs())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert first.run_id == "c000000-r00"
    assert peak < 30e6, f"validating a 10^6 grid used {peak / 1e6:.0f} MB"
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output
    assert "combinations:  1000000" in result.output


def test_validate_shows_mix_shares_after_rescaling(tmp_path):
    raw = {**GOOD, "model": {**GOOD["model"], "clients.min_jss_mix.90": 0.6}}
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output
    assert "clients.min_jss_mix: any=0.2857, 80=0.1143, 90=0.6, 95=0" in result.output
    assert "clients.rater_mix.dishonest=0.2 -> honest=0.6821" in result.output


def test_swept_values_valid_together_are_not_refused_one_at_a_time(tmp_path):
    raw = {**GOOD, "sweep": {"zip": {"weeks": [30, 40], "burn_in_weeks": [10, 35]}}}
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 0, result.output


def test_a_bad_field_does_not_invent_a_burn_in_clash_with_the_defaults(tmp_path):
    # weeks 100 with burn-in 50 is fine together; checked alone against the default burn-in it
    # would clash, and the old per-key check reported that clash as a second, false problem
    raw = {**GOOD, "model": {"n_freelancers": 40, "weeks": 100, "burn_in_weeks": 50,
                             "clients.rater_mix.dishonest": 1.5}}
    result = CliRunner().invoke(app, ["validate", str(write(tmp_path, raw))])
    assert result.exit_code == 2
    assert "clients.rater_mix.dishonest" in result.output
    assert "burn_in_weeks" not in result.output, result.output
