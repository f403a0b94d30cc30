"""The researcher's CLI: params, --version, completion, readable help, lazy imports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketplace.cli import app
from marketplace.model import ModelParams

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def invoke(*args: str, **kwargs):
    return runner.invoke(app, list(args), env={"COLUMNS": "80"}, **kwargs)


def test_params_lists_every_schema_parameter_with_default_unit_bounds():
    from marketplace.model.params import field_metadata

    res = invoke("params", "--json")
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["path"] for r in rows] == [r["path"] for r in field_metadata()]
    by_path = {r["path"]: r for r in rows}
    assert by_path["weeks"]["default"] == ModelParams().weeks
    assert by_path["weeks"]["unit"] == "weeks"
    assert by_path["weeks"]["bounds"] == "[1, inf)"
    assert by_path["clients.rater_mix.dishonest"]["bounds"] == "[0, 1]"
    assert "beta" in by_path["freelancers.quality.kind"]["bounds"]
    # the unit sentence moves to its own column
    assert "Unit:" not in by_path["freelancers.price_median_usd"]["description"]
    assert by_path["freelancers.price_median_usd"]["unit"] == "USD per hour"


def test_params_pattern_filters_and_unknown_pattern_is_exit_2():
    res = invoke("params", "clients.rater_mix.*", "--json")
    assert res.exit_code == 0, res.output
    assert {r["path"] for r in json.loads(res.stdout)} == {
        f"clients.rater_mix.{k}" for k in ("honest", "lenient", "harsh", "dishonest")}
    res = invoke("params", "rater_mix")
    assert res.exit_code == 0 and "clients.rater_mix.harsh" in res.stdout
    res = invoke("params", "no_such_parameter_xyz")
    assert res.exit_code == 2


def test_version():
    from marketplace import __version__

    res = invoke("--version")
    assert res.exit_code == 0
    assert res.stdout.strip() == f"jss-market {__version__}"


def test_shell_completion_is_offered():
    res = invoke("--help")
    assert "--install-completion" in res.stdout and "--show-completion" in res.stdout


def test_flags_show_no_type_and_set_example_is_whole():
    res = invoke("run", "--help")
    assert res.exit_code == 0
    assert "<bool>" not in res.stdout
    # the long --set example is printed whole, even at 80 columns
    assert "--set sweep.grid.clients.rater_mix.dishonest='[0, 0.2]'" in res.stdout
    assert "…" not in res.stdout


def test_list_validate_help_do_not_import_heavy_modules():
    """`list`, `validate` and `--help` must start fast (issue 15): none of them may import Mesa,
    matplotlib, scipy.stats, statsmodels, dask, pandas, pyarrow or even numpy (a config is
    checked against the parameter schema without building anything; their wall time is measured
    by benchmarks/bench_tools.py, not asserted)."""
    heavy = ("mesa", "matplotlib", "scipy.stats", "statsmodels", "dask", "rdrobust", "pandas",
             "pyarrow", "numpy")
    code = (
        "import sys\n"
        "from marketplace.cli import app\n"
        "try:\n"
        "    app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    for args in (["--help"], ["list"], ["validate", "experiments/quickstart.yaml"],
                 ["validate", "experiments/sensitivity.yaml"], ["params", "weeks"]):
        out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                             text=True, check=True, env={"PYTHONPATH": str(ROOT),
                                                         "COLUMNS": "100", "PATH": ""})
        assert out.stdout.strip().splitlines()[-1] == "[]", (args, out.stdout[-300:])


@pytest.fixture(scope="module")
def two_experiments(tmp_path_factory):
    """Two synthetic results folders with the same swept values, five runs per combination."""
    from marketplace.analysis.synthetic import write_synthetic_results

    base = tmp_path_factory.mktemp("compare")
    a = write_synthetic_results(base / "exp_a", n_freelancers=500, replications=5)
    b = write_synthetic_results(base / "exp_b", n_freelancers=900, replications=5)
    return a, b


def test_compare_differences_match_the_summaries(two_experiments, tmp_path):
    import pandas as pd

    a, b = two_experiments
    out = tmp_path / "cmp"
    res = invoke("compare", str(a), str(b), "--metrics",
                 "spearman_jss_quality,density_test_p_90", "--out", str(out))
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "compare.csv")
    assert (out / "compare.png").stat().st_size > 5_000 and (out / "compare.pdf").is_file()
    sa, sb = pd.read_parquet(a / "summary.parquet"), pd.read_parquet(b / "summary.parquet")
    swept = "clients.rater_mix.dishonest"
    for value in (0.0, 0.2):
        row = table.loc[(table[swept] == value) & (table["metric"] == "spearman_jss_quality")]
        row = row.iloc[0]
        expected = (sb.loc[sb[swept] == value, "spearman_jss_quality"].mean()
                    - sa.loc[sa[swept] == value, "spearman_jss_quality"].mean())
        assert row["difference"] == pytest.approx(expected)
        assert row["ci_low"] <= row["difference"] <= row["ci_high"]
        assert row["n_a"] == row["n_b"] == 5
    # a p-value metric is compared as the share of runs below 0.05
    assert "density_test_p_90_share_below_05" in set(table["metric"])
    assert "exp_b minus exp_a" in res.stdout and "Spearman" in res.stdout


def test_compare_bad_input_is_exit_2(two_experiments, tmp_path):
    a, _ = two_experiments
    assert invoke("compare", str(a), str(tmp_path)).exit_code == 2
    res = invoke("compare", str(a), str(a), "--metrics", "no_such_metric", "--out",
                 str(tmp_path / "x"))
    assert res.exit_code == 2 and "no_such_metric" in res.output


def test_export_csv_and_parquet(two_experiments, tmp_path):
    import pandas as pd

    a, _ = two_experiments
    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        res = invoke("export", str(a), "--format", fmt, "--out", str(out))
        assert res.exit_code == 0, res.output
        summary = (pd.read_csv(out / "summary.csv") if fmt == "csv"
                   else pd.read_parquet(out / "summary.parquet"))
        assert len(summary) == 10 and "run_id" in summary.columns
        assert (out / f"jss_bands.{fmt}").is_file()
    assert invoke("export", str(a), "--format", "xlsx").exit_code == 2


def test_project_files_stand_alone():
    """LICENSE, CITATION.cff and CHANGELOG agree with pyproject; the ODD cites docs/sources.md,
    not a file outside the repository; .gitignore's results/README.md exists."""
    import tomllib

    import yaml

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and "MIT License" in (ROOT / "LICENSE").read_text()
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == project["version"] and citation["license"] == "MIT"
    assert f"## [{project['version']}]" in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "marketplace" / "py.typed").is_file()
    assert (ROOT / "results" / "README.md").is_file()
    odd = (ROOT / "docs" / "ODD.md").read_text()
    assert "docs/sources.md" in odd
    # the project stands alone: every file the ODD cites by a relative path is in the repository
    cited = set(re.findall(r"`((?:\.\./)*[\w.-]+(?:/[\w.*-]+)+\.(?:md|py|yaml|txt))`", odd))
    missing = [c for c in cited if "*" not in c
               and not any((base / c).resolve().is_file() for base in (ROOT, ROOT / "marketplace"))]
    assert not missing, f"docs/ODD.md cites files the repository does not hold: {missing}"
    sources = (ROOT / "docs" / "sources.md").read_text()
    assert sources.count("https://") > 40
