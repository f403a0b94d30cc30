"""`marketplace calibrate` (issue 13): config checks, recovery of a known parameter on a synthetic
objective, common random numbers, resume, a tiny real market; the Top Rated Plus bar switch."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from marketplace.cli import app
from marketplace.model import ModelParams, simulate
from marketplace.runner.calibrate import (
    CalibrationError,
    calibrate,
    load_calibration_config,
    parse_calibration_config,
)
from marketplace.runner.config import ConfigError
from marketplace.runner.store import StoreError

GOOD = {
    "name": "toy",
    "model": {"n_freelancers": 200, "weeks": 40, "burn_in_weeks": 10},
    "parameters": {"clients.public_slope": [0.0, 40.0]},
    "facts": {"share_five_star": 1.0},
    "replications": 3,
    "seed": 11,
    "budget": {"lhs_points": 6, "local_evaluations": 25},
}
TRUE_SLOPE = 25.0


class Toy:
    """share_five_star = 0.85 + (slope - 25) / 200 + a seed-dependent shift: the facts file's
    target 0.85 is reached at slope 25 whatever the shift (with common seeds at every point)."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, int]] = []

    def __call__(self, point, seed):
        slope = point["clients.public_slope"]
        self.calls.append((slope, seed))
        shift = (seed % 1000) / 1000 * 0.02 - 0.01
        return {"share_five_star": 0.85 + (slope - TRUE_SLOPE) / 200 + shift}


def _write(tmp_path, cfg, name="cal.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_calibrate_recovers_a_known_parameter_and_writes_its_outputs(tmp_path):
    cfg = parse_calibration_config(GOOD)
    toy = Toy()
    result = calibrate(cfg, tmp_path / "out", evaluator=toy)
    # common random numbers: every point saw the same replication seeds
    seeds_by_point: dict[float, set[int]] = {}
    for slope, seed in toy.calls:
        seeds_by_point.setdefault(slope, set()).add(seed)
    assert all(s == set(cfg.run_seeds()) for s in seeds_by_point.values())
    # the shifts average out over the 3 common seeds to a constant: the fit is near 25
    mean_shift = np.mean([(s % 1000) / 1000 * 0.02 - 0.01 for s in cfg.run_seeds()])
    expected = TRUE_SLOPE - 200 * mean_shift
    assert result.fitted["clients.public_slope"] == pytest.approx(expected, abs=0.5)
    out = tmp_path / "out"
    fitted = yaml.safe_load((out / "fitted.yaml").read_text())
    assert fitted["model"]["clients.public_slope"] == result.fitted["clients.public_slope"]
    fit = pd.read_parquet(out / "fit.parquet")
    assert list(fit["metric"]) == ["share_five_star"]
    assert fit.loc[0, "fitted"] == pytest.approx(0.85, abs=0.003)
    # 3 replications: below the 5 runs a CI needs (analysis.aggregate.MIN_CI_RUNS), so no CI
    assert np.isnan(fit.loc[0, "ci_low"]) and np.isnan(fit.loc[0, "ci_high"])
    assert fit.loc[0, "verdict"] == "inside"
    ev = pd.read_parquet(out / "evaluations.parquet")
    assert set(ev["stage"]) == {"lhs", "local"} and (ev["stage"] == "lhs").sum() == 6
    assert (out / "figures" / "calibration.png").is_file()
    assert "share_five_star" in (out / "fit.md").read_text()


def test_resume_reuses_every_cached_run_and_refuses_other_configs(tmp_path):
    cfg = parse_calibration_config({**GOOD, "budget": {"lhs_points": 3, "local_evaluations": 4}})
    first = calibrate(cfg, tmp_path / "out", evaluator=Toy())
    again = Toy()
    second = calibrate(cfg, tmp_path / "out", resume=True, evaluator=again)
    assert again.calls == []  # nothing re-run
    assert second.fitted == first.fitted and second.objective == first.objective
    with pytest.raises(StoreError, match="--resume"):
        calibrate(cfg, tmp_path / "out", evaluator=Toy())
    other = parse_calibration_config({**GOOD, "seed": 12})
    with pytest.raises(StoreError, match="different config"):
        calibrate(other, tmp_path / "out", resume=True, evaluator=Toy())
    # a cut last line (killed while writing) is ignored and that run is redone
    path = tmp_path / "out" / "evaluations.jsonl"
    path.write_text(path.read_text() + '{"key": "cut')
    third = Toy()
    calibrate(cfg, tmp_path / "out", resume=True, evaluator=third)
    assert third.calls == []


def test_a_failing_run_is_reported_and_the_finished_ones_are_kept(tmp_path):
    cfg = parse_calibration_config({**GOOD, "budget": {"lhs_points": 2, "local_evaluations": 0}})
    calls = []

    def flaky(point, seed):
        calls.append(seed)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return {"share_five_star": 0.8}

    with pytest.raises(CalibrationError, match="boom"):
        calibrate(cfg, tmp_path / "out", evaluator=flaky)
    lines = (tmp_path / "out" / "evaluations.jsonl").read_text().splitlines()
    assert len(lines) == 5  # 2 points x 3 replications, one failed
    # resume runs only the failed one
    again = Toy()
    calibrate(cfg, tmp_path / "out", resume=True, evaluator=again)
    assert len(again.calls) == 1


@pytest.mark.parametrize("change, field", [
    ({"parameters": {"clients.public_slop": [0, 1]}}, "parameters.clients.public_slop"),
    ({"parameters": {"clients.public_slope": [5, 1]}}, "parameters.clients.public_slope"),
    ({"parameters": {"rules": [0, 1]}}, "parameters.rules"),
    ({"facts": {"share_fiv_star": 1}}, "facts.share_fiv_star"),
    ({"facts": {"share_five_star": 0}}, "facts.share_five_star"),
    ({"replications": 0}, "replications"),
    ({"budget": {"lhs_points": 0}}, "budget.lhs_points"),
    ({"model": {"n_freelancers": -5}}, "model"),
    ({"colour": "red"}, "colour"),
    ({"objective": "closest"}, "objective"),
])
def test_bad_config_exits_2_naming_the_field(tmp_path, change, field):
    path = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(ConfigError) as err:
        load_calibration_config(path)
    assert field in str(err.value)
    res = CliRunner().invoke(app, ["calibrate", str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and field in res.output
    assert not (tmp_path / "o").exists()


def test_set_overrides_reach_the_config(tmp_path):
    path = _write(tmp_path, GOOD)
    cfg = load_calibration_config(path, ["replications=2", "model.n_freelancers=300",
                                         "parameters.clients.rehire_prob=[0.1, 0.4]"])
    assert cfg.replications == 2 and cfg.model["n_freelancers"] == 300
    assert cfg.parameters["clients.rehire_prob"] == (0.1, 0.4)


def test_calibrate_command_on_a_tiny_market(tmp_path):
    cfg = {**GOOD, "parameters": {"clients.public_slope": [10.0, 20.0],
                                  "clients.rehire_prob": [0.1, 0.5]},
           "facts": {"share_five_star": 1.0, "hire_rate": 1.0},
           "replications": 1, "budget": {"lhs_points": 2, "local_evaluations": 0}}
    path = _write(tmp_path, cfg)
    res = CliRunner().invoke(app, ["calibrate", str(path), "--out", str(tmp_path / "o"),
                                   "--workers", "1"])
    assert res.exit_code == 0, res.output
    fit = pd.read_parquet(tmp_path / "o" / "fit.parquet")
    assert set(fit["metric"]) == {"share_five_star", "hire_rate"}
    assert fit["fitted"].map(math.isfinite).all()
    fitted = yaml.safe_load((tmp_path / "o" / "fitted.yaml").read_text())["model"]
    assert 10 <= fitted["clients.public_slope"] <= 20


# ----------------------------------------------------------------------------- Top Rated Plus bar


def _plus_share(overrides):
    params = ModelParams(n_freelancers=1500, weeks=200, burn_in_weeks=60).with_overrides(
        overrides)
    final = simulate(params, seed=4, keep_contracts=False).final_freelancers
    return final, float(final.loc[final.active, "top_rated_plus"].mean())


def test_top_rated_plus_bar_by_category_and_single():
    single, plus_single = _plus_share({"platform.top_rated_plus_bar": "single"})
    # every category at the rule set's $10,000 bar is the single bar: identical runs
    same, _ = _plus_share({"platform.large_contract_bar_mix.10000": 1.0})
    pd.testing.assert_frame_equal(single, same)
    assert plus_single > 0  # the market has Top Rated Plus freelancers at all
    _, plus_low = _plus_share({"platform.large_contract_bar_mix.5000": 1.0})
    _, plus_high = _plus_share({"platform.large_contract_bar_mix.30000": 1.0})
    assert plus_high < plus_single <= plus_low
    assert ModelParams().platform.top_rated_plus_bar == "by_category"


def test_range_objective_costs_only_the_distance_outside_the_range_plus_a_small_pull():
    from marketplace.analysis.facts import RANGE_TARGET_PULL, checks_by_metric, objective

    _, check = checks_by_metric()["proposals_per_job"]  # range 20-50, target 30
    weights = {"proposals_per_job": 1.0}
    inside = objective({"proposals_per_job": check.low + 1}, weights, kind="range")
    assert inside == pytest.approx(
        RANGE_TARGET_PULL * ((check.low + 1 - check.target) / check.scale) ** 2)
    # inside the range, a point nearer the edge costs less than under the target objective
    assert inside < objective({"proposals_per_job": check.low + 1}, weights)
    below = objective({"proposals_per_job": check.low - 3}, weights, kind="range")
    assert below == pytest.approx((3 / check.scale) ** 2 + RANGE_TARGET_PULL
                                  * ((check.low - 3 - check.target) / check.scale) ** 2)
    # a point just outside costs more than one just inside, although it is nearer no target
    _, hires = checks_by_metric()["hires_per_proposal_excl_rehires"]  # 0.01-0.05, target 0.02
    assert hires.low < 0.0105 < hires.target and hires.target > 0.0115
    w2 = {"proposals_per_job": 1.0, "hires_per_proposal_excl_rehires": 1.0}
    edge_in = {"proposals_per_job": 21.0, "hires_per_proposal_excl_rehires": 0.0105}
    edge_out = {"proposals_per_job": 19.0, "hires_per_proposal_excl_rehires": 0.0115}
    assert objective(edge_in, w2, kind="range") < objective(edge_out, w2, kind="range")
    with pytest.raises(ValueError, match="objective"):
        objective(edge_in, w2, kind="closest")


def test_the_objective_is_in_the_hash_only_when_it_is_not_the_default():
    target = parse_calibration_config(GOOD)
    explicit = parse_calibration_config({**GOOD, "objective": "target"})
    ranged = parse_calibration_config({**GOOD, "objective": "range"})
    assert target.config_hash() == explicit.config_hash() != ranged.config_hash()
    assert ranged.objective == "range"
