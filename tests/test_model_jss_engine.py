"""The incremental JSS engine gives bit-identical runs to the full computation (issue 15).

The incremental engine keeps the JSS window sums (``scoring.WindowSums``) and the client-flag
counts (``scoring.FlagCounts``) current by events; the full one recomputes both from all contracts.

Every output table of a small run is fingerprinted (a hash of all its values, column names and
dtypes) under each rule era, with the removal perk on and off, chasers, client flagging and
disputes active; the incremental run (default) must match the reference run
(``jss_engine='full'``) exactly.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest

from marketplace.model import MarketplaceModel, ModelParams, simulate

CASES = [
    ("upwork-2015", None),
    ("upwork-2020", None),
    ("upwork-2023", True),
    ("upwork-2023", False),
    ("upwork-2024", None),
]


def fingerprints(out) -> dict[str, str]:
    """One hash per output table over every value, the column names and dtypes."""
    prints = {}
    for name, df in out.to_dict().items():
        h = hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        h.update(repr([(c, str(t)) for c, t in df.dtypes.items()]).encode())
        prints[name] = h.hexdigest()
    return prints


def _params(era: str, perk: bool | None) -> ModelParams:
    over = {"platform.removal_perk": perk} if perk is not None else {}
    p = ModelParams(n_freelancers=400, weeks=130, burn_in_weeks=60, rules=era)
    p = p.with_overrides({**over, "freelancers.chaser_share": 0.4, "clients.dispute_prob": 0.2,
                         "clients.rater_mix.harsh": 0.4})
    assert p.platform.flag_clients
    return p


@pytest.mark.parametrize(("era", "perk"), CASES)
def test_incremental_and_full_jss_give_identical_tables(era, perk):
    p = _params(era, perk)
    full = simulate(p, seed=11, jss_engine="full")
    inc = simulate(p, seed=11, jss_engine="incremental")
    assert fingerprints(inc) == fingerprints(full)
    # the runs are not trivial: scores shown, contracts flagged, disputes, chases (and removals)
    c = inc.contracts
    assert inc.freelancers.jss.notna().sum() > 40
    assert c.client_flagged.any() and (c.end_reason == "dispute").any()
    assert (c.chase_action != "").any()
    if perk:
        assert c.removed.any()


def test_fingerprint_sees_a_one_value_change():
    out = simulate(ModelParams(n_freelancers=200, weeks=40, burn_in_weeks=10), seed=2)
    before = fingerprints(out)
    out.freelancers.loc[out.freelancers.jss.first_valid_index(), "jss"] += 1e-12
    after = fingerprints(out)
    assert after["freelancers"] != before["freelancers"]
    assert {k: v for k, v in after.items() if k != "freelancers"} == {
        k: v for k, v in before.items() if k != "freelancers"}


def test_jss_engine_choice_is_checked():
    with pytest.raises(ValueError, match="jss_engine"):
        MarketplaceModel(ModelParams(n_freelancers=50, weeks=10, burn_in_weeks=2), rng=1,
                         jss_engine="fast")


def test_freelancer_views_registered_on_demand_keep_eager_ids():
    """Mesa agents of freelancers are registered when the model's agents are looked at, with the
    unique ids eager creation gives (clients first, then freelancers in row order)."""
    from marketplace.model import Client, Freelancer

    model = MarketplaceModel(ModelParams(n_freelancers=80, weeks=20, burn_in_weeks=5), rng=4)
    for _ in range(10):
        model.step()
    n_c = model.p.n_clients_effective
    views = sorted(model.agents_by_type[Freelancer], key=lambda a: a.idx)
    assert [a.idx for a in views] == list(range(model.freelancer_state.n))
    first_client = min(a.unique_id for a in model.agents_by_type[Client])
    assert [a.unique_id for a in views] == list(range(first_client + n_c,
                                                      first_client + n_c + len(views)))
    for _ in range(10):
        model.step()
    assert len(model.agents) == n_c + model.freelancer_state.n > n_c + len(views)
