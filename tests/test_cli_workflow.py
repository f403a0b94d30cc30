"""The researcher's CLI: params, --version, completion, readable help, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from marketplace.cli import app

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
    assert by_path["weeks"]["default"] == 260 and by_path["weeks"]["unit"] == "weeks"
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
    matplotlib, scipy.stats, statsmodels or dask (their wall time is measured, not asserted)."""
    heavy = ("mesa", "matplotlib", "scipy.stats", "statsmodels", "dask", "rdrobust")
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
                 ["params", "weeks"]):
        out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                             text=True, check=True, env={"PYTHONPATH": str(ROOT),
                                                         "COLUMNS": "100", "PATH": ""})
        assert out.stdout.strip().splitlines()[-1] == "[]", (args, out.stdout[-300:])
