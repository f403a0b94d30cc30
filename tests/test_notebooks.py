"""Every notebook runs: executed with papermill on a small fresh results folder and on the
committed results, and the committed notebooks are the generator's cells with clean outputs.

A failing cell raises papermill's PapermillExecutionError (the cell and its traceback), which
fails the test. The kernel is the venv's "python3", installed by `make setup`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "python3"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses need the module registered
    spec.loader.exec_module(module)
    return module


generator = _script("make_notebooks")
executor = _script("execute_notebooks")
EXPERIMENTS = generator.EXPERIMENTS
GETTING_STARTED = "00_getting_started.ipynb"


def _execute(notebook: str, out: Path, parameters: dict | None = None) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel started in notebooks/ (as Jupyter does)."""
    pm.execute_notebook(str(NOTEBOOKS / notebook), str(out), parameters=parameters or {},
                        kernel_name=KERNEL, cwd=str(NOTEBOOKS), progress_bar=False,
                        execution_timeout=900)
    return nbformat.read(out, as_version=4)


def _outputs(nb: nbformat.NotebookNode) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in _outputs(nb))


def _report_figures(results_dir: Path) -> set[str]:
    return {p.stem for p in (results_dir / "figures").glob("*.png")}


def _text(nb: nbformat.NotebookNode) -> str:
    parts = []
    for o in _outputs(nb):
        parts.append(o.get("text", ""))
        data = o.get("data", {})
        parts += [data.get("text/plain", ""), data.get("text/markdown", ""),
                  data.get("text/html", "")]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- execution


@pytest.mark.timeout(300)
def test_getting_started_runs(tmp_path):
    nb = _execute(GETTING_STARTED, tmp_path / GETTING_STARTED, {
        "n_freelancers": 400, "weeks": 110, "burn_in_weeks": 60,
        "experiment_freelancers": 300, "experiment_weeks": 100, "experiment_burn_in_weeks": 52,
        "replications": 2, "scratch_dir": str(tmp_path / "scratch"),
    })
    text = _text(nb)
    assert "4 of 4 runs finished, 0 failed" in text
    assert (tmp_path / "scratch" / "getting_started.yaml").is_file()
    assert (tmp_path / "scratch" / "results" / "summary.parquet").is_file()
    assert _images(nb) == 2


@pytest.mark.timeout(300)
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.name)
def test_experiment_notebook_on_fresh_results(experiment, small_results, tmp_path):
    nb = _execute(experiment.filename, tmp_path / experiment.filename,
                  {"results_dir": str(small_results)})
    # every figure of the report is shown, and every key number with its label
    assert _images(nb) == len(_report_figures(small_results)) > 0
    text = _text(nb)
    for stem in _report_figures(small_results):
        assert f"**{stem}**" in text
    from marketplace.analysis.metrics import METRIC_INFO

    for metric in experiment.key_metrics:
        assert METRIC_INFO[metric][0] in text


@pytest.mark.timeout(300)
def test_sensitivity_notebook_on_fresh_results(tmp_path):
    from marketplace.runner.config import ExperimentConfig
    from marketplace.runner.run import run_experiment

    raw = {
        "name": "tiny_sensitivity",
        "model": {"n_freelancers": 150, "weeks": 40, "burn_in_weeks": 10},
        "sweep": {"sensitivity": {"method": "morris", "trajectories": 2, "parameters": {
            "clients.utility.quality_signal_noise": [0.05, 5.0],
            "clients.private_bias": [0.0, 2.0]}}, "seed": 5},
        "outputs": {"snapshot_every_weeks": 10, "model_tables": False},
        "analysis": ["sensitivity"],
    }
    out = tmp_path / "results"
    assert run_experiment(ExperimentConfig.from_dict(raw), out, workers=1, quiet=True).ok
    name = generator.SENSITIVITY_NOTEBOOK
    nb = _execute(name, tmp_path / name,
                  {"results_dir": str(out), "sobol_dir": str(tmp_path / "absent")})
    assert _images(nb) == len(_report_figures(out)) > 0
    text = _text(nb)
    assert "What decides the answer" in text and "Standard deviation of the private read" in text


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("experiment", EXPERIMENTS, ids=lambda e: e.name)
def test_experiment_notebook_on_committed_results(experiment, tmp_path):
    folder = ROOT / "results" / experiment.name
    if not (folder / "manifest.json").is_file():
        pytest.skip(f"results/{experiment.name}/ is not committed yet "
                    f"(marketplace run experiments/{experiment.name}.yaml)")
    nb = _execute(experiment.filename, tmp_path / experiment.filename)  # default parameters
    assert _images(nb) == len(_report_figures(folder)) > 0


# ----------------------------------------------------------------------------- committed files


def test_notebooks_hold_the_generators_cells():
    expected = generator.all_notebooks()
    extra = sorted({p.name for p in NOTEBOOKS.glob("*.ipynb")} - set(expected))
    assert not extra, (f"{extra} are not written by scripts/make_notebooks.py, so no test executes "
                       "them: add them there")
    for name, nb in expected.items():
        committed = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(committed)
        assert generator.cell_sources(committed) == generator.cell_sources(nb), (
            f"{name} differs from scripts/make_notebooks.py: edit the generator, then "
            "`make notebooks`")


def test_every_canonical_experiment_has_a_notebook_with_a_results_parameter():
    names = {e.name for e in EXPERIMENTS}
    assert names == {"threshold_validity", "dishonest_raters", "refund_chasing",
                     "newcomer_volatility", "rule_eras", "client_filters", "client_choice",
                     "policy_alternatives"}
    from marketplace.analysis.metrics import METRIC_INFO

    for e in EXPERIMENTS:
        nb = nbformat.read(NOTEBOOKS / e.filename, as_version=4)
        assert executor.parameters(nb) == {"results_dir": f"../results/{e.name}"}
        unknown = [m for m in e.key_metrics if m not in METRIC_INFO]
        assert not unknown, f"{e.name}: unknown key metrics {unknown}"


@pytest.mark.parametrize("notebook", sorted(generator.all_notebooks()))
def test_committed_notebook_outputs_are_current_and_clean(notebook):
    """With results: executed, figures shown, cells numbered in order, no timing metadata.
    Without results yet: no outputs at all."""
    nb = nbformat.read(NOTEBOOKS / notebook, as_version=4)
    missing = executor.missing_results(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "papermill" not in nb.metadata
    for cell in code:
        assert not {"execution", "papermill"} & set(cell.metadata), cell.id
    if missing is not None:
        assert not _outputs(nb), f"{notebook} shows outputs but {missing} does not exist"
        return
    hint = f"{notebook} is not executed on the current results: run `make notebooks`"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), hint
    assert not [o for o in _outputs(nb) if o.output_type == "error"], hint
    if notebook == GETTING_STARTED:
        assert _images(nb) == 2, hint
    else:
        params = executor.parameters(nb)
        folder = (NOTEBOOKS / params["results_dir"]).resolve()
        expected = len(_report_figures(folder))
        if "sobol_dir" in params:  # 08_sensitivity also shows the Sobol study's figures
            expected += len(_report_figures((NOTEBOOKS / params["sobol_dir"]).resolve()))
        assert _images(nb) == expected > 0, hint
