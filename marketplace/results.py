"""Load an experiment's stored results, for notebooks and scripts.

```python
from marketplace import results
res = results.load("results/threshold_validity")
res.summary        # one row per run: parameters, seed, every per-run metric
res.aggregate      # per parameter combination: mean and 95% bootstrap CI of each metric
res.manifest       # resolved config, versions, git commit, seeds, run statuses
res.tables["final_freelancers"]   # any per-run metric table, concatenated with a run_id column
```

Reading only: nothing here runs a model or recomputes a statistic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

SUMMARY_FILE = "summary.parquet"
AGGREGATE_FILE = "aggregate.parquet"
MANIFEST_FILE = "manifest.json"
_NOT_TABLES = {"summary", "aggregate"}


class ResultsNotFoundError(FileNotFoundError):
    """The folder is not an experiment's results folder (no manifest.json / summary.parquet)."""


class _LazyTables(dict):
    """A mapping of table name to DataFrame that reads each Parquet file on first access."""

    def __init__(self, files: dict[str, Path]):
        super().__init__()
        self._files = files

    def __getitem__(self, name: str) -> pd.DataFrame:
        if not super().__contains__(name):
            if name not in self._files:
                raise KeyError(f"no table {name!r}; this results folder has: {sorted(self._files)}")
            super().__setitem__(name, pd.read_parquet(self._files[name]))
        return super().__getitem__(name)

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __iter__(self):
        return iter(sorted(self._files))

    def __len__(self) -> int:
        return len(self._files)

    def keys(self):  # type: ignore[override]
        return sorted(self._files)


@dataclass(frozen=True)
class Results:
    """An experiment's stored results. Tables are read from Parquet when first asked for."""

    path: Path
    manifest: dict[str, Any]
    summary: pd.DataFrame
    aggregate: pd.DataFrame | None
    tables: _LazyTables = field(default_factory=lambda: _LazyTables({}))

    @property
    def name(self) -> str:
        """The experiment's name as written in its config."""
        config = self.manifest.get("config", {})
        return str(config.get("name", self.path.name))

    @property
    def figures_dir(self) -> Path:
        return self.path / "figures"

    def table(self, name: str) -> pd.DataFrame:
        """One per-run metric table (all runs, with a run_id column)."""
        return self.tables[name]

    def __repr__(self) -> str:
        return (
            f"Results(name={self.name!r}, runs={len(self.summary)}, "
            f"tables={list(self.tables.keys())}, path='{self.path}')"
        )


def load(path: str | Path) -> Results:
    """Read ``results/<name>/``: manifest, summary, aggregate (if built) and the metric tables."""
    folder = Path(path)
    manifest_path = folder / MANIFEST_FILE
    summary_path = folder / SUMMARY_FILE
    if not manifest_path.is_file() or not summary_path.is_file():
        raise ResultsNotFoundError(
            f"{folder} is not a results folder: expected {MANIFEST_FILE} and {SUMMARY_FILE} "
            "(run `marketplace run CONFIG` to create one)"
        )
    manifest = json.loads(manifest_path.read_text())
    summary = pd.read_parquet(summary_path)
    aggregate_path = folder / AGGREGATE_FILE
    aggregate = pd.read_parquet(aggregate_path) if aggregate_path.is_file() else None
    tables = {p.stem: p for p in sorted(folder.glob("*.parquet")) if p.stem not in _NOT_TABLES}
    return Results(
        path=folder,
        manifest=manifest,
        summary=summary,
        aggregate=aggregate,
        tables=_LazyTables(tables),
    )
