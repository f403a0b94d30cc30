"""In-run consistency: the JSS clients see during a run equals a fresh scoring of the history.

At several scoring weeks of a run with client flagging, chasers, disputes and the removal perk all
active, every active freelancer's JSS (and window scores) as the model holds it must equal
``marketplace.scoring.score_history`` of the contract table as it stood at that week: the
contracts, their feedback, refunds, paid weeks, the clients flagged so far and the contracts removed
so far. The end-of-run rescoring cannot hide a stale in-run score (e.g. contracts of a newly
flagged client left counted until the end).

Written against stable surfaces only: the model's contract and client tables (``contract_state``,
``client_state`` columns) and the freelancer ``jss`` arrays after ``step()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketplace.model import MarketplaceModel, ModelParams
from marketplace.scoring import END_REASONS, score_history

ERAS = ("upwork-2015", "upwork-2020", "upwork-2023", "upwork-2024")
WEEKS = 110
CHECK_WEEKS = (20, 54, 80, 106, 108)  # scoring weeks (even: jss_update_weeks = 2)
BUSY = {  # every force that decides what counts, turned up so a small market exercises it
    "n_freelancers": 400,
    "weeks": WEEKS,
    "clients.jobs_per_week": 0.8,  # busier freelancers: more of them have a JSS
    "burn_in_weeks": 10,
    "freelancers.chaser_share": 0.6,
    "clients.rater_mix.harsh": 0.2,
    "clients.rater_mix.dishonest": 0.15,
    "clients.dispute_prob": 0.4,
    # more unhappy clients than the default (+1.0) so that chases, disputes and negatives for the
    # perk to remove are common, but not so many that few freelancers keep a JSS (at -1.0 only
    # 16-28 freelancer-weeks had one)
    "clients.private_bias": 0.0,
    "platform.removal_perk": True,  # also in 2024, so its interplay with each era is checked
}
SCORE_COLUMNS = {"jss": "jss", "jss_24m": "window_24m", "jss_12m": "window_12m",
                 "jss_6m": "window_6m", "jss_3m": "window_3m", "jss_trending": "trending"}


def history_at(model: MarketplaceModel) -> pd.DataFrame:
    """The contract table as it stands now, in the ``marketplace jss`` history format."""
    ct, cs = model.contract_state, model.client_state
    v = ct.view
    running = v("end_reason") < 0
    client = v("client")
    return pd.DataFrame({
        "freelancer_id": v("freelancer"),
        "client_id": client,
        "start_week": v("start_week"),
        "end_week": np.where(running, np.nan, v("end_week")),
        "earnings": v("paid") - v("refunded"),
        "public_stars": v("public_stars"),
        "private_score": v("private_score"),
        "end_reason": np.where(running, "", np.asarray(END_REASONS, dtype=object)[
            np.maximum(v("end_reason"), 0)]),
        "paid_weeks": v("paid_weeks"),
        # the client's flag as the platform holds it now (not the contract's cached copy)
        "client_flagged": np.where(cs.view("flagged")[client], "true", "false"),
        "removed": np.where(v("removed"), "true", "false"),
    })


def run_and_check(era: str, seed: int = 5) -> dict[str, int]:
    model = MarketplaceModel(ModelParams().with_overrides({**BUSY, "rules": era}), rng=seed,
                             snapshot_every_weeks=0)
    checked = 0
    for _ in range(WEEKS):
        model.step()
        week = model.week - 1
        if week not in CHECK_WEEKS:
            continue
        s = model.freelancer_state
        active = np.flatnonzero(s.view("active"))
        scored = score_history(history_at(model), week=week, rules=model.rules).freelancers
        fresh = scored.set_index("freelancer_id").reindex(active.astype(str))  # ids are text
        for col, hist_col in SCORE_COLUMNS.items():
            held = s.view(col)[active]
            expected = fresh[hist_col].to_numpy(dtype=float)
            bad = ~np.isclose(held, expected, rtol=0, atol=1e-9, equal_nan=True)
            assert not bad.any(), (
                f"{era} week {week}: {col} of freelancers {active[bad][:5].tolist()} is "
                f"{held[bad][:5].tolist()} in the run but {expected[bad][:5].tolist()} when the "
                f"history at that week is scored")
        checked += int((~np.isnan(s.view("jss")[active])).sum())
    ct, cs = model.contract_state, model.client_state
    return {
        "with_jss": checked,
        "flagged_clients": int(cs.view("flagged").sum()),
        "removed": int(ct.view("removed").sum()),
        "disputes": int((ct.view("end_reason") == END_REASONS.index("dispute")).sum()),
        "chase_accepted": int(ct.view("chase_accepted").sum()),
        "no_feedback": int((np.isnan(ct.view("private_score")) & (ct.view("end_reason") >= 0)
                            ).sum()),
    }


@pytest.mark.parametrize("era", ERAS)
def test_jss_held_in_run_equals_fresh_scoring_of_history(era):
    seen = run_and_check(era)
    # the run must exercise every path whose in-run bookkeeping could drift
    assert seen["with_jss"] > 40, seen
    for key in ("flagged_clients", "removed", "disputes", "chase_accepted", "no_feedback"):
        assert seen[key] > 0, (key, seen)


def test_pair_ids_one_id_per_relationship_across_table_merges(monkeypatch):
    """Every (freelancer, client) pair keeps the id it first got, new pairs of one call get
    consecutive ids in key order, and nothing changes when the small table of recent pairs is
    merged into the large one (forced here after every few new pairs)."""
    import marketplace.model.model as model_module

    monkeypatch.setattr(model_module, "_RECENT_PAIRS_MAX", 5)
    model = MarketplaceModel(params=ModelParams(n_freelancers=50, weeks=10, burn_in_weeks=2),
                             rng=3)
    n_clients = model.client_state.n
    known: dict[tuple[int, int], int] = {}
    rng = np.random.default_rng(11)
    merges = 0
    for _ in range(60):
        f = rng.integers(0, 40, 9)
        c = rng.integers(0, min(n_clients, 6), 9)
        before_main = model._pair_keys.size
        got = model._pair_ids(f, c)
        merges += model._pair_keys.size > before_main
        new = sorted({(int(a), int(b)) for a, b in zip(f, c, strict=True)} - set(known),
                     key=lambda p: p[0] * n_clients + p[1])
        for pair in new:
            known[pair] = len(known)
        expected = [known[(int(a), int(b))] for a, b in zip(f, c, strict=True)]
        assert got.tolist() == expected
    assert merges >= 3  # the merge path ran
    assert model._n_pairs == len(known)
