"""End to end: the quickstart experiment (shrunk) runs, and its report and figures are built from
the runs (issue 5 item 7)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from marketplace.analysis.metrics import METRIC_NAMES

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_report_and_figures(tmp_path):
    from marketplace.runner import load_config, run_experiment

    cfg = load_config(ROOT / "experiments" / "quickstart.yaml", overrides=[
        "model.n_freelancers=400", "model.weeks=120", "model.burn_in_weeks=52",
        "sweep.replications=2", "sweep.grid.clients.rater_mix.dishonest=[0.0, 0.3]"])
    out = tmp_path / "quickstart"
    result = run_experiment(cfg, out, workers=1, quiet=True)
    assert result.n_failed == 0 and result.report_error is None

    summary = pd.read_parquet(out / "summary.parquet")
    assert len(summary) == 4 and set(METRIC_NAMES) <= set(summary.columns)
    text = (out / "report.md").read_text()
    agg = pd.read_parquet(out / "aggregate.parquet")
    row = agg.loc[(agg["metric"] == "share_jss_ge_90")
                  & (agg["clients.rater_mix.dishonest"] == 0.3)].iloc[0]
    assert row["n_runs"] == 2
    assert row["mean"] == summary.loc[summary["clients.rater_mix.dishonest"] == 0.3,
                                      "share_jss_ge_90"].mean()
    assert f"**{row['mean']:.3f}**" in text  # the number in the report is the runs' mean
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    assert {"quality_by_jss_band", "precision_recall", "one_negative_drop",
            "jss_histogram"} <= set(pngs)
    for stem in pngs:
        assert (out / "figures" / f"{stem}.pdf").stat().st_size > 1_000
        assert f"(figures/{stem}.png)" in text
