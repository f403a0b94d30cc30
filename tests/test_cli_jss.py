"""`marketplace jss`: the example history, the JSON shape, and every kind of bad input."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketplace.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "contracts.csv"
HEADER = ("freelancer_id,client_id,start_week,end_week,earnings,public_stars,private_score,"
          "end_reason")
GOOD_ROW = "f1,c1,1,3,100,5,10,completed"

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["jss", *map(str, args)])


def test_example_json_shape():
    res = run(EXAMPLE, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert isinstance(data, list) and data
    for obj in data:
        assert set(obj) == {"freelancer_id", "jss", "windows", "contracts"}
        assert isinstance(obj["freelancer_id"], str)
        assert obj["jss"] is None or isinstance(obj["jss"], float | int)
        assert set(obj["windows"]) == {"24m", "12m", "6m", "3m", "trending"}
        for v in obj["windows"].values():
            assert v is None or 0 <= v <= 100
        for c in obj["contracts"]:
            assert set(c) == {"contract_id", "outcome", "weight", "reason"}
            assert c["outcome"] in {"success", "neutral", "negative", "excluded"}
            assert 1 <= c["weight"] <= 8
    by_id = {o["freelancer_id"]: o for o in data}
    # The example shows each rule (see README): check the ones it is there to show.
    assert by_id["dev"]["jss"] is None  # newcomer, one contract
    assert by_id["eli"]["jss"] is None  # two contracts, one client
    assert by_id["ben"]["jss"] == 80.0  # 9 successes + 1 dispute
    reasons = {c["contract_id"]: (c["outcome"], c["reason"])
               for o in data for c in o["contracts"]}
    assert reasons["B10"] == ("negative", "dispute")
    assert reasons["C02"] == ("negative", "private_score")  # full refund, private 3
    assert reasons["C03"] == ("excluded", "zero_earnings")  # $0 with positive feedback
    assert reasons["C05"] == ("excluded", "no_feedback")
    assert reasons["A05"] == ("excluded", "flagged_client")
    assert reasons["A06"] == ("excluded", "removed")
    assert reasons["A07"] == ("success", "ongoing_long_term")
    assert reasons["F03"] == ("negative", "public_stars")


def test_example_table_output():
    res = run(EXAMPLE)
    assert res.exit_code == 0, res.output
    assert "Job Success Score at week 120" in res.stdout
    assert "none" in res.stdout and "ongoing_long_term" in res.stdout


def test_week_and_rules_options():
    early = json.loads(run(EXAMPLE, "--json", "--week", "70").stdout)
    ids = {c["contract_id"] for o in early for c in o["contracts"]}
    assert "A07" not in ids and "A05" in ids  # contracts starting after week 70 left out
    r15 = json.loads(run(EXAMPLE, "--json", "--rules", "upwork-2015").stdout)
    cara = next(o for o in r15 if o["freelancer_id"] == "cara")
    c03 = next(c for c in cara["contracts"] if c["contract_id"] == "C03")
    assert c03["outcome"] == "success"  # 2015: $0 positive jobs counted


def write(tmp_path, *rows, header=HEADER):
    p = tmp_path / "h.csv"
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


@pytest.mark.parametrize(
    ("row", "column", "allowed"),
    [
        ("f1,c1,1,3,100,6,10,completed", "public_stars", "1 to 5"),
        ("f1,c1,1,3,100,0.5,10,completed", "public_stars", "1 to 5"),
        ("f1,c1,1,3,100,5,11,completed", "private_score", "0 to 10"),
        ("f1,c1,1,3,100,5,-1,completed", "private_score", "0 to 10"),
        ("f1,c1,1,3,100,5,ten,completed", "private_score", "0 to 10"),
        ("f1,c1,5,3,100,5,10,completed", "end_week", "at or after start_week"),
        ("f1,c1,1,3,100,5,10,finished", "end_reason", "completed, client_ended"),
        ("f1,c1,1,3,-5,5,10,completed", "earnings", ">= 0"),
        ("f1,,1,3,100,5,10,completed", "client_id", "non-empty"),
    ],
)
def test_bad_cell_exits_2_naming_row_and_column(tmp_path, row, column, allowed):
    res = run(write(tmp_path, GOOD_ROW, row))
    assert res.exit_code == 2
    assert "row 2 (CSV line 3)" in res.stderr
    assert f"column {column!r}" in res.stderr
    assert allowed in res.stderr
    assert res.stdout == ""


def test_missing_column_exits_2(tmp_path):
    header = HEADER.replace(",private_score", "")
    res = run(write(tmp_path, "f1,c1,1,3,100,5,completed", header=header))
    assert res.exit_code == 2
    assert "missing column 'private_score'" in res.stderr


def test_unknown_rule_set_exits_2():
    res = run(EXAMPLE, "--rules", "upwork-1999")
    assert res.exit_code == 2
    assert "unknown rule set 'upwork-1999'" in res.stderr and "upwork-2024" in res.stderr


def test_missing_file_and_empty_file_exit_2(tmp_path):
    assert run(tmp_path / "nope.csv").exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    res = run(empty)
    assert res.exit_code == 2 and "empty" in res.stderr


def test_bad_optional_columns(tmp_path):
    header = HEADER + ",client_flagged"
    res = run(write(tmp_path, GOOD_ROW + ",maybe", header=header))
    assert res.exit_code == 2
    assert "row 1 (CSV line 2), column 'client_flagged'" in res.stderr
    header = HEADER + ",contract_id"
    res = run(write(tmp_path, GOOD_ROW + ",k1", GOOD_ROW + ",k1", header=header))
    assert res.exit_code == 2 and "column 'contract_id'" in res.stderr


# -- issue 17 ---------------------------------------------------------------------------------


def test_duplicate_header_column_exits_2(tmp_path):
    res = run(write(tmp_path, GOOD_ROW + ",999", header=HEADER + ",earnings"))
    assert res.exit_code == 2
    assert "'earnings' more than once" in res.stderr
    assert res.stdout == ""


def test_directory_given_as_file_exits_2_saying_so(tmp_path):
    res = run(tmp_path)
    assert res.exit_code == 2
    assert "is a folder; expected a CSV file" in res.stderr


@pytest.mark.parametrize("column", ["start_week", "end_week"])
def test_weeks_above_2_to_53_are_refused(tmp_path, column):
    big = str(2**53 + 2)  # reads as a float equal to 2**53 + 2 ...
    row = (f"f1,c1,{big},{2**53 + 1},100,5,10,completed" if column == "start_week"
           else f"f1,c1,1,{big},100,5,10,completed")  # ... and an end before it would pass
    res = run(write(tmp_path, GOOD_ROW, row))
    assert res.exit_code == 2, res.output
    assert f"column {column!r}" in res.stderr and str(2**53 - 1) in res.stderr
    assert run(EXAMPLE, "--week", str(2**53 + 8)).exit_code == 2


def test_json_and_table_agree_on_every_contract_in_file_order():
    """The records are built from whole columns: each freelancer's contracts in file order,
    and the table shows every contract's windows (no lookup by contract id)."""
    import csv

    data = json.loads(run(EXAMPLE, "--json").stdout)
    with EXAMPLE.open() as fh:
        rows = list(csv.DictReader(fh))
    for obj in data:
        ids = [c["contract_id"] for c in obj["contracts"]]
        in_file = [r["contract_id"] for r in rows if r["freelancer_id"] == obj["freelancer_id"]]
        assert ids == [i for i in in_file if i in ids]
    table = run(EXAMPLE).stdout
    for obj in data:
        for c in obj["contracts"]:
            assert c["contract_id"] in table


def test_table_output_does_not_reindex_contracts_per_freelancer(monkeypatch):
    """The old printer re-indexed every contract once per freelancer (quadratic)."""
    import pandas as pd

    calls = []
    real = pd.DataFrame.set_index

    def counting(self, *a, **k):
        calls.append(a)
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "set_index", counting)
    res = run(EXAMPLE)
    assert res.exit_code == 0
    assert calls == []
