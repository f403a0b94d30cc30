"""Figures and the report from a synthetic results folder (marketplace.analysis.figures/report)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from marketplace.analysis import figures as F
from marketplace.analysis.aggregate import aggregate_summary
from marketplace.analysis.report import ANALYSES, build_report
from marketplace.analysis.synthetic import write_synthetic_results

SWEPT = "clients.rater_mix.dishonest"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Two combinations (the 'equal' and the 'independent' world), five runs each (the fewest
    that get a CI)."""
    out = tmp_path_factory.mktemp("results") / "synthetic_check"
    write_synthetic_results(out, n_freelancers=1200, replications=5)
    build_report(out)
    return out


def test_report_files_are_written(results):
    assert (results / "aggregate.parquet").stat().st_size > 0
    figures = sorted(p.name for p in (results / "figures").iterdir())
    for stem in ("quality_by_jss_band", "precision_recall", "one_negative_drop",
                 "jss_histogram", "rd_plot_0", "rd_plot_1", "jss_quality_hexbin_0",
                 "sweep_0_dishonest"):
        for ext in ("png", "pdf"):
            name = f"{stem}.{ext}"
            assert name in figures
            assert (results / "figures" / name).stat().st_size > 5_000
    assert not [f for f in figures if ".tmp-" in f]


def test_report_numbers_come_from_the_summary(results):
    text = (results / "report.md").read_text()
    summary = pd.read_parquet(results / "summary.parquet")
    agg = pd.read_parquet(results / "aggregate.parquet")
    manifest = json.loads((results / "manifest.json").read_text())
    assert manifest["description"] in text
    assert f"`{SWEPT}`: 0, 0.2" in text
    for value in (0.0, 0.2):
        runs = summary.loc[summary[SWEPT] == value]
        for metric, fmt in (("spearman_jss_quality", ".3f"), ("auc_top_quartile", ".3f"),
                            ("share_jss_ge_90", ".3f")):
            mean = runs[metric].mean()
            row = agg.loc[(agg["metric"] == metric) & (agg[SWEPT] == value)].iloc[0]
            assert row["mean"] == pytest.approx(mean)
            sentence = (f"**{format(mean, fmt)}** (95% CI {format(row['ci_low'], fmt)} to "
                        f"{format(row['ci_high'], fmt)}, 5 of 5 runs)")
            assert sentence in text
    # the contrast between the worlds is stated with a CI of the difference
    diff = (summary.loc[summary[SWEPT] == 0.2, "auc_top_quartile"].mean()
            - summary.loc[summary[SWEPT] == 0.0, "auc_top_quartile"].mean())
    assert re.search(rf"AUC for top quartile goes from .* a change of \*\*{diff:.3f}\*\* "
                     r"\(95% CI -?\d", text)
    for stem in ("quality_by_jss_band", "rd_plot_0", "sweep_0_dishonest"):
        assert f"(figures/{stem}.png)" in text and f"(figures/{stem}.pdf)" in text
    assert "## Caveats" in text and "## All metrics" in text


def test_report_opens_with_a_summary_of_key_numbers(results):
    text = (results / "report.md").read_text()
    assert text.index("## Summary") < text.index("## Configuration") < text.index("## Findings")
    summary_block = text.split("## Summary")[1].split("## Configuration")[0]
    agg = pd.read_parquet(results / "aggregate.parquet")
    row = agg.loc[(agg["metric"] == "spearman_jss_quality") & (agg[SWEPT] == 0.2)].iloc[0]
    assert (f"{row['mean']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
            in summary_block)
    assert "| dishonest = 0 | dishonest = 0.2 |" in summary_block
    assert "Too few runs" not in text


def test_p_values_reported_as_share_of_runs_below_005(results):
    text = (results / "report.md").read_text()
    summary = pd.read_parquet(results / "summary.parquet")
    runs = summary.loc[summary[SWEPT] == 0.0, "density_test_p_90"].dropna()
    k = int((runs < 0.05).sum())
    assert f"**{k} of {len(runs)} runs (" in text
    # never a mean p-value with a CI
    assert not re.search(r"p-value of the density[^\n]*\*\*0\.\d+\*\* \(95% CI", text)


def test_too_few_runs_get_no_ci_and_the_report_says_so(tmp_path):
    """Two replications printed '0.250 [0.000, 0.500]' as a 95% CI (issue 16)."""
    out = tmp_path / "two_runs"
    write_synthetic_results(out, n_freelancers=600, replications=2)
    text = build_report(out).read_text()
    assert "Too few runs for confidence intervals" in text.split("## Configuration")[0]
    assert not re.search(r"95% CI -?\d", text)  # no "95% CI 0.1 to 0.3" anywhere
    assert not re.search(r"\d \[-?\d[\d.,]*, -?\d[\d.,]*\]", text)  # no "mean [low, high]"
    assert "(n=2, no CI)" in text


def test_report_follows_the_analysis_list_and_rejects_unknown(results, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("figures", "report.md"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["config"]["analysis"] = ["ratings"]  # what the experiment config asks for
    (copy / "manifest.json").write_text(json.dumps(manifest))
    text = build_report(copy).read_text()
    assert ANALYSES["ratings"].title in text
    assert ANALYSES["validity"].title not in text
    assert not (copy / "figures").exists()  # the ratings block has no figures
    with pytest.raises(ValueError, match="unknown analysis 'validty'"):
        build_report(copy, analyses=["validty"])
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "nothing")


def test_each_figure_function_returns_a_figure(results, tmp_path):
    summary = pd.read_parquet(results / "summary.parquet")

    def table(name):
        return pd.read_parquet(results / f"{name}.parquet").merge(
            summary[["run_id", SWEPT]], on="run_id")

    agg = aggregate_summary(summary, [SWEPT])
    sample = table("freelancer_sample")
    figures = {
        "bands": F.quality_by_jss_band(table("jss_bands"), group=SWEPT),
        "hexbin": F.jss_quality_hexbin(sample),
        "rd": F.rd_plot(sample.loc[sample[SWEPT] == 0.0], annotation="test"),
        "hist": F.jss_histogram(sample, group=SWEPT),
        "pr": F.precision_recall_curve(table("precision_recall")),
        "drop": F.one_negative_drop(table("one_negative_drop")),
        "sweep": F.parameter_sweep(agg, SWEPT, ["spearman_jss_quality", "rd_jump_90"]),
        "empty": F.jss_histogram(sample.assign(jss=np.nan)),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure)
        assert fig.axes[0].get_xlabel() or name == "empty"
        paths = F.save_figure(fig, tmp_path / name)
        assert [p.suffix for p in paths] == [".png", ".pdf"]
        assert all(p.stat().st_size > 1_000 for p in paths)
    # the 90 line is drawn where JSS is on the x axis
    for name in ("hexbin", "rd", "hist", "pr"):
        xs = [line.get_xdata()[0] for line in figures[name].axes[0].get_lines()
              if line.get_linestyle() == "--"]
        assert 90.0 in xs, name
    assert "percent points" in figures["hexbin"].axes[0].get_xlabel()
    assert "(0-1)" in figures["hexbin"].axes[0].get_ylabel()


def test_save_figure_png_is_what_savefig_tight_writes(results, tmp_path):
    """save_figure lays a figure out once for both formats; the PNG must be the very file a
    plain `savefig(bbox_inches="tight")` writes, and the figure keeps its layout engine."""
    import matplotlib as mpl

    summary = pd.read_parquet(results / "summary.parquet")
    agg = aggregate_summary(summary, [SWEPT])
    for name, build in (
        ("sweep", lambda: F.parameter_sweep(agg, SWEPT, ["spearman_jss_quality", "rd_jump_90"])),
        ("hexbin", lambda: F.jss_quality_hexbin(
            pd.read_parquet(results / "freelancer_sample.parquet"))),
    ):
        reference = build()
        with mpl.rc_context(F.STYLE):
            reference.savefig(tmp_path / f"{name}_ref.png", dpi=150, format="png",
                              metadata=F._metadata("png"), bbox_inches="tight")
        fig = build()
        engine = fig.get_layout_engine()
        png, pdf = F.save_figure(fig, tmp_path / name)
        assert png.read_bytes() == (tmp_path / f"{name}_ref.png").read_bytes(), name
        assert pdf.read_bytes().startswith(b"%PDF")
        assert fig.get_layout_engine() is engine


def test_parameters_varied_together_and_an_older_summary(results, tmp_path):
    """A zip design (two swept columns, each naming the combination) gets one combination
    figure and a first-vs-last contrast; a summary lacking a newer metric still reports."""
    copy = tmp_path / "zip"
    shutil.copytree(results, copy, ignore=shutil.ignore_patterns("figures", "report.md"))
    summary = pd.read_parquet(copy / "summary.parquet")
    summary["clients.min_jss_mix.any"] = 1 - summary[SWEPT]
    summary.drop(columns=["mean_quality_hired"]).to_parquet(copy / "summary.parquet")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["swept_parameters"] = [SWEPT, "clients.min_jss_mix.any"]
    manifest["config"]["analysis"] = ["validity", "market", "sweep"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    text = build_report(copy).read_text()
    assert (copy / "figures" / "sweep_combinations.png").stat().st_size > 5_000
    assert "From dishonest = 0, min_jss_mix.any = 1 to dishonest = 0.2, min_jss_mix.any = 0.8, " \
           "Spearman(JSS, quality) goes from" in text
    assert "true quality hired" not in text.split("## All metrics")[0].split("Across")[-1]


def test_figures_fit_the_data_and_keep_legends_off_it(results):
    """Issue 16: the RD plot draws the estimate's own bandwidth, the hexbin's quality axis spans
    the data, 'no JSS' has its own axis, sweep axes name parameters in words, legends sit
    outside the axes, groups differ by marker, and every figure uses the one style file."""
    import matplotlib as mpl

    summary = pd.read_parquet(results / "summary.parquet")
    sample = pd.read_parquet(results / "freelancer_sample.parquet").merge(
        summary[["run_id", SWEPT]], on="run_id")
    one = sample.loc[sample[SWEPT] == 0.0]
    h = 3.5
    fig = F.rd_plot(one, bandwidth=h)
    ax = fig.axes[0]
    fits = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(fits) == 2
    for line in fits:  # both fits lie within the bandwidth around 90
        x = np.asarray(line.get_xdata(), float)
        assert x.min() >= 90 - h - 1e-9 and x.max() <= 90 + h + 1e-9
    assert ax.get_legend() is None and fig.legends  # legend outside the axes
    # without the estimate's bandwidth no fit is drawn (bins only)
    assert not [ln for ln in F.rd_plot(one).axes[0].get_lines() if ln.get_linestyle() == "-"]

    hexbin = F.jss_quality_hexbin(sample)
    low, high = hexbin.axes[0].get_ylim()
    q = sample.loc[sample["jss"].notna(), "true_quality"]
    assert low <= q.min() and high >= q.max()
    assert low > 0.0 or q.min() < 0.05  # the axis starts near the data, not at 0

    bands = pd.read_parquet(results / "jss_bands.parquet").merge(
        summary[["run_id", SWEPT]], on="run_id")
    fig = F.quality_by_jss_band(bands, group=SWEPT)
    main, none = fig.axes[:2]
    assert "no JSS" not in [t.get_text() for t in main.get_xticklabels()]
    assert [t.get_text() for t in none.get_xticklabels()] == ["no JSS"]
    markers = {line.get_marker() for line in main.get_lines() if line.get_marker() in F.MARKERS}
    assert len(markers) == 2  # two groups: two markers, not colour alone
    assert main.get_legend() is None and fig.legends

    agg = aggregate_summary(summary, [SWEPT])
    fig = F.parameter_sweep(agg, SWEPT, ["spearman_jss_quality", "auc_top_quartile"])
    assert fig.axes[0].get_xlabel().startswith("Clients' rater types: dishonest share")

    with mpl.rc_context(fname=F.STYLE_FILE):
        first = mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]
    line = F.precision_recall_curve(pd.read_parquet(results / "precision_recall.parquet")
                                    ).axes[0].get_lines()[0]
    assert mpl.colors.to_hex(line.get_color()).lower() == mpl.colors.to_hex(first).lower()
    assert mpl.colors.to_hex(first).lower() == "#0072b2"  # Okabe-Ito, colour-blind safe


def test_report_rd_caption_uses_the_runs_bandwidth(results):
    text = (results / "report.md").read_text()
    summary = pd.read_parquet(results / "summary.parquet")
    h = summary.loc[summary[SWEPT] == 0.0, "rd_bandwidth_90"].dropna()
    assert f"bandwidth (±{np.median(h):.1f} points" in text
