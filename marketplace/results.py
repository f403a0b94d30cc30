"""Load an experiment's stored results, for notebooks and scripts.

```python
from marketplace import results
res = results.load("results/threshold_validity")
res.summary        # one row per run: parameters, seed, every per-run metric
res.aggregate      # per parameter combination: mean and 95% bootstrap CI of each metric
res.manifest       # resolved config, versions, git commit, seeds, run statuses
res.tables["final_freelancers"]   # any per-run metric table, concatenated with a run_id column
res.key_numbers(["quality_gap_90", "rd_jump_90"])   # mean [95% CI] per combination
res.figures()      # the report's figures, built by the same functions as `marketplace report`
res.weekly         # every run's weekly series, with run_id and the swept parameters joined in
res.export("out/", format="csv")   # every table as CSV (R, Stata) or Parquet
```

In a notebook, `load(resolve_path("../results/<name>"))` finds the folder whether the kernel
starts in `notebooks/` or in the project root.

Reading only: nothing here runs a model or recomputes a statistic.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from marketplace.analysis.report import ExperimentFigure

SUMMARY_FILE = "summary.parquet"
AGGREGATE_FILE = "aggregate.parquet"
MANIFEST_FILE = "manifest.json"
WEEKLY_FILE = "timeseries.parquet"
EXPORT_FORMATS = ("csv", "parquet")
_NOT_TABLES = {"summary", "aggregate"}
NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
"""The project's notebooks/ folder (in a source checkout), where notebook paths are relative to."""


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

    @property
    def description(self) -> str:
        """The question the experiment asks (its config's description)."""
        config = self.manifest.get("config", {})
        return str(self.manifest.get("description") or config.get("description") or "").strip()

    @property
    def swept_parameters(self) -> list[str]:
        """Dotted paths of the swept parameters (columns of the summary and the aggregate)."""
        swept = self.manifest.get("swept_parameters") or []
        return [p for p in swept if p in self.summary.columns]

    def describe(self) -> str:
        """Markdown: the question, the runs, the swept values and the fixed model settings."""
        from marketplace.analysis.figures import format_value

        m = self.manifest
        config = m.get("config", {})
        lines = [f"**{self.name}**: {self.description}", ""]
        combos = self.summary[self.swept_parameters].drop_duplicates() if self.swept_parameters \
            else self.summary.iloc[:1]
        lines.append(f"- {len(self.summary)} finished runs of {m.get('n_runs', '?')}: "
                     f"{len(combos)} combination(s) x {m.get('replications', '?')} replications, "
                     f"root seed {m.get('root_seed')}")
        for path in self.swept_parameters:
            order = "combination" if "combination" in self.summary.columns else path
            values = pd.unique(self.summary.sort_values(order, kind="stable")[path])
            lines.append(f"- swept `{path}`: {', '.join(format_value(v) for v in values)}")
        model = config.get("model") or {}
        if model:
            settings = ", ".join(f"`{k}` = {format_value(v)}" for k, v in sorted(model.items()))
            lines.append(f"- model settings (others default): {settings}")
        git = m.get("git") or {}
        package = m.get("package") or {}
        if git.get("commit") or package.get("version"):
            lines.append(f"- made with {package.get('name', 'jss-market')} "
                         f"{package.get('version', '')} at git commit "
                         f"{str(git.get('commit') or 'unknown')[:10]}"
                         + (" (uncommitted changes)" if git.get("dirty") else ""))
        return "\n".join(lines)

    def key_numbers(self, metrics: Sequence[str], formatted: bool = True) -> pd.DataFrame:
        """The chosen metrics per parameter combination with their 95% bootstrap CIs, read from
        `aggregate.parquet`.

        `formatted=True`: one row per combination (indexed by the swept values), one column per
        metric label, cells "mean [ci_low, ci_high]" ("n/a" = not computable in any run).
        `formatted=False`: the aggregate's long numeric rows (mean, ci_low, ci_high, n, n_runs).
        """
        from marketplace.analysis.metrics import METRIC_INFO

        if self.aggregate is None:
            raise ResultsNotFoundError(
                f"{self.path} has no {AGGREGATE_FILE}: build it with `marketplace report "
                f"{self.path}`")
        from marketplace.analysis.aggregate import p_share_name
        from marketplace.analysis.report import metric_info

        agg = self.aggregate
        known = set(agg["metric"].astype(str))
        # a p-value metric is stored as the share of runs below 0.05
        metrics = [p_share_name(m) if m not in known and p_share_name(m) in known else m
                   for m in metrics]
        unknown = [m for m in metrics if m not in known and m not in METRIC_INFO]
        if unknown:
            raise KeyError(f"unknown metric(s) {unknown}; known: {sorted(known)}")
        by = [p for p in self.swept_parameters if p in agg.columns]
        combos = self._combinations(by)
        rows = agg.loc[agg["metric"].isin(metrics)]
        rows = rows.merge(combos, on=by, how="left") if by else rows.assign(_combo=0)
        rows["_order"] = rows["metric"].map({m: i for i, m in enumerate(metrics)})
        rows = rows.sort_values(["_combo", "_order"], kind="stable")
        if not formatted:
            return rows.drop(columns=["_combo", "_order"]).reset_index(drop=True)
        labels = {m: metric_info(m)[0] for m in metrics}
        table = []
        for i in range(len(combos)):
            cells = {labels[m]: "n/a" for m in metrics}
            for _, row in rows.loc[rows["_combo"] == i].iterrows():
                cells[labels[row["metric"]]] = _estimate(row, METRIC_INFO)
            table.append(cells)
        index = (pd.MultiIndex.from_frame(combos[by]) if len(by) > 1
                 else pd.Index(combos[by[0]], name=by[0]) if by
                 else pd.Index(["all runs"], name="combination"))
        return pd.DataFrame(table, index=index, columns=list(labels.values()))

    def _combinations(self, by: list[str]) -> pd.DataFrame:
        """The swept values of each combination in sweep order, numbered in `_combo`."""
        source = self.summary if set(by) <= set(self.summary.columns) else self.aggregate
        if "combination" in source.columns:
            source = source.sort_values("combination", kind="stable")
        combos = source[by].drop_duplicates().reset_index(drop=True) if by \
            else pd.DataFrame(index=[0])
        return combos.assign(_combo=range(len(combos)))

    @functools.cached_property
    def weekly(self) -> pd.DataFrame:
        """Every run's weekly series (`runs/<run_id>/timeseries.parquet`, docs/outputs.md), one
        row per run and week, with `run_id`, `combination`, `replication`, `seed` and the swept
        parameters joined in from the summary.

        Raises ResultsNotFoundError when the runs' folders are not there (committed results
        keep only the concatenated metric tables; rerun the experiment, whose config keeps
        `outputs.model_tables: true`, to get them).
        """
        files = sorted((self.path / "runs").glob(f"*/{WEEKLY_FILE}"))
        if not files:
            raise ResultsNotFoundError(
                f"{self.path} holds no per-run weekly series (runs/<run_id>/{WEEKLY_FILE}); "
                f"rerun the experiment with outputs.model_tables: true to create them")
        parts = [pd.read_parquet(f).assign(run_id=f.parent.name) for f in files]
        weekly = pd.concat(parts, ignore_index=True)
        keep = [c for c in ("run_id", "combination", "replication", "seed",
                            *self.swept_parameters) if c in self.summary.columns]
        weekly = weekly.merge(self.summary[keep], on="run_id", how="inner")
        front = [*keep, "week"]
        return weekly[[*front, *(c for c in weekly.columns if c not in front)]]

    def export(self, out_dir: str | Path, format: str = "csv") -> list[Path]:
        """Write the summary, the aggregate, every metric table and (when the runs' folders are
        there) the weekly series to `out_dir` as CSV or Parquet, one file per table; return the
        files written."""
        if format not in EXPORT_FORMATS:
            raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)} (got {format!r})")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        frames: dict[str, pd.DataFrame] = {"summary": self.summary}
        if self.aggregate is not None:
            frames["aggregate"] = self.aggregate
        for name in self.tables:
            frames[name] = self.tables[name]
        with contextlib.suppress(ResultsNotFoundError):
            frames["weekly"] = self.weekly
        written = []
        for name, df in frames.items():
            path = out / f"{name}.{format}"
            if format == "csv":
                df.to_csv(path, index=False)
            else:
                df.to_parquet(path, index=False)
            written.append(path)
        return written

    def figures(self, analyses: Sequence[str] | None = None) -> dict[str, ExperimentFigure]:
        """The report's figures, keyed by file stem (as under figures/), each a (caption,
        matplotlib Figure) pair built by `marketplace.analysis.report.experiment_figures`."""
        from marketplace.analysis.report import experiment_figures

        return experiment_figures(self.path, analyses)

    def __repr__(self) -> str:
        return (
            f"Results(name={self.name!r}, runs={len(self.summary)}, "
            f"tables={list(self.tables.keys())}, path='{self.path}')"
        )


def _estimate(row: pd.Series, info: dict[str, tuple[str, str, str]]) -> str:
    """'mean [ci_low, ci_high]' in the metric's own number format, as in report.md (no CI from
    fewer than 5 runs; p-values as the share of runs below 0.05)."""
    from marketplace.analysis.report import format_estimate

    return format_estimate(row)


def metric_glossary(metrics: Sequence[str]) -> str:
    """Markdown: each metric's label, name and what it measures (from the analysis' METRIC_INFO)."""
    from marketplace.analysis.metrics import METRIC_INFO

    lines = []
    for m in metrics:
        label, meaning, _ = METRIC_INFO.get(m, (m, "(no description)", ""))
        lines.append(f"- **{label}** (`{m}`): {meaning}")
    return "\n".join(lines)


def resolve_path(path: str | Path) -> Path:
    """A results folder as a notebook names it: absolute, relative to the working directory, or
    relative to the project's notebooks/ folder, so "../results/<name>" works whether the kernel
    starts in notebooks/ (Jupyter, papermill) or in the project root. A path found nowhere is
    returned as given (`load` then says it is missing)."""
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p
    beside_notebooks = NOTEBOOKS_DIR / p
    return beside_notebooks if beside_notebooks.exists() else p


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
