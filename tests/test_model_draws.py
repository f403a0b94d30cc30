"""The model's fast random-draw helpers give exactly what their plain numpy definition gives."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.model import agents


class _Uniforms:
    """A stand-in generator whose ``random(size)`` returns given uniforms."""

    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def random(self, size: int) -> np.ndarray:
        assert size == self.u.size
        return self.u


@pytest.mark.parametrize("mean", [1e-3, 0.5, 2.37, 7.0, 40.0])
def test_poisson_table_equals_the_cdf_search_at_every_edge(mean):
    """Uniforms on, just below and just above every CDF value and every table bucket edge (where
    a table lookup could be one off) give searchsorted(cdf, u, side='right')."""
    cdf = agents._poisson_cdf(mean)
    inner = cdf[cdf < 1.0]
    edges = np.arange(agents._POISSON_BUCKETS) / agents._POISSON_BUCKETS
    u = np.concatenate([inner, np.nextafter(inner, 0.0), np.nextafter(inner, 1.0), edges,
                        np.nextafter(edges, 1.0), [0.0, np.nextafter(1.0, 0.0)],
                        np.random.default_rng(3).random(50_000)])
    u = u[(u >= 0.0) & (u < 1.0)]
    k = agents._poisson(_Uniforms(u), mean, u.size)
    np.testing.assert_array_equal(k, np.searchsorted(cdf, u, side="right"))
    assert k.dtype == np.int64


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 30.0), st.integers(0, 2**32 - 1), st.integers(0, 3000))
def test_poisson_draws_equal_the_cdf_search(mean, seed, size):
    u = np.random.default_rng(seed).random(size)
    k = agents._poisson(_Uniforms(u.copy()), mean, size)
    np.testing.assert_array_equal(k, np.searchsorted(agents._poisson_cdf(mean), u, side="right"))


def test_poisson_of_mean_zero_draws_nothing():
    k = agents._poisson(np.random.default_rng(0), 0.0, 5)
    np.testing.assert_array_equal(k, np.zeros(5, np.int64))


def test_cause_tables_equal_isin():
    codes = np.arange(-1, 6, dtype=np.int8)[1:]  # every early-end cause code
    np.testing.assert_array_equal(agents.BUDGET_ENDED[codes],
                                  np.isin(codes, agents.BUDGET_END_CAUSES))
    np.testing.assert_array_equal(agents._CLIENT_ENDED[codes],
                                  np.isin(codes, agents._CLIENT_EARLY_END_CAUSES))


def _distinct_jobs_reference(rng, k, size, n_jobs):
    """The plain definition: int64 running sum of the gaps."""
    k_max = int(k.max())
    gap_max = max(1, n_jobs // max(k_max, 1))
    gaps = (rng.integers(1, gap_max + 1, size, dtype=np.int32) if gap_max > 1
            else np.ones(size, np.int32))
    csum = np.cumsum(gaps, dtype=np.int64)
    start = np.cumsum(k) - k
    nonempty = k > 0
    base = np.zeros(k.size, np.int64)
    base[nonempty] = rng.integers(0, n_jobs, int(nonempty.sum())) - csum[start[nonempty]]
    j = np.repeat(base, k) + csum
    return np.where(j >= n_jobs, j - n_jobs, j)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, 7, 800, 5_000, 3_000_000]),
       st.integers(1, 4_000))
def test_distinct_jobs_equal_the_int64_definition(seed, n_jobs, n_freelancers):
    """Same jobs as the int64 running sum, on both sides of the int32 bound (3,000,000 jobs
    with a few thousand slots crosses it)."""
    k = np.random.default_rng(seed + 1).integers(0, 4, n_freelancers)
    if n_jobs < 64:
        k = np.minimum(k, n_jobs)
    if k.sum() == 0:
        return
    got = agents._distinct_jobs(np.random.default_rng(seed), k, int(k.sum()), n_jobs)
    want = _distinct_jobs_reference(np.random.default_rng(seed), k, int(k.sum()), n_jobs)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int64 and got.min() >= 0 and got.max() < n_jobs
    start = np.cumsum(k) - k
    for i in np.flatnonzero(k > 1)[:50]:  # a freelancer's slots go to distinct jobs
        slots = got[start[i]: start[i] + k[i]]
        assert np.unique(slots).size == slots.size
