"""Determinism under every decision path, and no use of a global random number generator.

Same seed -> identical tables, for settings that make every random decision path fire: every
rater type, chasers on and off, every era, flagging on and off, the perk on and off, both pricing
rules. A second test fails if a run draws from (or reseeds) numpy's global generator or Python's
``random`` module: every draw must come from the run's own seeded generator.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from marketplace.model import ModelParams, simulate

SMALL = {"n_freelancers": 150, "weeks": 60, "burn_in_weeks": 10,
         # every rater type present in strength, many unhappy clients (chases, disputes, flags)
         "clients.rater_mix": {"honest": 0.4, "lenient": 0.2, "harsh": 0.2, "dishonest": 0.2},
         "clients.private_bias": -1.0, "clients.dispute_prob": 0.3,
         "clients.second_tab_prob": 0.5, "clients.rehire_prob": 0.5}
SETTINGS = {
    "2015-chasers-flagging": {"rules": "upwork-2015", "freelancers.chaser_share": 0.6},
    "2020-no-chasers-no-flagging": {"rules": "upwork-2020", "freelancers.chaser_share": 0.0,
                                    "platform.flag_clients": False},
    "2023-chasers-no-flagging-reputation": {"rules": "upwork-2023",
                                            "freelancers.chaser_share": 0.6,
                                            "platform.flag_clients": False,
                                            "freelancers.pricing": "reputation"},
    "2024-no-chasers-flagging-perk": {"rules": "upwork-2024", "freelancers.chaser_share": 0.0,
                                      "platform.removal_perk": True},
}


def params(name: str) -> ModelParams:
    return ModelParams().with_overrides({**SMALL, **SETTINGS[name]})


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_same_seed_identical_outputs_under_every_setting(name):
    p = params(name)
    a, b = simulate(p, seed=11, snapshot_every_weeks=10), simulate(p, seed=11,
                                                                   snapshot_every_weeks=10)
    for table, df in a.to_dict().items():
        pd.testing.assert_frame_equal(df, b.to_dict()[table], check_exact=True, obj=table)
    # the paths this setting is meant to exercise did fire
    ct = a.contracts
    assert len(ct) > 200
    assert set(a.clients.rater_type.unique()) == {"honest", "lenient", "harsh", "dishonest"}
    chased = (ct.chase_action != "").sum()
    assert (chased > 0) == (p.freelancers.chaser_share > 0)
    assert (ct.end_reason == "dispute").any()
    assert (a.clients.flagged.sum() > 0) == p.platform.flag_clients
    c = simulate(p, seed=12, snapshot_every_weeks=10)
    assert not a.contracts.equals(c.contracts)


_NP_GLOBAL = ("random", "rand", "randn", "randint", "random_sample", "normal", "uniform",
              "choice", "shuffle", "permutation", "poisson", "binomial", "exponential", "gamma",
              "beta", "lognormal", "integers", "seed", "standard_normal", "multinomial")
_PY_GLOBAL = ("random", "randint", "uniform", "choice", "choices", "shuffle", "sample", "gauss",
              "normalvariate", "seed", "randrange", "betavariate", "expovariate")


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_a_run_never_touches_the_global_random_state(name, monkeypatch):
    p = params(name)
    np_state, py_state = np.random.get_state(), random.getstate()

    def forbidden(module: str, fn: str):
        def raise_(*args, **kwargs):
            raise AssertionError(f"the run called the global {module}.{fn}")
        return raise_

    for fn in _NP_GLOBAL:
        if hasattr(np.random, fn):
            monkeypatch.setattr(np.random, fn, forbidden("numpy.random", fn))
    for fn in _PY_GLOBAL:
        monkeypatch.setattr(random, fn, forbidden("random", fn))
    real_default_rng = np.random.default_rng

    def seeded_only(seed=None):
        if seed is None:
            raise AssertionError("the run made an unseeded numpy generator")
        return real_default_rng(seed)

    monkeypatch.setattr(np.random, "default_rng", seeded_only)
    simulate(p, seed=3, snapshot_every_weeks=10)
    monkeypatch.undo()
    after_np = np.random.get_state()
    assert after_np[0] == np_state[0] and np.array_equal(after_np[1], np_state[1])
    assert after_np[2:] == np_state[2:]
    assert random.getstate() == py_state
