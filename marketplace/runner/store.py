"""The results folder of an experiment: layout, atomic writes, resume bookkeeping and provenance.

```
results/<name>/
  manifest.json            tool marker, resolved config + hash, the plan (which config produced
                           which runs), versions, git commit, times, run counts (compact: its
                           size does not grow with the number of runs)
  summary.parquet          one row per finished run: run_id, combination, replication, seed,
                           the swept parameters (dotted names) and every scalar metric
  <table>.parquet          each per-run metric table, concatenated with a leading run_id column
  runs/<run_id>/run.json   parameters, seed, metrics, status (traceback when it failed), and
                           the name, size and SHA-256 of every file written beside it
  runs/<run_id>/<table>.parquet   the model's output tables and the run's metric tables
```

Run folders are written under ``runs/.tmp-*`` and renamed into place when complete, so a folder
``runs/<run_id>/`` is always whole: a killed sweep leaves at most some ``.tmp-*`` folders, which a
resumed sweep deletes. Nothing inside a run folder depends on time, host, backend or worker count
(times live only in ``manifest.json``), so the same config gives byte-identical run files.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import json
import math
import os
import platform
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

MANIFEST = "manifest.json"
SUMMARY = "summary.parquet"
RUNS = "runs"
RUN_JSON = "run.json"
TOKEN = ".sweep_token"
TMP_PREFIX = ".tmp-"
# File names at the top of a results folder that a metric table may not take.
RESERVED_TABLES = frozenset({"summary", "aggregate", "manifest", "run", "report"})
# Marks a manifest as written by this runner: --force deletes only folders that carry it.
TOOL = "jss-market runner"
SCHEMA = 2


class StoreError(Exception):
    """A results folder that cannot be used as asked (exists, not ours, other config)."""


# ---------------------------------------------------------------------------------------------
# Deterministic writers


def write_parquet(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` so that the same data always gives the same bytes (no index, zstd)."""
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    table = pa.Table.from_pandas(df, preserve_index=False)
    pq.write_table(table, str(path), compression="zstd", write_statistics=True)


def _json_safe(value: Any) -> Any:
    """NaN/inf -> None; numpy scalars -> Python (JSON has no NaN; None means 'no value')."""
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(obj: Any) -> str:
    return json.dumps(_json_safe(obj), sort_keys=True, indent=1, allow_nan=False) + "\n"


def write_json_atomic(obj: Any, path: str | Path) -> None:
    """Write through a temporary file renamed into place; a failed write (full disk) leaves
    the old file and no temporary file behind."""
    path = Path(path)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        tmp.write_text(dumps(obj), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def remove_stale_tmp(folder: str | Path) -> None:
    """Delete temporary files and folders a killed writer left at the top of ``folder``."""
    for entry in Path(folder).glob(f"{TMP_PREFIX}*"):
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------
# Run folders


def runs_dir(out_dir: str | Path) -> Path:
    return Path(out_dir) / RUNS


def write_run(
    runs_path: str | Path,
    run_id: str,
    record: Mapping[str, Any],
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> Path:
    """Write ``runs/<run_id>/`` atomically: a temporary folder renamed when complete."""
    runs_path = Path(runs_path)
    final = runs_path / run_id
    tmp = runs_path / f"{TMP_PREFIX}{run_id}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        files: dict[str, dict[str, Any]] = {}
        for name, df in (tables or {}).items():
            write_parquet(df, tmp / f"{name}.parquet")
            files[f"{name}.parquet"] = _file_facts(tmp / f"{name}.parquet")
        record = {**record, "files": files}  # what --resume checks before reusing the run
        (tmp / RUN_JSON).write_text(dumps(record), encoding="utf-8")
        if final.exists():  # a failed run being retried
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _file_facts(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def run_damage(run_dir: str | Path, record: Mapping[str, Any]) -> str | None:
    """What is wrong with a finished run's files (missing, other size), or None when they are
    as written. Folders of an older runner without the file list count as damaged."""
    files = record.get("files")
    if not isinstance(files, Mapping):
        return "run.json lists no files"
    for name, facts in files.items():
        path = Path(run_dir) / name
        try:
            size = path.stat().st_size
        except OSError:
            return f"{name} is missing"
        if not isinstance(facts, Mapping) or size != facts.get("bytes"):
            return f"{name} has {size} bytes, {facts.get('bytes')} were written"
    return None


def read_run(out_dir: str | Path, run_id: str) -> dict[str, Any] | None:
    path = runs_dir(out_dir) / run_id / RUN_JSON
    try:
        record = read_json(path)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def finished_run(out_dir: str | Path, spec: Any) -> dict[str, Any] | None:
    """The record of ``spec``'s run if it finished (status ok), is the planned run (same seed
    and swept values) and its files are as written; otherwise None, and a leftover folder of
    the run is deleted so that it is run again."""
    folder = runs_dir(out_dir) / spec.run_id
    record = read_run(out_dir, spec.run_id)
    if record is not None:
        same = record.get("seed") == spec.seed and record.get("overrides") == _json_safe(
            spec.overrides
        )
        if record.get("status") == "ok" and same and run_damage(folder, record) is None:
            return record
    if folder.exists():
        shutil.rmtree(folder, ignore_errors=True)
    return None


def scan_finished(out_dir: str | Path, specs: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Run records of finished (status ok) runs that match the planned run exactly.

    A run folder is reused only if its seed and swept values are those of the plan. Failed runs'
    folders and leftover temporary folders are deleted so that they are run again.
    """
    base = runs_dir(out_dir)
    finished: dict[str, dict[str, Any]] = {}
    if not base.is_dir():
        return finished
    remove_stale_tmp(base)
    for spec in specs:
        record = finished_run(out_dir, spec)
        if record is not None:
            finished[spec.run_id] = record
    return finished


# ---------------------------------------------------------------------------------------------
# The results folder


def is_ours(manifest: Any) -> bool:
    """Whether a parsed manifest.json was written by this runner (this or an older format:
    older manifests carry the package name and a config hash)."""
    if not isinstance(manifest, dict):
        return False
    if manifest.get("tool") == TOOL:
        return True
    package = manifest.get("package")
    return (
        isinstance(package, dict)
        and package.get("name") == "jss-market"
        and "config_hash" in manifest
    )


def _check_parents(out: Path) -> None:
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            where = "" if parent == out else f" ({parent} is a file, so {out} cannot be made)"
            raise StoreError(f"--out {out}: {parent} exists and is not a folder{where}")
        if parent.is_dir():
            if not os.access(parent, os.W_OK | os.X_OK) and parent != out:
                raise StoreError(f"--out {out}: no permission to create folders in {parent}")
            break


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """The folder's manifest, or StoreError when it is unreadable or not ours."""
    path = Path(out_dir) / MANIFEST
    try:
        manifest = read_json(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StoreError(
            f"{path} is damaged ({type(exc).__name__}: {exc}), so this cannot be recognised as "
            "a results folder of this tool; nothing was changed: move the folder away or choose "
            "another --out"
        ) from None
    if not is_ours(manifest):
        raise StoreError(
            f"{path} was not written by jss-market (not a results folder of this tool): "
            "refusing to write into or delete the folder; choose another --out"
        )
    return manifest


def check_folder(out_dir: str | Path, *, resume: bool, force: bool) -> dict | None:
    """Decide, without writing anything, whether the results folder can be used as asked.

    Returns the previous manifest when resuming a folder of this runner, else None. Raises
    StoreError (folder left untouched) when:

    * ``--out`` is, or lies below, a regular file;
    * the folder is not empty and holds no manifest, a damaged one or someone else's
      (never deleted, even with ``force``);
    * the folder holds results and neither ``resume`` nor ``force`` was given.
    """
    out = Path(out_dir)
    if resume and force:
        raise StoreError("choose one of --resume and --force")
    _check_parents(out)
    if not out.is_dir():
        return None
    try:
        empty = not any(out.iterdir())
    except OSError as exc:
        raise StoreError(f"--out {out}: cannot read the folder ({exc})") from None
    if empty:
        return None
    if not (out / MANIFEST).is_file():
        raise StoreError(
            f"{out} exists, is not empty and holds no {MANIFEST}: not a results folder; "
            "refusing to write into or delete it (choose another --out)"
        )
    previous = read_manifest(out)
    if resume:
        if previous.get("tool") != TOOL or previous.get("schema") != SCHEMA:
            raise StoreError(
                f"{out} holds results in an older format of this tool, which --resume cannot "
                "extend; use --force to delete them and run again, or --out for a new folder"
            )
        return previous
    if force:
        return None
    raise StoreError(
        f"{out} already holds results; use --resume to continue them or --force to "
        "delete them and start again"
    )


def make_folder(out_dir: str | Path, *, force: bool) -> None:
    """Create the results folder (after :func:`check_folder`); with ``force`` first delete the
    results that are there (only a folder whose manifest this runner wrote)."""
    out = Path(out_dir)
    if force and (out / MANIFEST).is_file():
        read_manifest(out)  # ours: checked again right before deleting
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"--out {out}: cannot create the folder ({exc})") from None


def prepare(out_dir: str | Path, *, config_hash: str, resume: bool, force: bool) -> dict | None:
    """:func:`check_folder` then :func:`make_folder` (resuming requires the same config hash)."""
    previous = check_folder(out_dir, resume=resume, force=force)
    if previous is not None and previous.get("config_hash") != config_hash:
        raise StoreError(f"{out_dir} holds results of a different configuration")
    make_folder(out_dir, force=force)
    return previous


def new_token(out_dir: str | Path) -> str:
    """Write a random token that workers must find: proves they see the same folder."""
    token = secrets.token_hex(16)
    (runs_dir(out_dir) / TOKEN).write_text(token, encoding="utf-8")
    return token


def check_token(runs_path: str | Path, token: str) -> None:
    path = Path(runs_path) / TOKEN
    try:
        found = path.read_text(encoding="utf-8").strip()
    except OSError:
        found = None
    if found != token:
        raise RuntimeError(
            f"worker on host {platform.node()!r} cannot see the results folder {runs_path} "
            "(or it belongs to another sweep): with a Dask cluster, --out must be on a "
            "filesystem shared by every worker"
        )


def build_summary(
    out_dir: str | Path, specs: Iterable[Any], swept_paths: list[str]
) -> tuple[pd.DataFrame, list[str]]:
    """Write ``summary.parquet`` and the concatenated metric tables; return the summary and the
    table names. Only finished runs appear (failed ones are listed in the manifest)."""
    out = Path(out_dir)
    rows: list[dict[str, Any]] = []
    metric_names: list[str] = []
    tables: dict[str, list[pd.DataFrame]] = {}
    for spec in specs:  # in plan order; sorted by run_id below
        record = read_run(out, spec.run_id)
        if record is None or record.get("status") != "ok":
            continue
        row: dict[str, Any] = {
            "run_id": spec.run_id,
            "combination": spec.combination,
            "replication": spec.replication,
            "seed": spec.seed,
        }
        overrides = record.get("overrides", {})
        for path in swept_paths:
            row[path] = overrides.get(path)
        for name, value in record.get("metrics", {}).items():
            if name not in metric_names:
                metric_names.append(name)
            row[name] = math.nan if value is None else value
        rows.append(row)
        for name in record.get("tables", {}).get("metrics", []):
            df = pd.read_parquet(runs_dir(out) / spec.run_id / f"{name}.parquet")
            df.insert(0, "run_id", spec.run_id)
            tables.setdefault(name, []).append(df)
    columns = ["run_id", "combination", "replication", "seed", *swept_paths, *metric_names]
    summary = pd.DataFrame(rows, columns=columns)
    for col in ("combination", "replication", "seed"):
        summary[col] = summary[col].astype("int64")
    for name in metric_names:
        with contextlib.suppress(TypeError, ValueError):
            summary[name] = summary[name].astype("float64")
    write_parquet(summary, out / SUMMARY)
    for name, frames in tables.items():
        write_parquet(pd.concat(frames, ignore_index=True), out / f"{name}.parquet")
    return summary, sorted(tables)


# ---------------------------------------------------------------------------------------------
# Provenance


def now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_state(path: str | Path | None = None) -> dict[str, Any]:
    """Commit and dirty flag of the repository holding the ``marketplace`` package.

    Dirty means tracked files differ from the commit; untracked files (such as the results
    folder being written) do not count, as with ``git describe --dirty``.
    """
    if path is None:
        path = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": bool(status.strip())}


def cpu_features() -> dict[str, Any]:
    """The CPU architecture and the SIMD code paths numpy uses on it.

    numpy chooses its vectorized ``exp``/``log`` (and other) loops by CPU, and they can differ
    in the last bit from one instruction set to another (numpy issue #26117), so the same config
    and seed can give float columns that differ in their last bits on a machine with other SIMD
    extensions (README, *Across machines*). Recorded so that such a difference can be traced.
    """
    info: dict[str, Any] = {"machine": platform.machine()}
    try:  # the names numpy.show_runtime() reads
        from numpy._core._multiarray_umath import (
            __cpu_baseline__,
            __cpu_dispatch__,
            __cpu_features__,
        )
    except ImportError:  # another numpy layout: the architecture alone
        return info
    info["numpy_simd_baseline"] = list(__cpu_baseline__)
    info["numpy_simd_dispatched"] = [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]
    return info


def provenance(extra_packages: Iterable[str] = ()) -> dict[str, Any]:
    versions = {"python": platform.python_version()}
    for dist in ("mesa", "numpy", "pandas", "pyarrow", "scipy", "pydantic", *extra_packages):
        versions[dist] = _version(dist)
    return {
        "package": {"name": "jss-market", "version": _version("jss-market")},
        "git": git_state(),
        "versions": versions,
        "platform": platform.platform(),
        "cpu": cpu_features(),
        "python_executable": sys.executable,
    }
