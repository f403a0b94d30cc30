"""marketplace.results: loading a results folder, its key numbers and the report's figures."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from marketplace import results
from marketplace.analysis import figures as F

DISHONEST, RULES = "clients.rater_mix.dishonest", "rules"
ROOT = Path(__file__).resolve().parents[1]


def test_load_reads_the_folder(small_results):
    res = results.load(small_results)
    assert len(res.summary) == 8
    assert res.aggregate is not None and set(res.aggregate["metric"]) >= {"rd_jump_90"}
    assert res.swept_parameters == [DISHONEST, RULES]
    assert {"freelancer_sample", "jss_bands", "precision_recall"} <= set(res.tables.keys())
    assert "summary" not in res.tables and "aggregate" not in res.tables
    assert set(res.table("jss_bands")["run_id"]) == set(res.summary["run_id"])
    text = res.describe()
    assert res.description.split(":")[0] in text
    assert "8 finished runs of 8: 4 combination(s) x 2 replications" in text
    assert f"swept `{DISHONEST}`: 0, 0.3" in text and f"swept `{RULES}`: upwork-2015, " \
        "upwork-2023" in text


def test_key_numbers_are_the_aggregate_rows(small_results):
    res = results.load(small_results)
    metrics = ["spearman_jss_quality", "share_jss_ge_90"]
    table = res.key_numbers(metrics)
    assert list(table.columns) == ["Spearman(JSS, quality)", "share JSS >= 90"]
    assert table.index.names == [DISHONEST, RULES] and len(table) == 4
    agg = res.aggregate
    row = agg.loc[(agg["metric"] == "spearman_jss_quality") & (agg[DISHONEST] == 0.3)
                  & (agg[RULES] == "upwork-2015")].iloc[0]
    # two replications: too few for a CI, so the cell says so instead of printing one
    assert math.isnan(row["ci_low"]) and row["n"] == 2
    assert table.loc[(0.3, "upwork-2015"), "Spearman(JSS, quality)"] == \
        f"{row['mean']:.3f} (n=2, no CI)"
    # the same mean as the runs themselves
    runs = res.summary.loc[(res.summary[DISHONEST] == 0.3) & (res.summary[RULES] == "upwork-2015")]
    assert row["mean"] == pytest.approx(runs["spearman_jss_quality"].mean())
    long = res.key_numbers(metrics, formatted=False)
    assert len(long) == 8 and list(long["metric"][:2]) == metrics
    with pytest.raises(KeyError, match="spearman_jss_qualty"):
        res.key_numbers(["spearman_jss_qualty"])


def test_key_numbers_without_an_aggregate_says_how_to_build_it(small_results, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(small_results, copy, ignore=shutil.ignore_patterns("runs", "aggregate.*"))
    res = results.load(copy)
    assert res.aggregate is None
    with pytest.raises(results.ResultsNotFoundError, match="marketplace report"):
        res.key_numbers(["spearman_jss_quality"])


def test_figures_are_the_report_figures_byte_for_byte(small_results, tmp_path):
    figs = results.load(small_results).figures()
    on_disk = {p.stem for p in (small_results / "figures").glob("*.png")}
    assert set(figs) == on_disk
    report = (small_results / "report.md").read_text()
    for stem, (caption, figure) in figs.items():
        assert f"**{caption}**" in report
        F.save_figure(figure, tmp_path / stem)
        assert (tmp_path / f"{stem}.png").read_bytes() == \
            (small_results / "figures" / f"{stem}.png").read_bytes(), stem


def test_metric_glossary_names_each_metric():
    text = results.metric_glossary(["rd_jump_90", "share_jss_100"])
    assert text.splitlines()[0].startswith("- **RD jump at 90** (`rd_jump_90`): Regression")
    assert "(`share_jss_100`)" in text


def test_resolve_path_finds_folders_beside_the_notebooks(tmp_path, monkeypatch):
    root = results.NOTEBOOKS_DIR.parent
    monkeypatch.chdir(root)  # kernel started in the project root
    assert results.resolve_path("../experiments") == results.NOTEBOOKS_DIR / "../experiments"
    assert results.resolve_path("experiments") == results.Path("experiments")
    monkeypatch.chdir(results.NOTEBOOKS_DIR)  # kernel started beside the notebook
    assert results.resolve_path("../experiments").resolve() == root / "experiments"
    assert results.resolve_path(tmp_path) == tmp_path
    assert results.resolve_path("no/such/folder") == results.Path("no/such/folder")


def test_load_refuses_a_folder_that_is_not_results(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({}))
    with pytest.raises(results.ResultsNotFoundError, match=r"summary\.parquet"):
        results.load(tmp_path)
    pd.DataFrame({"run_id": ["c000-r00"]}).to_parquet(tmp_path / "summary.parquet")
    assert results.load(tmp_path).aggregate is None


def test_weekly_series_of_every_run_with_swept_parameters(small_results, tmp_path):
    res = results.load(small_results)
    weekly = res.weekly
    assert set(weekly["run_id"]) == set(res.summary["run_id"])
    assert {DISHONEST, RULES, "replication", "seed", "week"} <= set(weekly.columns)
    one = res.summary.iloc[0]
    rows = weekly.loc[weekly["run_id"] == one["run_id"]]
    stored = pd.read_parquet(small_results / "runs" / one["run_id"] / "timeseries.parquet")
    assert len(rows) == len(stored)
    assert (rows[DISHONEST] == one[DISHONEST]).all() and (rows[RULES] == one[RULES]).all()
    pd.testing.assert_series_equal(rows["share_jss_ge_90"].reset_index(drop=True),
                                   stored["share_jss_ge_90"], check_names=False)
    written = res.export(tmp_path / "csv", format="csv")
    assert tmp_path / "csv" / "weekly.csv" in written
    assert len(pd.read_csv(tmp_path / "csv" / "weekly.csv")) == len(weekly)


def test_weekly_without_run_folders_says_how_to_get_them(tmp_path):
    shutil.copytree(ROOT / "results" / "dishonest_raters", tmp_path / "dr")
    with pytest.raises(results.ResultsNotFoundError, match="model_tables"):
        _ = results.load(tmp_path / "dr").weekly
