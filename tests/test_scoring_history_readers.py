"""The two readers of a contract-history CSV and the JSON writer, checked against their reference.

``read_history`` reads a clean file with pyarrow (``_read_history_fast``) and anything the fast
reader is not sure about with the exact pandas path (``validate_history(read_history_csv(...))``);
both must give the same arrays and refuse the same cells. ``HistoryScore.to_json`` promises the
text of ``json.dumps`` of ``to_records()``. (Gaps found by mutation testing, docs/mutation.md.)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from marketplace.scoring import (
    HistoryValidationError,
    get_rules,
    read_history,
    read_history_csv,
    score_history,
    score_history_alternatives,
    validate_history,
)
from marketplace.scoring.history import _read_history_fast

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "contracts.csv"
HEADER = ("contract_id,freelancer_id,client_id,start_week,end_week,earnings,public_stars,"
          "private_score,end_reason,paid_weeks,client_flagged,removed")
# every edge a clean file may hold: week 0, earnings 0 and fractional, half stars, private 0,
# an ongoing contract (empty end_week and end_reason), flags spelled as the readers allow
CLEAN_ROWS = [
    "c1,ana,acme,0,4,0,4.5,0,completed,,,",
    "c2,ana,bolt,3,9,12.5,,,client_ended,5,true,",
    "c3,bo,acme,5,,300,,,,,,",
    "c4,bo,corvid,6,8,2000,5,10,dispute,2,,yes",
]


def _csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "history.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _assert_same(a, b) -> None:
    for name in ("freelancer_id", "client_id", "contract_id"):
        assert [str(x) for x in getattr(a, name)] == [str(x) for x in getattr(b, name)], name
    for name in ("start_week", "end_week", "earnings", "public_stars", "private_score",
                 "end_reason", "paid_weeks", "client_flagged", "removed"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_fast_reader_reads_every_edge_of_a_clean_file_as_the_pandas_reader_does(tmp_path):
    path = _csv(tmp_path, CLEAN_ROWS)
    fast = _read_history_fast(path)
    assert fast is not None  # a clean file is read by the fast reader, not handed back
    exact = validate_history(read_history_csv(path))
    _assert_same(fast, exact)
    _assert_same(read_history(path), exact)
    np.testing.assert_array_equal(exact.start_week, [0, 3, 5, 6])
    np.testing.assert_array_equal(exact.earnings, [0, 12.5, 300, 2000])
    np.testing.assert_array_equal(exact.public_stars, [4.5, np.nan, np.nan, 5])
    np.testing.assert_array_equal(exact.private_score, [0, np.nan, np.nan, 10])
    assert np.isnan(exact.end_week[2])
    np.testing.assert_array_equal(exact.client_flagged, [False, True, False, False])
    np.testing.assert_array_equal(exact.removed, [False, False, False, True])
    assert [str(x) for x in exact.contract_id] == ["c1", "c2", "c3", "c4"]


def test_fast_reader_reads_a_file_without_the_optional_columns_as_the_pandas_reader_does(
        tmp_path):
    header = ",".join(c for c in HEADER.split(",")
                      if c not in ("contract_id", "paid_weeks", "client_flagged", "removed"))
    rows = [",".join(r.split(",")[1:9]) for r in CLEAN_ROWS]
    path = _csv(tmp_path, rows, header=header)
    fast = _read_history_fast(path)
    assert fast is not None
    exact = validate_history(read_history_csv(path))
    _assert_same(fast, exact)
    assert [str(x) for x in exact.contract_id] == ["1", "2", "3", "4"]  # row numbers
    assert np.isnan(exact.paid_weeks).all() and exact.paid_weeks.shape == (4,)


def test_fast_reader_reads_the_example_history_as_the_pandas_reader_does():
    fast = _read_history_fast(EXAMPLE)
    assert fast is not None
    _assert_same(fast, validate_history(read_history_csv(EXAMPLE)))


# (row to put in place of CLEAN_ROWS[1], column the error must name)
BAD_ROWS = {
    "fractional start week": ("c2,ana,bolt,1.5,9,12.5,,,client_ended,,,", "start_week"),
    "empty start week": ("c2,ana,bolt,,9,12.5,,,client_ended,,,", "start_week"),
    "fractional paid weeks": ("c2,ana,bolt,3,9,12.5,,,client_ended,2.5,,", "paid_weeks"),
    "negative start week": ("c2,ana,bolt,-1,9,12.5,,,client_ended,,,", "start_week"),
    "empty earnings": ("c2,ana,bolt,3,9,,,,client_ended,,,", "earnings"),
    "private score below 0": ("c2,ana,bolt,3,9,12.5,,-1,client_ended,,,", "private_score"),
    "private score above 10": ("c2,ana,bolt,3,9,12.5,,11,client_ended,,,", "private_score"),
    "empty contract id": (",ana,bolt,3,9,12.5,,,client_ended,,,", "contract_id"),
    "end reason of an ongoing contract": ("c2,ana,bolt,3,,12.5,,,completed,,,", "end_reason"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_both_readers_refuse_a_bad_cell_and_name_what_is_allowed(tmp_path, case):
    row, column = BAD_ROWS[case]
    path = _csv(tmp_path, [CLEAN_ROWS[0], row, *CLEAN_ROWS[2:]])
    assert _read_history_fast(path) is None
    with pytest.raises(HistoryValidationError) as err:
        read_history(path)
    assert err.value.column == column
    assert err.value.row == 2
    assert isinstance(err.value.allowed, str) and err.value.allowed in str(err.value)


def test_end_reason_of_an_ongoing_contract_is_refused_because_it_is_ongoing(tmp_path):
    row, _ = BAD_ROWS["end reason of an ongoing contract"]
    with pytest.raises(HistoryValidationError) as err:
        read_history(_csv(tmp_path, [CLEAN_ROWS[0], row]))
    assert err.value.allowed.startswith("empty, because end_week is empty")


def test_a_repeated_header_column_is_refused(tmp_path):
    path = _csv(tmp_path, [row + ",1" for row in CLEAN_ROWS], header=HEADER + ",earnings")
    assert _read_history_fast(path) is None
    with pytest.raises(HistoryValidationError) as err:
        read_history(path)
    assert err.value.column == "earnings"


def test_to_json_is_the_json_of_the_records():
    score = score_history(read_history(EXAMPLE), rules="upwork-2023")
    expected = "[\n" + ",\n".join(json.dumps(r) for r in score.to_records()) + "\n]"
    assert score.to_json() == expected
    assert len(json.loads(score.to_json())) == len(score.freelancers) > 1


def test_alternative_score_table_records_its_week_and_rules():
    table = score_history_alternatives(read_history_csv(EXAMPLE), week=100,
                                       rules=get_rules("upwork-2023"))
    assert table.attrs == {"week": 100, "rules": "upwork-2023"}


def test_alternative_score_table_weighs_clients_by_their_private_ratings():
    # client h gives 0 where every other client gives 10: its negative on ana weighs less in
    # the debiased score than in the plain success share (5 of 6)
    rows = [f"a{i},ana,c{i},1,3,500,5,10,completed" for i in range(5)]
    rows.append("a5,ana,h,1,3,500,1,0,completed")
    for who in ("bo", "cy", "di"):
        rows += [f"{who}{i},{who},d{i},1,3,500,5,10,completed" for i in range(3)]
        rows.append(f"{who}h,{who},h,1,3,500,1,0,completed")
    header = ",".join(HEADER.split(",")[:9])
    import pandas as pd

    df = pd.DataFrame([r.split(",") for r in rows], columns=header.split(","))
    table = score_history_alternatives(df, rules="upwork-2023").set_index("freelancer_id")
    assert table.loc["ana", "n_outcomes"] == 6
    assert table.loc["ana", "debiased"] > 100 * 5 / 6 + 1
