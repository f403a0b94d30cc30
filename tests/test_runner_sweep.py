"""Running sweeps: byte-identical outputs on every backend, results layout and provenance,
refusing existing folders, failed runs and --resume, and kill (SIGKILL) then resume.

Markets are tiny (tens of freelancers, a few dozen weeks): these tests check the runner, not the
model's science.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from marketplace.analysis.figure_pool import default_processes
from marketplace.cli import app
from marketplace.runner import execute, store
from marketplace.runner.config import ExperimentConfig, load_config
from marketplace.runner.run import run_experiment

SMALL = {
    "name": "tiny",
    "description": "Runner test sweep.",
    "model": {"n_freelancers": 60, "weeks": 30, "burn_in_weeks": 10},
    "sweep": {
        "grid": {"clients.rater_mix.dishonest": [0.0, 0.3]},
        "replications": 2,
        "seed": 11,
    },
    "outputs": {"snapshot_every_weeks": 10},
}


def write_config(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def result_files(out: Path) -> dict[str, bytes]:
    """Every result file whose bytes must not depend on the backend (manifest aside: it holds
    times and the backend)."""
    files = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in ("manifest.json", f"runs/{store.TOKEN}"):
            files[rel] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def dask_scheduler():
    """A Dask cluster of a scheduler and 2 worker processes on 127.0.0.1, shut down after."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_backends_give_byte_identical_results(tmp_path, dask_scheduler):
    cfg = ExperimentConfig.from_dict(SMALL)
    outs = {}
    for label, kwargs in [
        ("inprocess", {"workers": 1}),
        ("pool2", {"workers": 2}),
        ("dask", {"scheduler": dask_scheduler}),
    ]:
        out = tmp_path / label
        result = run_experiment(cfg, out, quiet=True, report=False, **kwargs)
        assert result.ok and result.n_ok == 4
        outs[label] = result_files(out)
        manifest = store.read_json(out / "manifest.json")
        assert (
            manifest["sessions"][-1]["backend"]["kind"]
            == {"inprocess": "in-process", "pool2": "process-pool", "dask": "dask"}[label]
        )
    reference = outs["inprocess"]
    assert any(name.startswith("runs/c001-r01/") for name in reference)
    assert "summary.parquet" in reference
    for label in ("pool2", "dask"):
        assert outs[label].keys() == reference.keys(), label
        different = [name for name in reference if outs[label][name] != reference[name]]
        assert not different, f"{label} differs from in-process in {different}"


def test_results_layout_and_provenance(tmp_path):
    cfg = ExperimentConfig.from_dict(SMALL)
    out = tmp_path / "res"
    run_experiment(cfg, out, workers=1, quiet=True, report=False)
    manifest = store.read_json(out / "manifest.json")
    assert manifest["config_hash"] == cfg.config_hash()
    assert manifest["config"]["model_params"]["n_freelancers"] == 60
    assert manifest["root_seed"] == 11
    assert manifest["status"] == "complete" and manifest["counts"]["ok"] == 4
    assert manifest["package"]["version"]
    assert len(manifest["git"]["commit"]) == 40 and isinstance(manifest["git"]["dirty"], bool)
    for lib in ("python", "mesa", "numpy", "pandas"):
        assert manifest["versions"][lib]
    cpu = manifest["sessions"][-1]["cpu"]  # the SIMD paths numpy used (last-bit differences)
    assert cpu["machine"] and isinstance(cpu["numpy_simd_dispatched"], list)
    assert manifest["started_at"] <= manifest["finished_at"]
    assert manifest["tool"] == store.TOOL and manifest["schema"] == store.SCHEMA
    assert "runs" not in manifest  # per-run status lives in the run folders
    assert {
        p.name: store.read_json(p / "run.json")["status"]
        for p in (out / "runs").iterdir()
        if p.is_dir()
    } == {"c000-r00": "ok", "c000-r01": "ok", "c001-r00": "ok", "c001-r01": "ok"}

    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary.columns[:5]) == [
        "run_id",
        "combination",
        "replication",
        "seed",
        "clients.rater_mix.dishonest",
    ]
    assert len(summary) == 4 and summary["seed"].is_unique
    assert summary["clients.rater_mix.dishonest"].tolist() == [0.0, 0.0, 0.3, 0.3]
    assert "spearman_jss_quality" in summary.columns

    run = store.read_json(out / "runs" / "c001-r00" / "run.json")
    assert run["status"] == "ok" and run["seed"] == int(summary.loc[2, "seed"])
    assert run["params"]["clients"]["rater_mix"]["dishonest"] == 0.3
    assert sum(run["params"]["clients"]["rater_mix"].values()) == pytest.approx(1.0)
    for table in run["tables"]["model"]:
        assert (out / "runs" / "c001-r00" / f"{table}.parquet").is_file()
    assert "contracts" not in run["tables"]["model"]  # outputs.contracts is false
    for table in run["tables"]["metrics"]:
        combined = pd.read_parquet(out / f"{table}.parquet")
        assert combined.columns[0] == "run_id"
        assert set(combined["run_id"]) <= set(summary["run_id"])
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(store.TMP_PREFIX)]


def test_existing_folder_is_refused_without_resume_or_force(tmp_path):
    config = write_config(tmp_path, SMALL)
    out = tmp_path / "res"
    runner = CliRunner()
    base = ["run", str(config), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]
    assert runner.invoke(app, base).exit_code == 0
    manifest = out / "manifest.json"
    before = manifest.stat().st_mtime_ns, manifest.read_bytes()

    refused = runner.invoke(app, base)
    assert refused.exit_code == 2 and "--resume" in refused.output and "--force" in refused.output
    assert (manifest.stat().st_mtime_ns, manifest.read_bytes()) == before

    both = runner.invoke(app, [*base, "--resume", "--force"])
    assert both.exit_code == 2

    changed = runner.invoke(app, [*base, "--resume", "--set", "model.weeks=31"])
    assert changed.exit_code == 2 and "different configuration" in changed.output
    assert manifest.read_bytes() == before[1]

    resumed = runner.invoke(app, [*base, "--resume"])
    assert resumed.exit_code == 0
    assert store.read_json(manifest)["counts"]["reused"] == 4

    marker = out / "runs" / "c000-r00" / "marker"
    marker.write_text("from the earlier sweep")
    forced = runner.invoke(app, [*base, "--force"])
    assert forced.exit_code == 0
    assert not marker.exists()  # the old results were deleted and recomputed
    assert (out / "runs" / "c000-r00" / "run.json").is_file()

    stranger = tmp_path / "not-results"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("precious")
    refused = runner.invoke(
        app, ["run", str(config), "--out", str(stranger), "--force", "-q", "--no-report"]
    )
    assert refused.exit_code == 2 and "not a results folder" in refused.output
    assert (stranger / "thesis.tex").read_text() == "precious"


def test_failed_run_is_recorded_others_go_on_and_resume_retries(tmp_path, monkeypatch):
    config = write_config(tmp_path, SMALL)
    out = tmp_path / "res"
    real = execute.simulate_and_measure

    def flaky(task):
        if task.run_id == "c001-r00":
            raise RuntimeError("boom in the model")
        return real(task)

    monkeypatch.setattr(execute, "simulate_and_measure", flaky)
    cmd = ["run", str(config), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]
    result = CliRunner().invoke(app, cmd)
    assert result.exit_code == 1
    assert "c001-r00" in result.output and "--resume" in result.output
    failed = store.read_json(out / "runs" / "c001-r00" / "run.json")
    assert failed["status"] == "failed" and "boom in the model" in failed["error"]
    assert "Traceback" in failed["traceback"] and "flaky" in failed["traceback"]
    manifest = store.read_json(out / "manifest.json")
    assert manifest["status"] == "failed" and manifest["counts"] == {
        "ok": 3,
        "failed": 1,
        "pending": 0,
        "reused": 0,
    }
    assert manifest["failed_runs"] == ["c001-r00"]
    assert len(pd.read_parquet(out / "summary.parquet")) == 3
    ok_inode = (out / "runs" / "c000-r00").stat().st_ino

    monkeypatch.setattr(execute, "simulate_and_measure", real)
    result = CliRunner().invoke(app, [*cmd, "--resume"])
    assert result.exit_code == 0, result.output
    retried = store.read_json(out / "runs" / "c001-r00" / "run.json")
    assert retried["status"] == "ok" and "traceback" not in retried
    assert (out / "runs" / "c000-r00").stat().st_ino == ok_inode
    assert store.read_json(out / "manifest.json")["status"] == "complete"
    assert len(pd.read_parquet(out / "summary.parquet")) == 4


def test_worker_that_cannot_see_the_results_folder_writes_nothing(tmp_path):
    cfg = ExperimentConfig.from_dict(SMALL)
    spec = cfg.run_specs()[0]
    (tmp_path / "runs").mkdir()
    task = execute.RunTask(
        run_id=spec.run_id,
        combination=0,
        replication=0,
        seed=spec.seed,
        overrides={},
        base_params=cfg.base_params().model_dump(mode="json", by_alias=True),
        runs_dir=str(tmp_path / "runs"),
        token="not-the-token",
    )
    with pytest.raises(RuntimeError, match="shared"):
        execute.execute_run(task)
    assert list((tmp_path / "runs").iterdir()) == []


def _run_ids_done(out: Path) -> list[str]:
    runs = out / "runs"
    if not runs.is_dir():
        return []
    return sorted(
        p.name
        for p in runs.iterdir()
        if (p / "run.json").is_file() and not p.name.startswith(store.TMP_PREFIX)
    )


def test_sigkill_then_resume_reuses_finished_runs_and_matches_uninterrupted(tmp_path):
    raw = {
        **SMALL,
        "model": {"n_freelancers": 80, "weeks": 40, "burn_in_weeks": 10},
        "sweep": {
            "grid": {"clients.rater_mix.dishonest": [0.0, 0.2]},
            "replications": 6,
            "seed": 5,
        },
    }
    config = write_config(tmp_path, raw)
    out = tmp_path / "killed"
    marketplace = Path(sys.executable).with_name("marketplace")
    cmd = [
        str(marketplace),
        "run",
        str(config),
        "--out",
        str(out),
        "--workers",
        "2",
        "--quiet",
        "--no-report",
    ]
    log = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 120
    try:
        while len(_run_ids_done(out)) < 3:
            assert proc.poll() is None, (
                f"sweep ended before the kill: {(tmp_path / 'stderr.txt').read_text()}"
            )
            assert time.monotonic() < deadline, "no runs finished in time"
            time.sleep(0.02)
    finally:  # SIGKILL the sweep and its pool workers (one process group)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        log.close()
    done = _run_ids_done(out)
    assert 3 <= len(done) < 12, "kill should land part-way"
    stamps = {}
    for rid in done:
        folder = out / "runs" / rid
        stamps[rid] = (
            folder.stat().st_ino,
            (folder / "run.json").stat().st_ino,
            (folder / "run.json").stat().st_mtime_ns,
        )
    assert store.read_json(out / "manifest.json")["status"] == "running"

    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    manifest = store.read_json(out / "manifest.json")
    assert manifest["status"] == "complete" and manifest["counts"]["ok"] == 12
    assert manifest["counts"]["reused"] == len(done)
    for rid, stamp in stamps.items():  # not recomputed: same folder, same file, same mtime
        folder = out / "runs" / rid
        assert (
            folder.stat().st_ino,
            (folder / "run.json").stat().st_ino,
            (folder / "run.json").stat().st_mtime_ns,
        ) == stamp
    assert len(manifest["sessions"]) == 2 and manifest["sessions"][1]["resumed"]
    assert not [p for p in (out / "runs").iterdir() if p.name.startswith(store.TMP_PREFIX)]

    clean = tmp_path / "clean"
    run_experiment(load_config(config), clean, workers=2, quiet=True, report=False)
    assert result_files(out) == result_files(clean)


def test_run_builds_the_report_and_report_command_rebuilds_it(tmp_path, monkeypatch):
    """The runner's side of the report: called with the results folder after the runs, and by
    `marketplace report` without simulating (the report itself is tested by the analysis layer)."""
    from marketplace.analysis import report as report_module

    calls = []

    processes_used = []

    def fake_build_report(results_dir, processes=1):
        calls.append(Path(results_dir))
        processes_used.append(processes)
        assert (Path(results_dir) / "summary.parquet").is_file()
        (Path(results_dir) / "report.md").write_text("# report")
        return Path(results_dir) / "report.md"

    monkeypatch.setattr(report_module, "build_report", fake_build_report)
    config = write_config(tmp_path, {**SMALL, "sweep": {**SMALL["sweep"], "replications": 1}})
    out = tmp_path / "res"
    result = CliRunner().invoke(app, ["run", str(config), "--out", str(out), "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert calls == [out] and f"{out / 'report.md'}" in result.output
    runs_before = sorted(p.name for p in (out / "runs").iterdir())

    result = CliRunner().invoke(app, ["report", str(out)])
    assert result.exit_code == 0 and calls == [out, out]
    # --workers 1 draws the figures here; the report command uses the spare cores
    assert processes_used == [1, default_processes()]
    CliRunner().invoke(app, ["report", str(out), "--workers", "2"])
    assert processes_used[-1] == 2
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs_before

    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "not a results folder" in result.output


def test_sampling_design_runs_end_to_end(tmp_path):
    """A Sobol sweep: sampled values reach the runs (integers rounded) and the summary."""
    raw = {
        **SMALL,
        "sweep": {
            "sobol": {
                "n": 4,
                "ranges": {"clients.rater_mix.harsh": [0.0, 0.2], "n_freelancers": [40, 70]},
            },
            "seed": 3,
        },
    }
    cfg = ExperimentConfig.from_dict(raw)
    out = tmp_path / "sobol"
    result = run_experiment(cfg, out, workers=1, quiet=True, report=False)
    assert result.ok and result.n_ok == 4
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["n_freelancers"].tolist() == [p["n_freelancers"] for p in cfg.points]
    assert summary["clients.rater_mix.harsh"].tolist() == [
        p["clients.rater_mix.harsh"] for p in cfg.points
    ]
    for rid, point in zip(summary["run_id"], cfg.points, strict=True):
        params = store.read_json(out / "runs" / rid / "run.json")["params"]
        assert params["n_freelancers"] == point["n_freelancers"]
        assert params["clients"]["rater_mix"]["harsh"] == pytest.approx(
            point["clients.rater_mix.harsh"]
        )
        assert sum(params["clients"]["rater_mix"].values()) == pytest.approx(1.0)


def test_pool_workers_exit_when_the_sweep_process_is_killed(tmp_path):
    """Killing only the main process (as an OOM killer would) leaves no worker behind."""
    raw = {
        **SMALL,
        "model": {"n_freelancers": 80, "weeks": 40, "burn_in_weeks": 10},
        "sweep": {"grid": {"clients.rater_mix.dishonest": [0.0, 0.2]}, "replications": 20},
    }
    config = write_config(tmp_path, raw)
    out = tmp_path / "orphans"
    marketplace = Path(sys.executable).with_name("marketplace")
    cmd = [
        str(marketplace),
        "run",
        str(config),
        "--out",
        str(out),
        "--workers",
        "2",
        "--quiet",
        "--no-report",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    session = proc.pid
    try:
        deadline = time.monotonic() + 120
        while len(_run_ids_done(out)) < 2:
            assert proc.poll() is None, "sweep ended before the kill"
            assert time.monotonic() < deadline, "no runs finished in time"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the main process only, not its process group
        proc.wait()
        deadline = time.monotonic() + 30
        while True:
            try:
                os.killpg(session, 0)  # raises once no process of the sweep is left
            except ProcessLookupError:
                break
            assert time.monotonic() < deadline, "pool workers outlived the killed sweep"
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(session, signal.SIGKILL)


def test_cpu_features_record_the_simd_paths_numpy_uses():
    """With numpy's dispatched SIMD paths switched off (as on a CPU without them) the record
    says so: it reports what numpy uses, not what the CPU could do."""
    code = ("import json; from marketplace.runner import store; "
            "print(json.dumps(store.cpu_features()))")
    here = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                     text=True, check=True).stdout)
    if "numpy_simd_dispatched" not in here:
        pytest.skip("this numpy does not expose its CPU dispatch")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(here["numpy_simd_dispatched"])}
    limited = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                        text=True, check=True, env=env).stdout)
    assert limited["machine"] == here["machine"]
    assert limited["numpy_simd_baseline"] == here["numpy_simd_baseline"]
    assert limited["numpy_simd_dispatched"] == []

