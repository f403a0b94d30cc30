"""Experimental designs: which parameter combinations to run, and with which seeds.

A sweep is the product of up to four parts, each optional:

* ``grid``: full factorial over lists of values (``itertools.product``, keys in the order written);
* ``zip``: lists of equal length varied together (row *i* of every list forms one point);
* ``latin_hypercube`` / ``sobol``: ``n`` points sampled over ``[low, high]`` ranges with
  ``scipy.stats.qmc`` (scrambled, seeded from the root seed, so the sample is reproducible).

Combinations are numbered in a fixed order (grid outermost, then zip, then the sample), and each
combination is run ``replications`` times. A run's seed depends only on
``(root seed, combination index, replication index)``: it is the first 63 bits of
``numpy.random.SeedSequence(root, spawn_key=(combination, replication))``, which is exactly what
``SeedSequence(root).spawn(...)[combination].spawn(...)[replication]`` produces. The seed therefore
does not depend on worker count, backend or run order. With ``common_random_numbers`` the seed
depends on the replication only (the same seed for every combination), which reduces the variance
of comparisons between combinations.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# numpy is imported where it is used: loading a config (`marketplace list`, `validate`) needs
# none of it

# spawn_key used to seed the samplers; distinct from every (combination, replication) key.
_SAMPLER_KEY = {"latin_hypercube": (2**32 - 2,), "sobol": (2**32 - 1,)}


@dataclass(frozen=True)
class RunSpec:
    """One simulation run: a combination of swept values and one replication of it."""

    run_id: str
    combination: int
    replication: int
    seed: int
    overrides: dict[str, Any] = field(default_factory=dict)  # dotted parameter path -> value


def run_seed(root_seed: int, combination: int, replication: int, *, common: bool = False) -> int:
    """The seed of one run, a non-negative int64 that depends only on its arguments."""
    import numpy as np

    key = (replication,) if common else (combination, replication)
    state = np.random.SeedSequence(root_seed, spawn_key=key).generate_state(1, dtype=np.uint64)
    return int(state[0] >> np.uint64(1))


def run_id(combination: int, replication: int, n_combinations: int, n_replications: int) -> str:
    """Stable, sortable run id such as ``c003-r07`` (widths grow with the sweep's size)."""
    wc = max(3, len(str(max(n_combinations - 1, 0))))
    wr = max(2, len(str(max(n_replications - 1, 0))))
    return f"c{combination:0{wc}d}-r{replication:0{wr}d}"


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Full factorial over ``grid`` (first key varies slowest)."""
    return list(iter_grid_points(grid))


def iter_grid_points(grid: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """Full factorial over ``grid``, one point at a time (first key varies slowest)."""
    keys = list(grid)
    for values in itertools.product(*grid.values()):
        yield dict(zip(keys, values, strict=True))


def zip_points(zipped: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Row *i* of every list forms point *i*; lists must have equal lengths."""
    if not zipped:
        return [{}]
    keys = list(zipped)
    return [dict(zip(keys, row, strict=True)) for row in zip(*zipped.values(), strict=True)]


def sample_points(
    kind: str,
    n: int,
    ranges: Mapping[str, tuple[float, float]],
    root_seed: int,
    integer_paths: frozenset[str] | set[str] = frozenset(),
) -> list[dict[str, Any]]:
    """``n`` points from a scrambled Latin hypercube or Sobol sequence scaled to ``ranges``.

    Integer parameters are rounded to the nearest integer after scaling. Sobol samples keep their
    balance properties only for ``n`` a power of two (the config requires it).
    """
    import numpy as np
    from scipy.stats import qmc

    keys = list(ranges)
    rng = np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=_SAMPLER_KEY[kind]))
    if kind == "latin_hypercube":
        unit = qmc.LatinHypercube(d=len(keys), rng=rng).random(n)
    elif kind == "sobol":
        m = int(n).bit_length() - 1
        if 2**m != n:
            raise ValueError(f"sobol needs n to be a power of 2, got {n}")
        unit = qmc.Sobol(d=len(keys), scramble=True, rng=rng).random_base2(m)
    else:
        raise ValueError(f"unknown sampling design {kind!r}")
    low = [float(ranges[k][0]) for k in keys]
    high = [float(ranges[k][1]) for k in keys]
    scaled = qmc.scale(unit, low, high)
    points = []
    for row in scaled:
        point: dict[str, Any] = {}
        for key, value in zip(keys, row, strict=True):
            point[key] = round(float(value)) if key in integer_paths else float(value)
        points.append(point)
    return points


def combinations(
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zipped: Mapping[str, Sequence[Any]] | None = None,
    samples: Mapping[str, tuple[int, Mapping[str, tuple[float, float]]]] | None = None,
    root_seed: int = 0,
    integer_paths: frozenset[str] | set[str] = frozenset(),
) -> list[dict[str, Any]]:
    """All parameter combinations of a sweep (a single empty one when nothing is swept).

    ``samples`` maps a design name (``latin_hypercube``, ``sobol``) to ``(n, ranges)``.
    """
    return list(
        iter_combinations(
            grid=grid,
            zipped=zipped,
            samples=samples,
            root_seed=root_seed,
            integer_paths=integer_paths,
        )
    )


def iter_combinations(
    *,
    grid: Mapping[str, Sequence[Any]] | None = None,
    zipped: Mapping[str, Sequence[Any]] | None = None,
    samples: Mapping[str, tuple[int, Mapping[str, tuple[float, float]]]] | None = None,
    root_seed: int = 0,
    integer_paths: frozenset[str] | set[str] = frozenset(),
) -> Iterator[dict[str, Any]]:
    """:func:`combinations` one at a time: the grid (the part that multiplies) is never held in
    memory; the zip lists and sampled points are (they are as long as the config says)."""
    inner = [zip_points(zipped or {})]
    for kind, (n, ranges) in (samples or {}).items():
        inner.append(sample_points(kind, n, ranges, root_seed, integer_paths))
    for grid_point in iter_grid_points(grid or {}):
        for combo in itertools.product(*inner):
            merged: dict[str, Any] = dict(grid_point)
            for part in combo:
                merged.update(part)
            yield merged


def run_specs(
    points: Sequence[Mapping[str, Any]],
    replications: int,
    root_seed: int,
    *,
    common_random_numbers: bool = False,
) -> list[RunSpec]:
    """Every run of the sweep, in (combination, replication) order."""
    return list(
        iter_run_specs(
            points,
            len(points),
            replications,
            root_seed,
            common_random_numbers=common_random_numbers,
        )
    )


def iter_run_specs(
    points: Iterable[Mapping[str, Any]],
    n_combinations: int,
    replications: int,
    root_seed: int,
    *,
    common_random_numbers: bool = False,
    first_combination: int = 0,
    replication_range: tuple[int, int] | None = None,
    id_widths: tuple[int, int] | None = None,
) -> Iterator[RunSpec]:
    """Every run of the sweep, one at a time, in (combination, replication) order.

    ``first_combination``, ``replication_range`` and ``id_widths`` serve a grown experiment
    (``--resume`` with more replications or grid values): new combinations continue the
    numbering, and run ids keep the widths of the experiment's first plan.
    """
    n_id_comb, n_id_reps = id_widths or (n_combinations, replications)
    r_lo, r_hi = replication_range or (0, replications)
    for c, point in enumerate(points, start=first_combination):
        point = dict(point)  # one dict per combination, shared by its replications (read-only)
        for r in range(r_lo, r_hi):
            yield RunSpec(
                run_id=run_id(c, r, n_id_comb, n_id_reps),
                combination=c,
                replication=r,
                seed=run_seed(root_seed, c, r, common=common_random_numbers),
                overrides=point,
            )
