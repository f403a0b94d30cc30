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
from collections.abc import Sequence
from dataclasses import dataclass, field
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


_NUMERIC_COLUMNS = ("start_week", "end_week", "earnings", "public_stars", "private_score",
                    "paid_weeks")
# every character Python's str.strip() removes (str.isspace), in RE2 syntax: a cell with one at
# either end is read by the exact pandas path
_SPACE_CLASS = (r"[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
                r"\x{202f}\x{205f}\x{3000}]")
_EDGE_SPACE = f"^{_SPACE_CLASS}|{_SPACE_CLASS}$"


def read_history(path: str | Path) -> ParsedHistory:
    """Read and validate a contract-history CSV: ``validate_history(read_history_csv(path))``,
    the same arrays and the same errors, but typed columns read by pyarrow (1M rows in about a
    second instead of half a minute). Any file the fast reader is not sure to read exactly as the
    pandas reader does (a parse or type error, a bad cell, cells with surrounding spaces, an odd
    header) is read again by the pandas path, which names the bad row.
    """
    parsed = _read_history_fast(Path(path))
    if parsed is not None:
        return parsed
    return validate_history(read_history_csv(path))


def _read_history_fast(path: Path) -> ParsedHistory | None:
    """The arrays of a clean history read with pyarrow; None = let the exact pandas path decide."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency of pandas 3
        return None
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            names = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration):
        return None
    if (not names or len(set(names)) != len(names) or any(n != n.strip() for n in names)
            or names[0].startswith("\ufeff") or any(c not in names for c in REQUIRED_COLUMNS)):
        return None
    types = {n: pa.float64() if n in _NUMERIC_COLUMNS else pa.string() for n in names}
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types, null_values=[""], strings_can_be_null=False,
                quoted_strings_can_be_null=True),
        )
    except (pa.ArrowException, OSError, ValueError):
        return None
    if table.num_rows == 0 or table.column_names != names:
        return None
    n = table.num_rows
    text = {}
    for col in names:
        if col in _NUMERIC_COLUMNS:
            continue
        arr = table.column(col)
        if arr.null_count or pc.any(pc.match_substring_regex(arr, _EDGE_SPACE)).as_py():
            return None
        text[col] = arr

    def numbers(column: str, *, required: bool, lo: float = -math.inf, hi: float = math.inf,
                whole: bool = False) -> np.ndarray | None:
        arr = table.column(column)
        empty = arr.is_null().to_numpy(zero_copy_only=False)
        num = arr.to_numpy(zero_copy_only=False).astype(np.float64)  # nulls -> NaN
        if _bad_numbers(num, empty, required=required, lo=lo, hi=hi, whole=whole).any():
            return None
        return num

    start = numbers("start_week", required=True, lo=0, hi=MAX_WEEK, whole=True)
    end = numbers("end_week", required=False, lo=0, hi=MAX_WEEK, whole=True)
    earnings = numbers("earnings", required=True, lo=0)
    stars = numbers("public_stars", required=False, lo=1, hi=5)
    private = numbers("private_score", required=False, lo=0, hi=10, whole=True)
    paid = (numbers("paid_weeks", required=False, lo=0, hi=MAX_WEEK, whole=True)
            if "paid_weeks" in names else np.full(n, np.nan))
    if any(x is None for x in (start, end, earnings, stars, private, paid)) or (end < start).any():
        return None
    ids = {}
    for col in ("freelancer_id", "client_id"):
        if pc.any(pc.equal(text[col], "")).as_py():
            return None
        ids[col] = _strings(text[col])
    # few distinct words: decide each with the pandas path's own rules, then map back
    def words(column: str) -> tuple[list[str], np.ndarray]:
        encoded = pc.dictionary_encode(text[column]).combine_chunks()
        return encoded.dictionary.to_pylist(), encoded.indices.to_numpy(zero_copy_only=False)

    reason_words, reason_index = words("end_reason")
    code = np.array([END_REASONS.index(w) if w in END_REASONS else -1 for w in reason_words],
                    dtype=np.int8)[reason_index]
    empty_reason = np.array([w == "" for w in reason_words], dtype=bool)[reason_index]
    ongoing = np.isnan(end)
    if ((~ongoing & (code < 0)) | (ongoing & ~empty_reason)).any():
        return None
    flags = {}
    for col in ("client_flagged", "removed"):
        if col not in names:
            flags[col] = np.zeros(n, dtype=bool)
            continue
        flag_words, flag_index = words(col)
        lower = [w.lower() for w in flag_words]
        if any(w not in _TRUE | _FALSE for w in lower):
            return None
        flags[col] = np.array([w in _TRUE for w in lower], dtype=bool)[flag_index]
    if "contract_id" in names:
        cid = text["contract_id"]
        if pc.any(pc.equal(cid, "")).as_py() or pc.count_distinct(cid).as_py() != n:
            return None
        contract_id = _strings(cid)
    else:
        contract_id = np.arange(1, n + 1).astype(str).astype(object)
    return ParsedHistory(
        freelancer_id=ids["freelancer_id"], client_id=ids["client_id"], contract_id=contract_id,
        start_week=start, end_week=end, earnings=earnings, public_stars=stars,
        private_score=private, end_reason=code, paid_weeks=paid,
        client_flagged=flags["client_flagged"], removed=flags["removed"],
    )


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
    bad = _bad_numbers(num, empty, required=required, lo=lo, hi=hi, whole=whole)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _bad(i + 1, column, text.iloc[i], allowed)
    return num


def _bad_numbers(num: np.ndarray, empty: np.ndarray, *, required: bool, lo: float, hi: float,
                 whole: bool) -> np.ndarray:
    """Mask of the cells of a parsed numeric column that are not allowed (both readers)."""
    bad = (~empty & ~np.isfinite(num)) | (empty & required)
    with np.errstate(invalid="ignore"):
        bad |= ~empty & ((num < lo) | (num > hi))
        if whole:
            bad |= ~empty & (num != np.round(num))
    return bad


def _bools(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.zeros(len(df), dtype=bool)
    text = _text(df, column).str.lower()
    ok = text.isin(_TRUE | _FALSE).to_numpy()
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise _bad(i + 1, column, _text(df, column).iloc[i], "true or false (empty = false)")
    return text.isin(_TRUE).to_numpy()


def _string_dtype() -> Any:
    """The dtype pandas gives a column of Python strings (pandas 3: arrow-backed 'str')."""
    return pd.Series(["x"]).dtype


def _strings(arrow_strings: Any) -> Any:
    """A pyarrow string column as pandas holds text, without a Python object per cell when
    pandas keeps text in pyarrow (pandas 3); else a numpy object array as the pandas path gives."""
    dtype = _string_dtype()
    if getattr(dtype, "storage", None) == "pyarrow":
        return pd.array(arrow_strings, dtype=dtype)
    return np.asarray(arrow_strings.to_numpy(zero_copy_only=False), dtype=object)


def _named(codes: np.ndarray, names: Sequence[str]) -> Any:
    """``np.asarray(names, dtype=object)[codes]`` as a text column (see :func:`_strings`)."""
    if getattr(_string_dtype(), "storage", None) != "pyarrow":
        return np.asarray(names, dtype=object)[codes]
    import pyarrow as pa

    return _strings(pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(codes, dtype=np.int32)), pa.array(list(names), type=pa.string()),
    ).cast(pa.string()))


@dataclass(frozen=True)
class ParsedHistory:
    """Validated contract arrays of a history table (one entry per row). The id columns are
    numpy object arrays of str, or pandas text arrays when read by the fast reader."""

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


def _factorize_floats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct values of a float column, by bit pattern (-0.0 and 0.0 stay apart)."""
    codes, bits = pd.factorize(np.ascontiguousarray(x, dtype=np.float64).view(np.int64))
    return codes, np.asarray(bits, dtype=np.int64).view(np.float64)


def _rounded_list(x: np.ndarray, digits: int = 2) -> list[float | None]:
    """``[round(v, digits) for v in x]`` for a whole column (NaN/inf -> None); Python's
    ``round`` runs once per distinct value (a score column holds few)."""
    codes, uniques = _factorize_floats(x)
    finite = np.isfinite(uniques)
    values = [round(v, digits) if ok else None
              for v, ok in zip(uniques.tolist(), finite.tolist(), strict=True)]
    return np.asarray(values, dtype=object)[codes].tolist()


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
    freelancer_index: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Row of ``freelancers`` of each contract (int64), known to ``score_history``; None = look
    the ids up."""

    def _freelancer_rows(self) -> np.ndarray:
        if self.freelancer_index is not None:
            return self.freelancer_index
        return pd.Index(self.freelancers["freelancer_id"]).get_indexer(
            self.contracts["freelancer_id"])

    def to_records(self, *, windows: bool = False) -> list[dict[str, Any]]:
        """The JSON shape of ``marketplace jss --json``: one object per freelancer, its contracts
        in file order. ``windows=True`` adds each contract's windows (the table output).

        Built from whole columns (one stable sort, one pass): linear in the number of contracts.
        """
        f = self.freelancers
        c = self.contracts
        codes = self._freelancer_rows()
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


    def to_json(self) -> str:
        """The text of ``marketplace jss --json``: byte for byte ``"[\\n" + ",\\n".join(
        json.dumps(r) for r in self.to_records()) + "\\n]"``, one freelancer per line.

        Built column-wise, without a Python object per contract: each contract's text is its
        JSON-quoted id joined (by pyarrow) to the text of its (outcome, weight, reason), of which
        there are only a few distinct ones; each freelancer's contracts are joined in file order.
        Every piece of text is json's own (``json.dumps`` of the distinct values).
        """
        import json
        from json.encoder import encode_basestring_ascii

        import pyarrow as pa
        import pyarrow.compute as pc

        text = pa.large_string()
        f = self.freelancers
        c = self.contracts
        codes = self._freelancer_rows()
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(f) + 1))
        # (outcome, weight, reason) -> ', "outcome": "...", "weight": w, "reason": "..."}'
        weight_code, weights = _factorize_floats(c["weight"].to_numpy(dtype=np.float64))
        outcome_code, outcomes = pd.factorize(c["outcome"])
        reason_code, reasons = pd.factorize(c["reason"])
        n_w, n_r = len(weights), len(reasons)
        tail_code, keys = pd.factorize((outcome_code.astype(np.int64) * n_r + reason_code) * n_w
                                       + weight_code)
        rounded = _rounded_list(weights)
        prefix = '{"contract_id": ""'
        tails = []
        for k in keys.tolist():
            o, rest = divmod(k, n_r * n_w)
            r, w = divmod(rest, n_w)
            tails.append(json.dumps({"contract_id": "", "outcome": outcomes[o],
                                     "weight": rounded[w], "reason": reasons[r]})[len(prefix):])
        ids = pa.array(c["contract_id"].astype(str), type=text)
        if isinstance(ids, pa.ChunkedArray):  # pandas' arrow-backed text
            ids = ids.combine_chunks()
        ids = ids.take(pa.array(order))
        if pc.all(pc.match_substring_regex(ids, r"^[ !#-\[\]-~]*$")).as_py() is not False:
            quoted = pc.binary_join_element_wise(pa.scalar('{"contract_id": "', text), ids,
                                                 pa.scalar('"', text), pa.scalar("", text))
        else:  # quotes, backslashes, control or non-ASCII characters: json's own escaping
            quoted = pa.array([f'{{"contract_id": {encode_basestring_ascii(x)}'
                               for x in ids.to_pylist()], type=text)
        tail = pa.array(tails, type=text).take(pa.array(tail_code[order]))
        per_contract = pc.binary_join_element_wise(quoted, tail, pa.scalar("", text))
        grouped = pa.LargeListArray.from_arrays(pa.array(bounds, type=pa.int64()), per_contract)
        contract_text = pc.binary_join(grouped, pa.scalar(", ", text)).to_pylist()
        del ids, quoted, tail, per_contract, grouped  # the text is held once from here on
        # numbers: json.dumps of a whole list, split at its separators (no number holds ", ")
        def numbers(column: str) -> list[str]:
            return json.dumps(_rounded_list(f[column].to_numpy(dtype=np.float64)))[1:-1].split(
                ", ")

        jss = numbers("jss")
        scores = [numbers(_col(name)) for name in SCORE_NAMES]
        names = [json.dumps(name) for name in SCORE_NAMES]
        lines = [
            f'{{"freelancer_id": {encode_basestring_ascii(fid)}, "jss": {jss[i]}, "windows": {{'
            + ", ".join(f"{name}: {col[i]}" for name, col in zip(names, scores, strict=True))
            + f'}}, "contracts": [{contract_text[i]}]}}'
            for i, fid in enumerate(f["freelancer_id"].astype(str).tolist())
        ]
        return "[\n" + ",\n".join(lines) + "\n]"


def _col(name: str) -> str:
    return "trending" if name == "trending" else f"window_{name}"


def score_history(
    df: pd.DataFrame | ParsedHistory, week: int | None = None,
    rules: str | RuleSet = DEFAULT_RULES,
) -> HistoryScore:
    """Score every freelancer of a contract-history table at ``week`` (default: latest week).

    Contracts starting after ``week`` are left out. Contracts ending after ``week`` are scored as
    ongoing at ``week`` (their feedback is not given yet; paid weeks are cut at ``week``). Ongoing
    contracts are assumed paid up to the scoring week (the CSV has no payment dates).
    """
    if isinstance(rules, str):
        rules = get_rules(rules)
    h = df if isinstance(df, ParsedHistory) else validate_history(df)
    week, rows, end, _private, outcome, reason, weight = history_as_of(h, week, rules)
    every = rows.size == h.start_week.size  # the usual case: no copy of the id columns
    freelancer_id = h.freelancer_id if every else h.freelancer_id[rows]
    client_id = h.client_id if every else h.client_id[rows]
    f_codes, f_ids = pd.factorize(freelancer_id, sort=True)
    c_codes, _ = pd.factorize(client_id, sort=True)
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
    contracts = pd.DataFrame({
        "row": rows + 1,
        "contract_id": h.contract_id if every else h.contract_id[rows],
        "freelancer_id": freelancer_id,
        "client_id": client_id,
        "outcome": _named(outcome, OUTCOME_NAMES),
        "weight": weight,
        "reason": _named(reason, REASONS),
        "windows": _named(bits, names.tolist()),
    })
    return HistoryScore(week=week, rules=rules, freelancers=freelancers, contracts=contracts,
                        freelancer_index=f_codes.astype(np.int64))


def history_as_of(h: ParsedHistory, week: int | None, rules: RuleSet
                  ) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                             np.ndarray]:
    """The history as it stood at ``week`` (default: the latest week), classified by ``rules``:
    ``(week, rows, end_week, private_score, outcome, reason, weight)`` of the contracts started
    by then. Contracts ending later are ongoing at ``week`` (no feedback yet, paid weeks cut at
    ``week``). Shared by the JSS and the alternative scores of a CSV history."""
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
    return week, rows, end, private, outcome, reason, weight
