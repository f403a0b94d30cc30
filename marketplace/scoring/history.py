"""Score a contract history given as a table (the CSV of ``marketplace jss``).

Columns (header names exactly; see README "Scoring a contract history"):
``freelancer_id, client_id, start_week, end_week (empty = ongoing), earnings, public_stars (1-5,
empty = none/hidden), private_score (0-10, empty = none), end_reason`` and optional
``contract_id, paid_weeks, client_flagged, removed``.

Bad input raises :class:`HistoryValidationError` naming the data row (1-based, header excluded;
its CSV line is row + 1), the column, the bad value and what is allowed.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .jss import job_success_scores
from .outcomes import END_REASONS, OUTCOME_NAMES, REASONS, classify_outcomes
from .rules import DEFAULT_RULES, SCORE_NAMES, WINDOW_NAMES, RuleSet, get_rules
from .weights import contract_weights

REQUIRED_COLUMNS: tuple[str, ...] = (
    "freelancer_id", "client_id", "start_week", "end_week", "earnings", "public_stars",
    "private_score", "end_reason",
)
# Weeks are parsed as float64, exact for whole numbers up to 2**53; above it two different weeks
# can read as one (an end before its start would pass), so larger weeks are refused.
MAX_WEEK = 2**53 - 1
OPTIONAL_COLUMNS: tuple[str, ...] = ("contract_id", "paid_weeks", "client_flagged", "removed")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class HistoryValidationError(ValueError):
    """A contract history that cannot be scored; the message names row, column, value, allowed."""

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None,
                 value: Any = None, allowed: str | None = None) -> None:
        super().__init__(message)
        self.row = row
        self.column = column
        self.value = value
        self.allowed = allowed


def _bad(row: int, column: str, value: Any, allowed: str) -> HistoryValidationError:
    return HistoryValidationError(
        f"row {row} (CSV line {row + 1}), column {column!r}: value {value!r} is not allowed; "
        f"expected {allowed}",
        row=row, column=column, value=value, allowed=allowed,
    )


def read_history_csv(path: str | Path) -> pd.DataFrame:
    """Read the CSV as text (every cell a string, empty cells ""), so validation sees raw values."""
    path = Path(path)
    if path.is_dir():
        raise HistoryValidationError(f"{path} is a folder; expected a CSV file",
                                     value=str(path))
    if not path.is_file():
        raise HistoryValidationError(f"{path}: no such file", value=str(path))
    try:  # pandas renames a repeated column ('earnings.1') and would score the first silently
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            names = [n.strip() for n in next(csv.reader(fh), [])]
    except (OSError, csv.Error):
        names = []
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise HistoryValidationError(
            f"{path}: the header names column(s) {', '.join(repr(d) for d in dupes)} more than "
            "once; each column may appear once", column=dupes[0], value=dupes[0])
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise HistoryValidationError(
            f"{path}: the file is empty; expected a header line with the columns "
            + ", ".join(REQUIRED_COLUMNS)) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise HistoryValidationError(f"{path}: not a readable CSV file ({exc})") from exc
    return df


def _text(df: pd.DataFrame, column: str) -> pd.Series:
    s = df[column].astype("string")
    return s.fillna("").str.strip()


def _numbers(df: pd.DataFrame, column: str, allowed: str, *, required: bool,
             lo: float = -math.inf, hi: float = math.inf, whole: bool = False) -> np.ndarray:
    """Float array of a numeric column (NaN where empty); raises on the first bad cell."""
    text = _text(df, column)
    empty = (text == "").to_numpy()
    try:  # fast path: numpy's C parser on the whole column
        num = np.where(empty, "nan", text.to_numpy(dtype=str)).astype(np.float64)
    except ValueError:  # some cell is not a number: find it the slow way
        num = pd.to_numeric(text.where(~(text == ""), None), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan)
    bad = (~empty & ~np.isfinite(num)) | (empty & required)
    with np.errstate(invalid="ignore"):
        bad |= ~empty & ((num < lo) | (num > hi))
        if whole:
            bad |= ~empty & (num != np.round(num))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _bad(i + 1, column, text.iloc[i], allowed)
    return num


def _bools(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.zeros(len(df), dtype=bool)
    text = _text(df, column).str.lower()
    ok = text.isin(_TRUE | _FALSE).to_numpy()
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise _bad(i + 1, column, _text(df, column).iloc[i], "true or false (empty = false)")
    return text.isin(_TRUE).to_numpy()


@dataclass(frozen=True)
class ParsedHistory:
    """Validated contract arrays of a history table (one entry per row)."""

    freelancer_id: np.ndarray
    client_id: np.ndarray
    contract_id: np.ndarray
    start_week: np.ndarray
    end_week: np.ndarray
    earnings: np.ndarray
    public_stars: np.ndarray
    private_score: np.ndarray
    end_reason: np.ndarray
    paid_weeks: np.ndarray
    client_flagged: np.ndarray
    removed: np.ndarray


def validate_history(df: pd.DataFrame) -> ParsedHistory:
    """Check every cell of a history table; raises HistoryValidationError on the first problem."""
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise HistoryValidationError(
            f"missing column {missing[0]!r}; the header must contain "
            + ", ".join(REQUIRED_COLUMNS) + " (optional: " + ", ".join(OPTIONAL_COLUMNS) + ")",
            column=missing[0], allowed=", ".join(REQUIRED_COLUMNS))
    if len(df) == 0:
        raise HistoryValidationError("the history has a header but no contract rows")
    ids = {}
    for col in ("freelancer_id", "client_id"):
        t = _text(df, col)
        empty = (t == "").to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise _bad(i + 1, col, "", "a non-empty id")
        ids[col] = t.to_numpy(dtype=object)
    start = _numbers(df, "start_week", f"a whole number of weeks from 0 to {MAX_WEEK}",
                     required=True, lo=0, hi=MAX_WEEK,
                     whole=True)
    end = _numbers(df, "end_week", f"a whole number of weeks from 0 to {MAX_WEEK}, or empty "
                   "(ongoing)", required=False, lo=0, hi=MAX_WEEK, whole=True)
    before = end < start
    if before.any():
        i = int(np.flatnonzero(before)[0])
        raise _bad(i + 1, "end_week", _text(df, "end_week").iloc[i],
                   f"a week at or after start_week ({int(start[i])}), or empty (ongoing)")
    earnings = _numbers(df, "earnings", "a number of USD >= 0", required=True, lo=0)
    stars = _numbers(df, "public_stars", "a number from 1 to 5, or empty (none or hidden)",
                     required=False, lo=1, hi=5)
    private = _numbers(df, "private_score", "a whole number from 0 to 10, or empty (none)",
                       required=False, lo=0, hi=10, whole=True)
    reason_text = _text(df, "end_reason")
    ongoing = np.isnan(end)
    code = np.full(len(df), -1, dtype=np.int8)
    for k, name in enumerate(END_REASONS):
        code[(reason_text == name).to_numpy()] = k
    bad = (~ongoing & (code < 0)) | (ongoing & (reason_text != "").to_numpy())
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        allowed = ("empty, because end_week is empty (ongoing contract)" if ongoing[i]
                   else "one of " + ", ".join(END_REASONS))
        raise _bad(i + 1, "end_reason", reason_text.iloc[i], allowed)
    if "paid_weeks" in df.columns:
        paid = _numbers(df, "paid_weeks", f"a whole number of weeks from 0 to {MAX_WEEK}, or "
                        "empty", required=False, lo=0, hi=MAX_WEEK, whole=True)
    else:
        paid = np.full(len(df), np.nan)
    if "contract_id" in df.columns:
        cid = _text(df, "contract_id")
        empty = (cid == "").to_numpy()
        dup = cid.duplicated().to_numpy() & ~empty
        if empty.any() or dup.any():
            i = int(np.flatnonzero(empty | dup)[0])
            raise _bad(i + 1, "contract_id", cid.iloc[i], "a non-empty id used by no other row")
        contract_id = cid.to_numpy(dtype=object)
    else:
        contract_id = np.array([str(i + 1) for i in range(len(df))], dtype=object)
    return ParsedHistory(
        freelancer_id=ids["freelancer_id"], client_id=ids["client_id"], contract_id=contract_id,
        start_week=start, end_week=end, earnings=earnings, public_stars=stars,
        private_score=private, end_reason=code, paid_weeks=paid,
        client_flagged=_bools(df, "client_flagged"), removed=_bools(df, "removed"),
    )


def _round(x: float, digits: int = 2) -> float | None:
    return None if x is None or not np.isfinite(x) else round(float(x), digits)


def _rounded_list(x: np.ndarray, digits: int = 2) -> list[float | None]:
    """``[_round(v) for v in x]`` for a whole column (NaN/inf -> None)."""
    finite = np.isfinite(x)
    values = [round(v, digits) for v in np.where(finite, x, 0.0).tolist()]
    if finite.all():
        return values
    return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]


@dataclass(frozen=True)
class HistoryScore:
    """The scored history: one row per freelancer and one per contract."""

    week: int
    rules: RuleSet
    freelancers: pd.DataFrame
    """freelancer_id, jss, window_24m, window_12m, window_6m, window_3m, trending, n_outcomes,
    n_clients, n_success, n_neutral, n_negative (NaN = no JSS / not enough outcomes)."""
    contracts: pd.DataFrame
    """row (1-based data row), contract_id, freelancer_id, client_id, outcome, weight, reason,
    windows (names of the windows the contract counts in at ``week``, space-separated)."""

    def to_records(self, *, windows: bool = False) -> list[dict[str, Any]]:
        """The JSON shape of ``marketplace jss --json``: one object per freelancer, its contracts
        in file order. ``windows=True`` adds each contract's windows (the table output).

        Built from whole columns (one stable sort, one pass): linear in the number of contracts.
        """
        f = self.freelancers
        c = self.contracts
        codes = pd.Index(f["freelancer_id"]).get_indexer(c["freelancer_id"])
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(f) + 1)).tolist()
        cid = c["contract_id"].to_numpy(dtype=object)[order].astype(str).tolist()
        outcome = c["outcome"].to_numpy(dtype=object)[order].tolist()
        reason = c["reason"].to_numpy(dtype=object)[order].tolist()
        weight = _rounded_list(c["weight"].to_numpy(dtype=np.float64)[order])
        win = c["windows"].to_numpy(dtype=object)[order].tolist() if windows else None
        jss = _rounded_list(f["jss"].to_numpy(dtype=np.float64))
        scores = {n: _rounded_list(f[_col(n)].to_numpy(dtype=np.float64)) for n in SCORE_NAMES}
        out = []
        for i, fid in enumerate(f["freelancer_id"].astype(str).tolist()):
            contracts = []
            for k in range(bounds[i], bounds[i + 1]):
                rec = {"contract_id": cid[k], "outcome": outcome[k], "weight": weight[k],
                       "reason": reason[k]}
                if win is not None:
                    rec["windows"] = win[k]
                contracts.append(rec)
            out.append({
                "freelancer_id": fid,
                "jss": jss[i],
                "windows": {name: scores[name][i] for name in SCORE_NAMES},
                "contracts": contracts,
            })
        return out


def _col(name: str) -> str:
    return "trending" if name == "trending" else f"window_{name}"


def score_history(
    df: pd.DataFrame, week: int | None = None, rules: str | RuleSet = DEFAULT_RULES,
) -> HistoryScore:
    """Score every freelancer of a contract-history table at ``week`` (default: latest week).

    Contracts starting after ``week`` are left out. Contracts ending after ``week`` are scored as
    ongoing at ``week`` (their feedback is not given yet; paid weeks are cut at ``week``). Ongoing
    contracts are assumed paid up to the scoring week (the CSV has no payment dates).
    """
    if isinstance(rules, str):
        rules = get_rules(rules)
    h = validate_history(df)
    latest = int(np.nanmax(np.concatenate([h.start_week, h.end_week])))
    if week is None:
        week = latest
    elif week < 0 or int(week) != week or week > MAX_WEEK:
        raise HistoryValidationError(f"--week {week!r} is not allowed; expected a whole number "
                                     f"of weeks from 0 to {MAX_WEEK}", column="week", value=week)
    week = int(week)
    rows = np.flatnonzero(h.start_week <= week)
    if rows.size == 0:
        raise HistoryValidationError(
            f"no contract starts at or before week {week}; the history starts at week "
            f"{int(np.nanmin(h.start_week))}", column="week", value=week)

    start = h.start_week[rows]
    end = h.end_week[rows].copy()
    ongoing = np.isnan(end) | (end > week)
    end[ongoing] = np.nan
    private = np.where(ongoing, np.nan, h.private_score[rows])
    stars = np.where(ongoing, np.nan, h.public_stars[rows])
    end_reason = np.where(ongoing, -1, h.end_reason[rows]).astype(np.int8)
    duration = np.where(ongoing, week, end) - start + 1
    paid = np.where(np.isnan(h.paid_weeks[rows]), duration, h.paid_weeks[rows])
    paid = np.where(ongoing, np.minimum(paid, duration), paid)

    outcome, reason = classify_outcomes(
        private, stars, end_reason, h.earnings[rows], h.client_flagged[rows], h.removed[rows],
        rules, ongoing=ongoing, paid_weeks=paid, last_payment_week=np.full(rows.size, week),
        week=week,
    )
    weight = contract_weights(h.earnings[rows], paid, rules)
    f_codes, f_ids = pd.factorize(pd.Series(h.freelancer_id[rows], dtype=object), sort=True)
    c_codes, _ = pd.factorize(pd.Series(h.client_id[rows], dtype=object), sort=True)
    res = job_success_scores(
        f_codes, c_codes, end, outcome, weight, week=week, n_freelancers=len(f_ids),
        rules=rules, reason=reason,
    )
    freelancers = pd.DataFrame({
        "freelancer_id": np.asarray(f_ids, dtype=object),
        "jss": res.jss,
        **{_col(name): res.score(name) for name in SCORE_NAMES},
        "n_outcomes": res.n_outcomes,
        "n_clients": res.n_clients,
        "n_success": res.n_success,
        "n_neutral": res.n_neutral,
        "n_negative": res.n_negative,
    })
    # Windows each contract counts in at this week (ongoing ones are dated at the scoring week).
    age = week - np.where(np.isnan(end), week, end)
    counted = outcome < 3
    if rules.missing_feedback == "negative_if_large_share":
        counted |= reason == REASONS.index("no_feedback")
    # one bit per window, then a lookup of the joined names (no Python loop over contracts)
    bits = np.zeros(age.shape, dtype=np.int64)
    for i, length in enumerate(rules.window_weeks):
        bits |= (age < length).astype(np.int64) << i
    bits[~counted] = 0
    names = np.array([" ".join(n for i, n in enumerate(WINDOW_NAMES) if code >> i & 1)
                      for code in range(1 << len(WINDOW_NAMES))], dtype=object)
    in_windows = names[bits]
    contracts = pd.DataFrame({
        "row": rows + 1,
        "contract_id": h.contract_id[rows],
        "freelancer_id": h.freelancer_id[rows],
        "client_id": h.client_id[rows],
        "outcome": np.asarray(OUTCOME_NAMES, dtype=object)[outcome],
        "weight": weight,
        "reason": np.asarray(REASONS, dtype=object)[reason],
        "windows": in_windows,
    })
    return HistoryScore(week=week, rules=rules, freelancers=freelancers, contracts=contracts)
