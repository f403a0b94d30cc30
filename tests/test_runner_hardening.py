"""Issue 17: faults and bad inputs the runner must survive (each case reproduced by the audit).

Markets are tiny: these tests check the runner's bookkeeping, not the model.
"""

from __future__ import annotations

import errno
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

from marketplace.cli import app
from marketplace.model import simulate
from marketplace.model.params import ModelParams
from marketplace.runner import store
from marketplace.runner.config import ExperimentConfig, load_config
from marketplace.runner.run import run_experiment

TINY = {
    "name": "tiny",
    "model": {"n_freelancers": 30, "weeks": 14, "burn_in_weeks": 4},
    "sweep": {"grid": {"clients.rater_mix.dishonest": [0.0, 0.2]}, "replications": 2, "seed": 3},
    "outputs": {"snapshot_every_weeks": 7},
}


def write_config(tmp_path: Path, raw: dict, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def cli(config: Path, out: Path, *extra: str):
    args = ["run", str(config), "--out", str(out), "--workers", "1", "-q", "--no-report", *extra]
    return CliRunner().invoke(app, args)


def sized(raw: dict, replications: int) -> dict:
    return {**raw, "sweep": {**raw["sweep"], "replications": replications}}


# -- 1. memory and manifest size flat in the number of runs ----------------------------------


def test_manifest_size_does_not_grow_with_runs_and_plan_is_streamed(tmp_path, monkeypatch):
    def no_list(*_a, **_k):
        raise AssertionError("the runner materialised the whole plan")

    monkeypatch.setattr(ExperimentConfig, "run_specs", no_list)
    monkeypatch.setattr(ExperimentConfig, "points", property(no_list))
    sizes = []
    for reps in (1, 6):
        out = tmp_path / f"r{reps}"
        run_experiment(ExperimentConfig.from_dict(sized(TINY, reps)), out, workers=1,
                       quiet=True, report=False)  # fmt: skip
        sizes.append((out / "manifest.json").stat().st_size)
    assert abs(sizes[1] - sizes[0]) < 64, f"manifest grew with runs: {sizes}"


# -- 3. --force deletes only our folders; 4. damaged manifests ------------------------------


def test_force_and_resume_refuse_a_folder_with_someone_elses_manifest(tmp_path):
    config = write_config(tmp_path, TINY)
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "manifest.json").write_text(json.dumps({"name": "my app", "icons": []}))
    (web / "src" / "index.js").write_text("precious")
    forced = cli(config, web, "--force")
    assert forced.exit_code == 2, forced.output
    assert "not written by jss-market" in forced.output
    assert (web / "src" / "index.js").read_text() == "precious"
    resumed = cli(config, web, "--resume")
    assert resumed.exit_code == 2 and "not written by jss-market" in resumed.output
    assert "--force" not in resumed.output


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", "", "\xff\xfe"])
def test_damaged_manifest_exits_2_without_traceback(tmp_path, damage):
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    assert cli(config, out).exit_code == 0
    (out / "manifest.json").write_bytes(damage.encode("latin-1"))
    for flag in ("--resume", "--force"):
        result = cli(config, out, flag)
        assert result.exit_code == 2, result.output
        assert "manifest.json is damaged" in result.output or "not written by" in result.output
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert (out / "runs").is_dir()  # nothing deleted
    report = CliRunner().invoke(app, ["report", str(out)])
    assert report.exit_code == 2 and "manifest.json" in report.output


def test_resume_of_an_old_format_folder_asks_for_force(tmp_path):
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    assert cli(config, out).exit_code == 0
    manifest = store.read_json(out / "manifest.json")
    del manifest["tool"], manifest["schema"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    resumed = cli(config, out, "--resume")
    assert resumed.exit_code == 2 and "older format" in resumed.output
    assert "--force" in resumed.output
    assert cli(config, out, "--force").exit_code == 0  # an old manifest of ours: deletable


# -- 5. --resume verifies the files of finished runs ------------------------------------------


def test_resume_reruns_a_run_whose_files_are_damaged(tmp_path):
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    assert cli(config, out).exit_code == 0
    before = (out / "summary.parquet").read_bytes()
    record = store.read_json(out / "runs" / "c001-r00" / "run.json")
    assert record["files"] and all(f["bytes"] > 0 for f in record["files"].values())
    first, second = sorted(record["files"])[:2]
    (out / "runs" / "c001-r00" / first).unlink()
    with (out / "runs" / "c000-r01" / second).open("ab") as f:
        f.write(b"junk")
    resumed = cli(config, out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    manifest = store.read_json(out / "manifest.json")
    assert manifest["status"] == "complete" and manifest["counts"]["reused"] == 2
    assert (out / "runs" / "c001-r00" / first).is_file()
    assert (out / "summary.parquet").read_bytes() == before


# -- 9. Dask scheduler address ----------------------------------------------------------------


def test_scheduler_that_is_not_an_address_exits_2(tmp_path):
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    args = ["run", str(config), "--out", str(out), "--scheduler", "notaurl", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "--scheduler 'notaurl'" in result.output and "HOST:PORT" in result.output
    assert not out.exists()


def test_unreachable_scheduler_writes_no_running_manifest(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")

    def refuse(address, timeout=None, **_kw):
        raise OSError(f"Timed out trying to connect to {address} after {timeout} s")

    monkeypatch.setattr(distributed, "Client", refuse)
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    args = ["run", str(config), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9", "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Timed out" in result.output
    assert not (out / "manifest.json").exists()
    assert cli(config, out).exit_code == 0  # a plain rerun is not refused


# -- 10. simulate() arguments -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"seed": True}, "seed must be a non-negative integer"),
        ({"snapshot_every_weeks": -1}, "snapshot_every_weeks must be an integer >= 0"),
        ({"snapshot_every_weeks": 2.5}, "snapshot_every_weeks must be an integer >= 0"),
    ],
)
def test_simulate_names_a_bad_argument(kwargs, expected):
    params = ModelParams(n_freelancers=20, weeks=4, burn_in_weeks=1)
    with pytest.raises(ValueError, match=expected):
        simulate(params, **kwargs)


def test_simulate_with_a_dict_names_params():
    with pytest.raises(TypeError, match="params must be a ModelParams, got dict"):
        simulate({"n_freelancers": 20, "weeks": 4, "burn_in_weeks": 1})


# -- 13. full disk, SIGTERM: the manifest tells the truth, no temporary files left -----------


def test_full_disk_leaves_no_tmp_manifest_and_a_true_status(tmp_path, monkeypatch):
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    real_summary = store.build_summary

    def disk_full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "build_summary", disk_full)
    result = cli(config, out)
    assert result.exit_code == 1 and "No space left" in result.output
    manifest = store.read_json(out / "manifest.json")
    assert manifest["status"] == "failed" and "No space left" in manifest["sessions"][-1]["error"]
    assert not (out / "summary.parquet").exists()

    real_write_text = Path.write_text

    def full_for_manifests(self, data, *a, **k):
        if self.name.startswith(store.TMP_PREFIX + "manifest"):
            real_write_text(self, "")  # the file is created, then the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, data, *a, **k)

    monkeypatch.setattr(Path, "write_text", full_for_manifests)
    with pytest.raises(OSError):
        store.write_json_atomic({"a": 1}, out / "manifest.json")
    assert not list(out.glob(".tmp-*"))
    monkeypatch.setattr(Path, "write_text", real_write_text)
    monkeypatch.setattr(store, "build_summary", real_summary)
    (out / ".tmp-manifest.json.123.abcd").write_text("")  # left by an older, killed runner
    resumed = cli(config, out, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert store.read_json(out / "manifest.json")["status"] == "complete"
    assert not list(out.glob(".tmp-*"))
    assert len(pd.read_parquet(out / "summary.parquet")) == 4


# -- 14. --out below a regular file -----------------------------------------------------------


def test_out_below_a_regular_file_exits_2(tmp_path):
    config = write_config(tmp_path, TINY)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    result = cli(config, blocker / "res")
    assert result.exit_code == 2, result.output
    assert "is not a folder" in result.output and str(blocker) in result.output
    assert blocker.read_text() == "x"


# -- issue 16: growing an experiment ----------------------------------------------------------


def test_resume_grows_replications_and_grid_values_running_only_new_runs(tmp_path):
    config = write_config(tmp_path, TINY)
    out = tmp_path / "res"
    assert cli(config, out).exit_code == 0
    stamps = {p.name: (p / "run.json").stat().st_mtime_ns for p in (out / "runs").iterdir()
              if p.is_dir()}  # fmt: skip
    old = {rid: store.read_json(out / "runs" / rid / "run.json")["seed"] for rid in stamps}
    grown = ["--set", "sweep.replications=3",
             "--set", "sweep.grid.clients.rater_mix.dishonest=[0.0, 0.2, 0.4]"]  # fmt: skip
    result = cli(config, out, "--resume", *grown)
    assert result.exit_code == 0, result.output
    manifest = store.read_json(out / "manifest.json")
    assert manifest["counts"] == {"ok": 9, "failed": 0, "pending": 0, "reused": 4}
    assert [g["replications"] for g in manifest["plan"]] == [2, 3]
    assert manifest["plan"][1]["first_combination"] == 2
    for rid, stamp in stamps.items():  # earlier runs untouched, same seeds
        assert (out / "runs" / rid / "run.json").stat().st_mtime_ns == stamp
        assert store.read_json(out / "runs" / rid / "run.json")["seed"] == old[rid]
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 9
    assert summary.groupby("clients.rater_mix.dishonest").size().tolist() == [3, 3, 3]
    again = cli(config, out, "--resume", *grown)  # the grown config itself resumes
    assert again.exit_code == 0 and store.read_json(out / "manifest.json")["counts"]["reused"] == 9

    changed = cli(config, out, "--resume", *grown, "--set", "model.weeks=15")
    assert changed.exit_code == 2
    assert "different configuration" in changed.output and "model.weeks: 14 -> 15" in changed.output
    fewer = cli(config, out, "--resume", "--set", "sweep.replications=3")
    assert fewer.exit_code == 2 and "values [0.4] removed" in fewer.output


# -- 2 and 13: interrupts of a process-pool sweep ---------------------------------------------


def _runs_done(out: Path) -> int:
    runs = out / "runs"
    if not runs.is_dir():
        return 0
    return sum((p / "run.json").is_file() for p in runs.iterdir()
               if not p.name.startswith(store.TMP_PREFIX))  # fmt: skip


def _default_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


@pytest.mark.parametrize(
    "signals", [("SIGINT", "SIGINT"), ("SIGTERM",)], ids=["ctrl-c-twice", "sigterm"]
)
def test_interrupted_pool_sweep_ends_fast_and_resume_completes(tmp_path, signals):
    # enough runs that the sweep cannot finish between the first finished run and the signal:
    # with the heavy imports loaded once before the workers fork, 6 tiny runs sometimes all
    # finished in that window and the process exited 0
    raw = {**TINY, "model": {"n_freelancers": 80, "weeks": 40, "burn_in_weeks": 10},
           "sweep": {**TINY["sweep"], "replications": 20}}  # fmt: skip
    config = write_config(tmp_path, raw)
    out = tmp_path / "res"
    cmd = [str(Path(sys.executable).with_name("marketplace")), "run", str(config), "--out",
           str(out), "--workers", "2", "--quiet", "--no-report"]  # fmt: skip
    log = tmp_path / "stderr.txt"
    with log.open("w") as err:
        # default Ctrl-C and SIGTERM in the child, as a user's shell gives them: an ignored
        # signal is inherited across exec, and something earlier in the whole suite (not this
        # file) leaves the pytest process ignoring SIGINT, which made the child run to exit 0
        proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=err, preexec_fn=_default_signals)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while _runs_done(out) < 1:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "no run finished in time"
                time.sleep(0.05)
            start = time.monotonic()
            for name in signals:  # Ctrl-C goes to the whole foreground group
                target = os.killpg if name == "SIGINT" else os.kill
                target(proc.pid, getattr(signal, name))
                time.sleep(0.1)
            proc.wait(timeout=20)
            took = time.monotonic() - start
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = log.read_text()
    assert took < 10, f"took {took:.1f} s to stop"
    assert proc.returncode in (130, 143), text
    assert "Exception ignored" not in text and "leaked semaphore" not in text, text
    manifest = store.read_json(out / "manifest.json")
    assert manifest["status"] == "interrupted"
    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    manifest = store.read_json(out / "manifest.json")
    n_runs = load_config(config).n_runs
    assert n_runs == 2 * 20  # two grid values x 20 replications
    assert manifest["status"] == "complete" and manifest["counts"]["ok"] == n_runs
