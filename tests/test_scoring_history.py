"""score_history: the pandas front end and its validation."""

import numpy as np
import pandas as pd
import pytest

from marketplace.scoring import get_rules
from marketplace.scoring.history import HistoryValidationError, score_history


def table(rows):
    cols = ["freelancer_id", "client_id", "start_week", "end_week", "earnings", "public_stars",
            "private_score", "end_reason"]
    return pd.DataFrame(rows, columns=cols)


def test_numeric_dataframe_scores_like_text():
    df = table([["f", "a", 0, 2, 100, 5, 10, "completed"],
                ["f", "b", 3, 5, 100, np.nan, 3, "client_ended"]])
    res = score_history(df)
    assert res.week == 5
    assert res.freelancers.loc[0, "jss"] == 0.0
    text = df.astype(str).replace("nan", "")
    assert score_history(text).freelancers.loc[0, "jss"] == 0.0


def test_error_carries_row_column_value():
    df = table([["f", "a", 0, 2, 100, 5, 10, "completed"],
                ["f", "b", 3, 5, 100, 7, 3, "client_ended"]])
    with pytest.raises(HistoryValidationError) as err:
        score_history(df)
    assert (err.value.row, err.value.column) == (2, "public_stars")
    assert "row 2 (CSV line 3)" in str(err.value)


def test_ongoing_row_must_not_have_end_reason():
    df = table([["f", "a", 0, "", 100, "", "", "completed"]])
    with pytest.raises(HistoryValidationError, match="end_reason"):
        score_history(df)


def test_week_before_end_makes_contract_ongoing_and_hides_feedback():
    df = table([["f", "a", 0, 30, 5000, 5, 0, "completed"],
                ["f", "b", 0, 5, 300, 5, 10, "completed"],
                ["f", "c", 0, 6, 300, 5, 10, "completed"]])
    res = score_history(df, week=20)
    # At week 20 the first contract is ongoing, paid 21 weeks: long-term success, not negative.
    c = res.contracts.set_index("row")
    assert c.loc[1, "reason"] == "ongoing_long_term" and c.loc[1, "outcome"] == "success"
    assert res.freelancers.loc[0, "jss"] == 100.0
    assert score_history(df).freelancers.loc[0, "jss"] < 100  # at week 30 the negative counts


def test_rules_by_name_or_object():
    df = table([["f", "a", 0, 2, 100, 5, 10, "completed"], ["f", "b", 0, 2, 100, 5, 10,
                                                            "completed"]])
    assert score_history(df, rules="upwork-2020").freelancers.loc[0, "jss"] != 100  # NaN: 4 needed
    assert score_history(df, rules=get_rules("upwork-2023")).freelancers.loc[0, "jss"] == 100


def test_missing_feedback_large_share_counts_negative_2015():
    rows = [["f", c, 0, 2, 100, 5, 10, "completed"] for c in "abc"]
    rows.append(["f", "d", 0, 2, 100, "", "", "client_ended"])  # 1 of 4 = 25%: not above
    assert score_history(table(rows), rules="upwork-2015").freelancers.loc[0, "jss"] == 100
    rows.append(["f", "e", 0, 2, 100, "", "", "client_ended"])  # 2 of 5 = 40%: counts
    res = score_history(table(rows), rules="upwork-2015")
    assert res.freelancers.loc[0, "jss"] == pytest.approx(100 * (3 - 2) / 5)
    # From Nov 2020 they are excluded (2023 rules: 3 outcomes are enough to show a JSS).
    assert score_history(table(rows), rules="upwork-2023").freelancers.loc[0, "jss"] == 100
