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


# -- issue 17 point 11: the fast reader (pyarrow) and the column-wise JSON writer --------------

ODD_IDS = ['q"uote', "back\\slash", "ünï", "tab\tinside", "emoji😀", "comma,id", "plain"]


def mixed_history(path, rows=300, seed=7):
    """Every kind of contract (each end reason, ongoing, no feedback, $0, hidden stars, decimal
    stars, flagged client, removed, paid weeks) with ids that need JSON escaping or CSV quoting."""
    import csv

    import numpy as np

    rng = np.random.default_rng(seed)
    header = [*HEADER.split(","), "contract_id", "paid_weeks", "client_flagged", "removed"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for i in range(rows):
            start = int(rng.integers(0, 120))
            ongoing = rng.random() < 0.1
            end = "" if ongoing else str(start + int(rng.integers(0, 30)))
            reason = "" if ongoing else str(rng.choice(
                ["completed", "client_ended", "freelancer_ended", "dispute"]))
            stars = "" if ongoing or rng.random() < 0.2 else str(
                rng.choice([1, 2.5, 3, 3.7, 4, 4.5, 5]))
            private = "" if ongoing or rng.random() < 0.2 else str(int(rng.integers(0, 11)))
            w.writerow([
                f"{ODD_IDS[i % len(ODD_IDS)]}-{int(rng.integers(0, 12))}",
                f"c{int(rng.integers(0, 25))}", start, end,
                str(rng.choice([0, 50, 600, 1500.5, 12000])), stars, private, reason,
                f"{ODD_IDS[(i * 3) % len(ODD_IDS)]}#{i}",
                str(int(rng.integers(0, 40))) if rng.random() < 0.3 else "",
                str(rng.choice(["", "true", "False", "YES", "0"])) if rng.random() < 0.2 else "",
                "true" if rng.random() < 0.05 else "",
            ])
    return path


def assert_same_history(a, b):
    import dataclasses

    import numpy as np

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name.endswith("_id"):  # text: numpy objects or pandas' arrow-backed str
            assert np.asarray(x, dtype=object).tolist() == np.asarray(y, dtype=object).tolist()
            assert all(type(v) is str for v in np.asarray(x, dtype=object)), f.name
            continue
        assert x.dtype == y.dtype, f.name
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name


@pytest.mark.parametrize("rules", ["upwork-2015", "upwork-2020", "upwork-2023", "upwork-2024"])
@pytest.mark.parametrize("week", [None, 60])
def test_json_output_is_json_dumps_of_the_records(tmp_path, rules, week):
    """`--json` is built column-wise; it must be byte for byte the per-record json.dumps text."""
    from marketplace.scoring.history import read_history_csv, score_history

    for path in (EXAMPLE, mixed_history(tmp_path / "mixed.csv")):
        scored = score_history(read_history_csv(path), week=week, rules=rules)
        expected = "[\n" + ",\n".join(json.dumps(r) for r in scored.to_records()) + "\n]"
        assert scored.to_json() == expected
        args = [path, "--json", "--rules", rules] + ([] if week is None else ["--week", week])
        assert run(*args).stdout == expected + "\n"


def test_json_text_of_numbers_needing_care():
    """-0.0, NaN, inf and values that round differently by float and by decimal arithmetic."""
    import numpy as np
    import pandas as pd

    from marketplace.scoring import get_rules
    from marketplace.scoring.history import HistoryScore, _rounded_list

    x = np.array([-0.0, 0.0, np.nan, np.inf, -np.inf, 2.675, 1.005, 0.125, 80.0, 1e-9, 2.675])
    # the reference: Python's round of each finite value, None otherwise
    assert _rounded_list(x) == [round(float(v), 2) if np.isfinite(v) else None for v in x]
    assert json.dumps(_rounded_list(x)).startswith("[-0.0, 0.0, null, null, null, 2.67, 1.0, 0.12")
    freelancers = pd.DataFrame({"freelancer_id": ["a", "b"], "jss": [-0.0, np.nan],
                                **{c: [2.675, 1.005] for c in ("window_24m", "window_12m",
                                   "window_6m", "window_3m", "trending")}})
    contracts = pd.DataFrame({"contract_id": ["1", "2", "3"], "freelancer_id": ["b", "a", "b"],
                              "outcome": ["success"] * 3, "weight": [1.0, -0.0, 1.005],
                              "reason": ["ok"] * 3, "windows": [""] * 3})
    scored = HistoryScore(week=1, rules=get_rules("upwork-2023"), freelancers=freelancers,
                          contracts=contracts)
    expected = "[\n" + ",\n".join(json.dumps(r) for r in scored.to_records()) + "\n]"
    assert scored.to_json() == expected


def test_fast_reader_reads_exactly_what_the_pandas_reader_reads(tmp_path):
    import pandas as pd

    from marketplace.scoring.history import (
        _read_history_fast,
        read_history,
        read_history_csv,
        score_history,
        validate_history,
    )

    mixed = mixed_history(tmp_path / "mixed.csv")
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(EXAMPLE.read_bytes().replace(b"\n", b"\r\n"))
    blank = tmp_path / "blank.csv"  # blank lines are skipped by both readers
    blank.write_text(EXAMPLE.read_text().replace("\nB01", "\n\nB01"))
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(f'{HEADER}\n"f 1","c,1",1,3,100,5,10,"completed"\n{GOOD_ROW}\n')
    no_ids = tmp_path / "no_ids.csv"  # no contract_id column; an ongoing contract with no cells
    no_ids.write_text(f"{HEADER}\n{GOOD_ROW}\nf2,c2,0,,0,,,\n")
    for path in (EXAMPLE, mixed, crlf, blank, quoted, no_ids):
        fast = _read_history_fast(path)
        assert fast is not None, path  # clean files take the fast path ...
        slow = validate_history(read_history_csv(path))
        assert_same_history(fast, slow)  # ... to the same arrays and the same scores
        for week in (None, 40):
            a, b = score_history(fast, week=week), score_history(slow, week=week)
            assert a.to_json() == b.to_json()
            assert a.to_records(windows=True) == b.to_records(windows=True)
            pd.testing.assert_frame_equal(a.contracts, b.contracts)
            pd.testing.assert_frame_equal(a.freelancers, b.freelancers)
    # cells the pandas reader reads differently (spaces it strips, '1_000', Arabic digits, a BOM,
    # a spaced header name, a trailing comma that makes pandas take the first column as index)
    # are left to it: the same arrays (or the same error) either way
    odd = {
        "spaces.csv": HEADER + "\nf1, c1 ,1,3,100,5,10,completed \n f2,c2,1,3,100,5,10,completed\n",
        "nbsp.csv": HEADER + "\nf1\u00a0,c1,1,3,100,5,10,completed\n",
        "sep.csv": HEADER + "\nf1\x1c,c1,1,3,100,5,10,completed\n",
        "underscore.csv": HEADER + "\nf1,c1,1,3,1_000,5,10,completed\n",
        "arabic.csv": HEADER + "\nf1,c1,1,3,\u0661\u0662,5,10,completed\n",
        "bom.csv": "\ufeff" + HEADER + "\n" + GOOD_ROW + "\n",
        "header.csv": HEADER.replace(",earnings", ", earnings") + ",paid_weeks\n"
        + GOOD_ROW + ",2\n",
        "trailing.csv": HEADER + "\n" + GOOD_ROW + ",\n",
        "upper.csv": HEADER + ",removed\n" + GOOD_ROW + ",TRUE\n",
    }
    for name, text in odd.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        if name != "upper.csv":
            assert _read_history_fast(path) is None, name
        try:
            expected = validate_history(read_history_csv(path))
        except ValueError as exc:
            with pytest.raises(type(exc), match=None) as err:
                read_history(path)
            assert str(err.value) == str(exc), name
        else:
            assert_same_history(read_history(path), expected)


@pytest.mark.parametrize("cell", ["nan", "inf", "-inf", "1e400", "NaN", "Infinity", "0x10"])
def test_numbers_the_fast_reader_parses_are_refused_by_the_row(tmp_path, cell):
    res = run(write(tmp_path, GOOD_ROW, f"f1,c1,1,3,{cell},5,10,completed"))
    assert res.exit_code == 2
    assert "row 2 (CSV line 3), column 'earnings'" in res.stderr and res.stdout == ""


def test_space_class_is_pythons_whitespace():
    """The fast reader's regex must know every character str.strip() removes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from marketplace.scoring.history import _SPACE_CLASS

    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    matched = pc.match_substring_regex(pa.array(chars), f"^{_SPACE_CLASS}$").to_pylist()
    assert [c for c, m in zip(chars, matched, strict=True) if m] == [c for c in chars
                                                                     if c.isspace()]
