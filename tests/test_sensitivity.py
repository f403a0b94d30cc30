"""Global sensitivity analysis: the sweep.sensitivity design (sample sizes, bounds, seeds,
determinism across executors), its config errors, and the SALib analysis on functions with known
indices (Ishigami for Sobol, a linear function for Morris).

Markets are tiny: these tests check the design and the analysis code path, not the model.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from marketplace.analysis import sensitivity as SA
from marketplace.analysis.metrics import auc_se
from marketplace.cli import app
from marketplace.runner.config import ConfigError, ExperimentConfig
from marketplace.runner.run import run_experiment
from marketplace.runner.sensitivity_design import SensitivityDesign, sample_matrix

PARAMS = {
    "clients.utility.quality_signal_noise": [0.05, 5.0],
    "clients.private_bias": {"bounds": [0.0, 2.0], "distribution": "triang", "peak": 0.25},
    "clients.rater_mix.dishonest": [0.0, 0.2],
    "freelancers.capacity_max": [1, 8],
}


def cfg(sensitivity: dict, seed: int = 3, **model) -> ExperimentConfig:
    model = model or {"n_freelancers": 60, "weeks": 30, "burn_in_weeks": 10}
    return ExperimentConfig.from_dict(
        {"name": "t", "model": model, "sweep": {"sensitivity": sensitivity, "seed": seed}})


# ----------------------------------------------------------------------------- design


@pytest.mark.parametrize(("spec", "expected"), [
    ({"method": "morris", "trajectories": 5}, 5 * (4 + 1)),
    ({"method": "sobol", "base_samples": 16}, 16 * (4 + 2)),
    ({"method": "sobol", "base_samples": 8, "second_order": True}, 8 * (2 * 4 + 2)),
])
def test_sample_sizes(spec, expected):
    c = cfg({**spec, "parameters": PARAMS})
    assert len(c.points) == expected
    assert len(c.run_specs()) == expected
    assert c.sweep.sensitivity.n_points() == expected
    assert c.swept_paths() == list(PARAMS)


@pytest.mark.parametrize("spec", [{"method": "morris", "trajectories": 6},
                                  {"method": "sobol", "base_samples": 32}])
def test_bounds_respected_and_integers_rounded(spec):
    c = cfg({**spec, "parameters": PARAMS})
    df = pd.DataFrame(c.points)
    for path, bounds in PARAMS.items():
        low, high = bounds["bounds"] if isinstance(bounds, dict) else bounds
        assert df[path].min() >= low and df[path].max() <= high, path
        assert df[path].nunique() > 1, path  # a real sample, not a repeated point
    assert all(isinstance(v, int) for v in df["freelancers.capacity_max"])
    # the triangular distribution peaks at 0.25 of the width: its mean is (0 + 2 + 0.5) / 3
    if spec["method"] == "sobol":
        assert df["clients.private_bias"].mean() == pytest.approx(2.5 / 3, abs=0.15)


def test_morris_trajectories_move_one_parameter_at_a_time():
    c = cfg({"method": "morris", "trajectories": 4, "parameters": PARAMS})
    x = pd.DataFrame(c.points).to_numpy(float).reshape(4, len(PARAMS) + 1, len(PARAMS))
    changed = (np.diff(x, axis=1) != 0).sum(axis=2)
    assert (changed == 1).all()


def test_same_seed_same_sample_other_seed_other_sample():
    spec = {"method": "sobol", "base_samples": 8, "parameters": PARAMS}
    assert cfg(spec, seed=3).points == cfg(spec, seed=3).points
    assert cfg(spec, seed=4).points != cfg(spec, seed=3).points
    m = {"method": "morris", "trajectories": 4, "parameters": PARAMS}
    assert cfg(m, seed=3).points == cfg(m, seed=3).points
    assert cfg(m, seed=4).points != cfg(m, seed=3).points


TINY = {
    "name": "tiny_sensitivity",
    "model": {"n_freelancers": 150, "weeks": 40, "burn_in_weeks": 10},
    "sweep": {
        "sensitivity": {
            "method": "morris",
            "trajectories": 2,
            "parameters": {"clients.utility.quality_signal_noise": [0.05, 5.0],
                           "clients.private_bias": [0.0, 2.0]},
        },
        "replications": 1,
        "seed": 5,
    },
    "outputs": {"snapshot_every_weeks": 10, "model_tables": False},
    "analysis": ["sensitivity"],
}


def test_same_results_in_process_and_on_a_pool(tmp_path):
    c = ExperimentConfig.from_dict(TINY)
    one = run_experiment(c, tmp_path / "one", workers=1, quiet=True)
    two = run_experiment(c, tmp_path / "two", workers=2, quiet=True, report=False)
    assert one.ok and two.ok and one.n_runs == 2 * (2 + 1)
    a = pd.read_parquet(tmp_path / "one" / "summary.parquet")
    b = pd.read_parquet(tmp_path / "two" / "summary.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert a["clients.private_bias"].nunique() > 1
    # the report of a sensitivity design: indices table, its section and figure
    indices = pd.read_parquet(tmp_path / "one" / SA.SENSITIVITY_FILE)
    assert set(indices.columns) == set(SA.INDEX_COLUMNS)
    assert set(indices["index"]) == {"mu_star", "sigma", "mu"}
    text = (tmp_path / "one" / "report.md").read_text()
    assert "### What decides the answer" in text
    assert "Is 90 meaningful" in text
    assert (tmp_path / "one" / "figures" / "sensitivity_morris.png").is_file()


# ----------------------------------------------------------------------------- config errors


@pytest.mark.parametrize(("sensitivity", "field", "says"), [
    ({"method": "morris", "trajectories": 4,
      "parameters": {"clients.private_bias": [2.0, 0.0]}},
     "sweep.sensitivity.parameters.clients.private_bias", "bad bounds"),
    ({"method": "morris", "trajectories": 4,
      "parameters": {"clients.feedback_prob_happy": [0.2, 1.5]}},
     "sweep.sensitivity.parameters.clients.feedback_prob_happy", "bad bounds"),
    ({"method": "morris", "trajectories": 4,
      "parameters": {"clients.privat_bias": [0.0, 1.0]}},
     "sweep.sensitivity.parameters.clients.privat_bias", "did you mean 'clients.private_bias'"),
    ({"method": "morris", "trajectories": 1, "parameters": {"clients.private_bias": [0, 1]}},
     "sweep.sensitivity.trajectories", "too few samples"),
    ({"method": "sobol", "base_samples": 2, "parameters": {"clients.private_bias": [0, 1]}},
     "sweep.sensitivity.base_samples", "too few samples"),
    ({"method": "sobol", "base_samples": 100, "parameters": {"clients.private_bias": [0, 1]}},
     "sweep.sensitivity.base_samples", "power of 2"),
    ({"method": "morris", "trajectories": 4,
      "parameters": {"clients.rater_mix.dishonest": [0, 0.6], "clients.rater_mix.harsh": [0, 0.6]}},
     "sweep.sensitivity.parameters", "do not fit together"),
])
def test_config_errors_exit_2_name_the_field_write_nothing(tmp_path, sensitivity, field, says):
    raw = {**TINY, "sweep": {"sensitivity": sensitivity, "seed": 1}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert field in result.output and says in result.output, result.output
    assert not out.exists()


def test_sensitivity_is_not_combined_with_a_grid():
    raw = {**TINY, "sweep": {**TINY["sweep"], "grid": {"clients.dispute_prob": [0.1, 0.2]}}}
    with pytest.raises(ConfigError, match=r"sweep\.sensitivity: cannot be combined with grid"):
        ExperimentConfig.from_dict(raw)


# ----------------------------------------------------------------------------- analysis


def _summary(x: np.ndarray, names: list[str], y: np.ndarray, metric: str) -> pd.DataFrame:
    df = pd.DataFrame(x, columns=names)
    df.insert(0, "combination", np.arange(len(df)))
    df["run_id"] = [f"c{i}" for i in range(len(df))]
    df[metric] = y
    return df


def test_sobol_indices_of_ishigami_match_analytic_values_within_ci():
    from SALib.test_functions import Ishigami

    names = ["x1", "x2", "x3"]
    spec = SensitivityDesign(method="sobol", base_samples=1024,
                             parameters={n: (-math.pi, math.pi) for n in names}).spec()
    x = sample_matrix(SensitivityDesign.model_validate(spec), root_seed=11)
    summary = _summary(x, names, Ishigami.evaluate(x), "ishigami")
    res = SA.sensitivity_indices(summary, spec, metrics=["ishigami"], seed=11)
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    vt3 = 8 * b**2 * math.pi**8 / 225
    var = v1 + v2 + vt3
    analytic = {"S1": [v1 / var, v2 / var, 0.0], "ST": [(v1 + vt3) / var, v2 / var, vt3 / var]}
    for key, values in analytic.items():
        rows = res.indices.loc[res.indices["index"] == key].set_index("parameter")
        for name, value in zip(names, values, strict=True):
            row = rows.loc[name]
            assert row["ci_low"] <= value <= row["ci_high"], (key, name, row.to_dict(), value)
            assert row["conf"] < 0.1  # a real CI, not one wide enough to hold anything
    ranked = SA.ranking(res.indices, "ishigami")
    assert list(ranked["parameter"]) == ["x1", "x2", "x3"]


def test_morris_elementary_effects_are_per_full_range_and_signed():
    names = ["up", "down", "inert"]
    spec = SensitivityDesign(method="morris", trajectories=10,
                             parameters={"up": (0.0, 2.0), "down": (0.0, 1.0),
                                         "inert": (5.0, 9.0)}).spec()
    x = sample_matrix(SensitivityDesign.model_validate(spec), root_seed=2)
    y = 3.0 * x[:, 0] - 1.0 * x[:, 1]
    res = SA.sensitivity_indices(_summary(x, names, y, "linear"), spec, metrics=["linear"])
    mu = res.indices.loc[res.indices["index"] == "mu"].set_index("parameter")["value"]
    # slope x range: 3 x 2 = 6 for 'up', -1 x 1 for 'down', 0 for 'inert'
    assert mu["up"] == pytest.approx(6.0) and mu["down"] == pytest.approx(-1.0)
    assert mu["inert"] == pytest.approx(0.0)
    top = SA.deciding_parameters(res.indices, "linear")
    assert list(top["parameter"]) == ["up"]
    text = "\n".join(SA.report_lines(res, spec, 1))
    assert "raising it raises the metric" in text


def test_absent_headline_metrics_are_skipped_with_a_reason():
    spec = SensitivityDesign(method="morris", trajectories=3,
                             parameters={"a": (0.0, 1.0), "b": (0.0, 1.0)}).spec()
    x = sample_matrix(SensitivityDesign.model_validate(spec), root_seed=2)
    summary = _summary(x, ["a", "b"], x[:, 0], "spearman_jss_quality")
    res = SA.sensitivity_indices(summary, spec)
    assert set(res.indices["metric"]) == {"spearman_jss_quality"}
    assert "not in this summary" in res.skipped["chaser_jss_premium"]
    assert set(res.skipped) == set(SA.HEADLINE_METRICS) - {"spearman_jss_quality"}


def test_incomplete_trajectories_are_dropped_not_imputed():
    spec = SensitivityDesign(method="morris", trajectories=4,
                             parameters={"a": (0.0, 1.0), "b": (0.0, 1.0)}).spec()
    x = sample_matrix(SensitivityDesign.model_validate(spec), root_seed=2)
    y = 2.0 * x[:, 0]
    y[4] = np.nan  # a failed run in the second trajectory
    res = SA.sensitivity_indices(_summary(x, ["a", "b"], y, "m"), spec, metrics=["m"])
    assert set(res.indices["n_points"]) == {3 * 3}


# ----------------------------------------------------------------------------- robustness


def test_robustness_share_and_the_region_where_it_fails():
    rng = np.random.default_rng(0)
    n = 90
    noise = rng.uniform(0, 5, n)
    other = rng.uniform(0, 1, n)
    est = np.where(noise < 2.5, 0.65, 0.5)  # informative only when the private read is sharp
    summary = pd.DataFrame({"combination": np.arange(n), "run_id": [f"c{i}" for i in range(n)],
                            "clients.utility.quality_signal_noise": noise,
                            "clients.private_bias": other,
                            "p_above_beats_below_90": est,
                            "p_above_beats_below_90_se": np.full(n, 0.03)})
    rob = SA.robustness(summary, ["clients.utility.quality_signal_noise", "clients.private_bias"])
    assert rob.share_robust == pytest.approx(np.mean(noise < 2.5))
    assert rob.regions["parameter"].iloc[0] == "clients.utility.quality_signal_noise"
    assert rob.regions["share_robust_lower_third"].iloc[0] == 1.0
    assert rob.regions["share_robust_upper_third"].iloc[0] == 0.0
    text = SA.robustness_sentences(rob)
    assert "Standard deviation of the private read of true quality" in text


def test_auc_standard_error_under_the_null_is_the_mann_whitney_one():
    n1, n2 = 40, 25
    assert auc_se(0.5, n1, n2) == pytest.approx(math.sqrt((n1 + n2 + 1) / (12 * n1 * n2)))
    assert auc_se(0.9, n1, n2) < auc_se(0.5, n1, n2)
    assert math.isnan(auc_se(math.nan, n1, n2))


def test_parameter_labels_are_words_from_the_schema():
    assert SA.parameter_label("clients.utility.quality_signal_noise") == (
        "Standard deviation of the private read of true quality")
    assert SA.parameter_label("clients.min_jss_mix.90") == (
        "Share of clients' preferred minimum JSS: 90")
    assert SA.parameter_label("x1") == "x1"


def test_the_canonical_experiments_validate():
    root = Path(__file__).resolve().parents[1] / "experiments"
    from marketplace.runner.config import load_config

    morris = load_config(root / "sensitivity.yaml")
    spec = morris.sweep.sensitivity
    assert spec.method == "morris" and spec.trajectories >= 20 and len(spec.parameters) >= 14
    sobol = load_config(root / "sensitivity_sobol.yaml")
    assert sobol.sweep.sensitivity.method == "sobol"
