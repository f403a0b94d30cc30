"""Cached market runs that mutmut sees through (see docs/mutation.md, "Cached runs").

mutmut runs, per mutant, only the tests that called the mutated function during its statistics
run. A test that reads a market run cached by an earlier test calls no model function itself,
so it would never be run on a model mutant. These helpers record which mutated functions made a
cached value and count them as called by every test that reads it. Outside mutmut's statistics
run they only cache.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any


# ------------------------------------------------------------------ mutation testing (mutmut)
def _mutmut_hits() -> set[str] | None:
    """The set of functions mutmut saw called by the running test (its statistics run only)."""
    if os.environ.get("MUTANT_UNDER_TEST") != "stats":
        return None
    try:
        from mutmut.state import state
    except ImportError:  # pragma: no cover - mutmut sets the variable, so it is installed
        return None
    return state()._stats


def record_hits(make: Callable[[], Any], test_id: str | None = None
                ) -> tuple[Any, frozenset[str]]:
    """``make()`` and the mutated functions it called (empty outside mutmut's statistics).

    ``test_id``: the node id of the test whose fixture set-up calls ``make``. mutmut times only
    a test's call phase and sets each mutant's CPU-time limit from those times; the set-up time
    is added to that test's, else a surviving mutant running the tests is stopped as a timeout
    (and counted as killed)."""
    hits = _mutmut_hits()
    if hits is None:
        return make(), frozenset()
    before = set(hits)
    hits.clear()
    start = time.process_time()
    try:
        value = make()
        made = frozenset(hits)
    finally:
        hits.update(before)
    if test_id is not None:
        from mutmut.state import state

        durations = state().duration_by_test
        durations[test_id] = durations.get(test_id, 0.0) + time.process_time() - start
    return value, made


def replay_hits(made: frozenset[str]) -> None:
    """Count the calls that made a cached value as calls of the test now reading it."""
    hits = _mutmut_hits()
    if hits is not None:
        hits.update(made)


def cache_with_hits(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``functools.cache`` whose every read counts, for mutmut, as the calls that made it."""
    cached = functools.cache(lambda *args: record_hits(lambda: fn(*args)))

    @functools.wraps(fn)
    def read(*args: Any) -> Any:
        value, made = cached(*args)
        replay_hits(made)
        return value

    read.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return read
