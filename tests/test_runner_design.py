"""Sweep designs: counts, sample properties and seeds that depend only on (root, combination,
replication)."""

from __future__ import annotations

import numpy as np
import pytest

from marketplace.runner import design
from marketplace.runner.config import ExperimentConfig


def cfg(sweep: dict, **model) -> ExperimentConfig:
    return ExperimentConfig.from_dict({"name": "t", "model": model, "sweep": sweep})


def test_no_sweep_is_one_combination_of_defaults():
    c = cfg({"replications": 3})
    assert c.points == [{}]
    assert [s.run_id for s in c.run_specs()] == ["c000-r00", "c000-r01", "c000-r02"]


def test_grid_is_full_factorial_first_key_slowest():
    c = cfg(
        {
            "grid": {
                "clients.rater_mix.dishonest": [0.0, 0.1, 0.2],
                "rules": ["upwork-2023"],
                "n_freelancers": [50, 60],
            },
            "replications": 2,
        }
    )
    assert len(c.points) == 3 * 1 * 2
    assert len(c.run_specs()) == 12
    assert c.points[0] == {
        "clients.rater_mix.dishonest": 0.0,
        "rules": "upwork-2023",
        "n_freelancers": 50,
    }
    assert c.points[1]["n_freelancers"] == 60
    assert {p["clients.rater_mix.dishonest"] for p in c.points} == {0.0, 0.1, 0.2}


def test_zip_varies_together_and_multiplies_with_grid():
    c = cfg(
        {
            "zip": {"weeks": [120, 130, 140], "burn_in_weeks": [10, 20, 30]},
            "grid": {"n_freelancers": [50, 60]},
        }
    )
    assert len(c.points) == 6
    assert all(p["burn_in_weeks"] == p["weeks"] - 110 for p in c.points)


@pytest.mark.parametrize("kind", ["latin_hypercube", "sobol"])
def test_sampling_designs_count_ranges_integers(kind):
    n = 16
    ranges = {"clients.rater_mix.dishonest": [0.0, 0.4], "n_freelancers": [40, 80]}
    c = cfg({kind: {"n": n, "ranges": ranges}, "replications": 2})
    assert len(c.points) == n and len(c.run_specs()) == 2 * n
    share = np.array([p["clients.rater_mix.dishonest"] for p in c.points])
    sizes = [p["n_freelancers"] for p in c.points]
    assert share.min() >= 0.0 and share.max() <= 0.4
    assert all(isinstance(s, int) and 40 <= s <= 80 for s in sizes)
    assert len(set(share.tolist())) == n  # a real sample, not a repeated point
    # reproducible from the root seed, different for another root seed
    again = cfg({kind: {"n": n, "ranges": ranges}, "replications": 2})
    assert again.points == c.points
    other = cfg({kind: {"n": n, "ranges": ranges}, "seed": 1})
    assert other.points != c.points


def test_latin_hypercube_is_stratified():
    n = 10
    c = cfg({"latin_hypercube": {"n": n, "ranges": {"clients.rater_mix.dishonest": [0.0, 0.5]}}})
    bins = sorted(int(p["clients.rater_mix.dishonest"] / 0.05) for p in c.points)
    assert bins == list(range(n))  # exactly one point in each of the n strata


def test_seed_depends_only_on_root_combination_replication():
    small = cfg({"grid": {"n_freelancers": [50, 60]}, "replications": 2, "seed": 7}).run_specs()
    big = cfg({"grid": {"n_freelancers": [50, 60, 70]}, "replications": 5, "seed": 7}).run_specs()
    big_by_key = {(s.combination, s.replication): s.seed for s in big}
    for s in small:  # growing the sweep does not change the seeds of the runs it had
        assert big_by_key[(s.combination, s.replication)] == s.seed
    assert len({s.seed for s in big}) == len(big)
    # the documented derivation: SeedSequence(root).spawn(...)[c].spawn(...)[r]
    child = np.random.SeedSequence(7).spawn(3)[2].spawn(5)[4]
    expected = int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    assert big_by_key[(2, 4)] == expected
    other_root = cfg({"grid": {"n_freelancers": [50, 60]}, "replications": 2, "seed": 8})
    assert {s.seed for s in other_root.run_specs()}.isdisjoint({s.seed for s in small})


def test_common_random_numbers_share_seeds_across_combinations():
    specs = cfg(
        {"grid": {"n_freelancers": [50, 60, 70]}, "replications": 3, "common_random_numbers": True}
    ).run_specs()
    by_rep: dict[int, set[int]] = {}
    for s in specs:
        by_rep.setdefault(s.replication, set()).add(s.seed)
    assert all(len(seeds) == 1 for seeds in by_rep.values())
    assert len({next(iter(v)) for v in by_rep.values()}) == 3


def test_run_ids_are_unique_and_sort_in_run_order():
    specs = design.run_specs([{}] * 1200, 12, 0)
    ids = [s.run_id for s in specs]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert ids[0] == "c0000-r00" and ids[-1] == "c1199-r11"
