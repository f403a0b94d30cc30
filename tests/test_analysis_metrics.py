"""Per-run metrics on constructed worlds with known answers (marketplace.analysis.metrics)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from marketplace.analysis import metrics as M
from marketplace.analysis.metrics import METRIC_NAMES, gini, run_metrics, top_share
from marketplace.analysis.synthetic import synthetic_outputs

ISSUE_METRICS = (  # issue 5 item 1 and issue 8 item 4, by their exact names
    "spearman_jss_quality", "quality_gap_90", "quality_gap_90_d", "p_above_beats_below_90",
    "auc_top_quartile", "precision_90", "recall_90", "excluded_good_share_90", "rd_jump_90",
    "rd_ci_low_90", "rd_ci_high_90", "density_test_p_90", "share_jss_ge_90", "share_jss_100",
    "share_top_rated", "mean_public_stars", "share_five_star",
    "share_pos_public_given_private_dissatisfied", "proposals_per_job", "hire_rate",
    "top20_earnings_share", "refunds_usd", "fees_lost_to_refunds_usd", "first_hire_weeks_median",
    "jss_drop_after_one_negative", "gini_jobs", "gini_earnings", "never_hired_share",
    "spearman_quality_jobs", "random_allocation_gini_jobs", "proposals_read_per_hire",
    "top10_earnings_share", "newcomer_never_hired_share",
)


@pytest.fixture(scope="module")
def equal_world():
    return run_metrics(synthetic_outputs(6000, "equal", seed=11))


@pytest.fixture(scope="module")
def independent_world():
    return run_metrics(synthetic_outputs(6000, "independent", seed=12))


# ----------------------------------------------------------------------------- small statistics


def test_gini_of_known_vectors():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)  # (n-1)/n: one holds everything
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)  # mean |xi-xj| / (2 mean) = 1.25 / 5
    assert gini([4, 1, 3, 2]) == pytest.approx(0.25)  # order does not matter
    assert math.isnan(gini([0, 0, 0]))
    assert math.isnan(gini([]))
    with pytest.raises(ValueError):
        gini([-1, 2])


def test_top_share_of_known_vector():
    values = np.arange(1, 11)  # 1..10, total 55
    assert top_share(values, 0.2) == pytest.approx(19 / 55)
    assert top_share(values, 0.1) == pytest.approx(10 / 55)
    assert top_share(np.ones(10), 0.2) == pytest.approx(0.2)


def test_random_allocation_gini_matches_poisson_expectation():
    # one job per freelancer on average: counts ~ Poisson(1); Gini = E|X-Y| / 2 with X-Y Skellam
    k = np.arange(-30, 31)
    expected = float(np.sum(np.abs(k) * stats.skellam.pmf(k, 1, 1))) / 2
    got = M.random_allocation_gini(20_000, 20_000, seed=3)
    assert got == pytest.approx(expected, abs=0.01)
    assert M.random_allocation_gini(20_000, 20_000, seed=3) == got  # seeded
    # many jobs each: close to perfect equality
    assert M.random_allocation_gini(1_000_000, 1_000, seed=3) < 0.03


def test_auc_and_cohens_d_on_known_samples():
    assert M.auc([3, 4, 5], [0, 1, 2]) == 1.0
    assert M.auc([1, 2], [1, 2]) == pytest.approx(0.5)  # ties count half
    assert M.cohens_d([1, 2, 3], [1, 2, 3]) == pytest.approx(0.0)
    assert M.cohens_d([2, 3, 4], [1, 2, 3]) == pytest.approx(1.0)  # sd 1 each


# ----------------------------------------------------------------------------- known worlds


def test_every_issue_metric_is_returned(equal_world):
    scalars, tables = equal_world
    assert list(scalars) == list(METRIC_NAMES)
    assert set(ISSUE_METRICS) <= set(scalars)
    assert "excluded_good_share_90_incl_no_jss" in scalars
    assert all(isinstance(v, float) for v in scalars.values())
    assert {"precision_recall", "jss_bands", "one_negative_drop", "freelancer_sample",
            "metric_notes"} <= set(tables)


def test_world_where_jss_equals_quality(equal_world):
    s, tables = equal_world
    assert s["spearman_jss_quality"] > 0.999
    assert s["auc_top_quartile"] > 0.999
    assert s["quality_gap_90"] > 0.04  # [90,95) vs [85,90) on a 0-1 scale: about 0.05
    assert s["quality_gap_90_d"] > 2
    assert s["p_above_beats_below_90"] == pytest.approx(1.0)
    assert s["precision_90"] == pytest.approx(1.0)  # JSS >= 90 means quality >= 0.895
    # JSS >= 90 keeps quality >= ~0.895: about 0.105 / 0.25 of the top quartile
    assert s["recall_90"] == pytest.approx(0.42, abs=0.05)
    assert s["mean_quality_jss_ge_90"] > s["mean_quality_jss_lt_90"] + 0.4
    bands = tables["jss_bands"].set_index("band")
    scored_bands = bands.loc[list(M.JSS_BAND_LABELS), "mean_quality"].to_numpy()
    assert np.all(np.diff(scored_bands) > 0)  # quality rises band by band
    # RD: the relation is continuous at 90, so no jump
    assert abs(s["rd_jump_90"]) < 0.01
    assert s["rd_ci_low_90"] <= s["rd_jump_90"] + 0.01 and s["rd_ci_high_90"] >= -0.01


def test_world_where_jss_is_independent_of_quality(independent_world):
    s, tables = independent_world
    assert abs(s["spearman_jss_quality"]) < 0.05
    assert s["auc_top_quartile"] == pytest.approx(0.5, abs=0.03)
    assert abs(s["quality_gap_90"]) < 0.04
    assert s["p_above_beats_below_90"] == pytest.approx(0.5, abs=0.08)
    assert s["precision_90"] == pytest.approx(0.25, abs=0.04)  # the base rate
    assert s["recall_90"] == pytest.approx(s["share_jss_ge_90"], abs=0.05)
    assert s["excluded_good_share_90"] == pytest.approx(1 - s["share_jss_ge_90"], abs=0.05)
    assert s["rd_ci_low_90"] < 0 < s["rd_ci_high_90"]  # the robust RD CI covers 0
    assert s["density_test_p_90"] > 0.05  # nothing bunches at 90 in this world
    curve = tables["precision_recall"]
    assert list(curve["cutoff"]) == list(range(70, 101))
    assert np.all(np.diff(curve["recall"].to_numpy()) <= 1e-9)  # recall falls with the cut-off


def test_rd_finds_a_real_jump_and_density_finds_bunching():
    out = synthetic_outputs(6000, "independent", seed=13)
    f = out.freelancers
    final = f["week"] == f["week"].max()
    jss = f["jss"].to_numpy(float)
    quality = 0.3 * np.nan_to_num(jss) / 100 + 0.15 * (jss >= 90) + 0.1 * f["true_quality"]
    f.loc[final, "true_quality"] = quality[final.to_numpy()]
    s, _ = run_metrics(out)
    assert s["rd_jump_90"] == pytest.approx(0.15, abs=0.03)
    assert s["rd_ci_low_90"] > 0

    # bunching: two thirds of the scores in [84, 90) are pushed to exactly 90
    out = synthetic_outputs(6000, "independent", seed=14)
    f = out.freelancers
    rng = np.random.default_rng(0)
    push = ((f["week"] == f["week"].max()) & (f["jss"] >= 84) & (f["jss"] < 90)
            & (rng.random(len(f)) < 2 / 3))
    f.loc[push, "jss"] = 90.0
    s, _ = run_metrics(out)
    assert s["density_test_p_90"] < 0.01


# ----------------------------------------------------------------------------- hand-made tables


def _world(final_rows: list[dict], contracts: pd.DataFrame | None = None,
           clients: pd.DataFrame | None = None, week: int = 60) -> SimpleNamespace:
    base = {"week": week, "strategy": "honest", "entry_week": 0, "active": True, "jss": np.nan,
            "top_rated": False, "n_outcomes": 0, "n_contracts": 0, "first_hire_week": np.nan,
            "earnings_usd_total": 0.0}
    final = pd.DataFrame([{**base, **r} for r in final_rows])
    early = final.assign(week=0, jss=np.nan)
    return SimpleNamespace(freelancers=pd.concat([early, final], ignore_index=True),
                           contracts=contracts, clients=clients, timeseries=None)


def _contract(fid: int, cid: int, start: int, end: float, *, earnings: float = 100.0,
              stars: float = 5.0, private: float = 10.0, refunded: float = 0.0,
              outcome: str = "success", weight: float = 1.0) -> dict:
    return {"freelancer_id": fid, "client_id": cid, "start_week": start, "end_week": end,
            "earnings_usd": earnings, "fee_usd": 0.1 * earnings, "refunded_usd": refunded,
            "public_stars": stars, "private_score": private, "outcome": outcome,
            "weight": weight, "paid_weeks": 1, "client_flagged": False, "removed": False}


def test_ratings_refunds_and_market_on_a_hand_made_run():
    contracts = pd.DataFrame([
        _contract(0, 0, 1, 5, stars=5, private=10),
        _contract(0, 1, 1, 6, stars=5, private=2),  # unhappy, still 5 public stars
        _contract(1, 2, 1, 7, stars=4, private=3),  # unhappy, 4 stars
        _contract(1, 3, 1, 8, stars=3, private=9),
        _contract(2, 4, 1, 9, stars=1, private=1, refunded=50.0),  # unhappy, 1 star; refund
        _contract(2, 5, 1, 9, stars=np.nan, private=5, earnings=0.0, refunded=200.0),  # full
    ])
    clients = pd.DataFrame({"client_id": range(6), "jobs_posted": [2] * 6, "hires": [1] * 6,
                            "proposals_received": [20] * 6, "proposals_read": [5] * 6})
    world = _world([{"freelancer_id": i, "true_quality": 0.5} for i in range(3)], contracts,
                   clients)
    s, tables = run_metrics(world)
    assert s["mean_public_stars"] == pytest.approx((5 + 5 + 4 + 3 + 1) / 5)
    assert s["share_five_star"] == pytest.approx(2 / 5)
    assert s["share_pos_public_given_private_dissatisfied"] == pytest.approx(2 / 3)
    assert s["refunds_usd"] == pytest.approx(250.0)
    assert s["fees_lost_to_refunds_usd"] == pytest.approx(25.0)  # 10% of every refunded dollar
    assert s["proposals_per_job"] == pytest.approx(10.0)
    assert s["hire_rate"] == pytest.approx(0.5)
    assert s["proposals_read_per_hire"] == pytest.approx(5.0)
    assert s["hires_per_proposal"] == pytest.approx(0.05)
    # no JSS anywhere: validity metrics are NaN with a reason, nothing crashes
    assert math.isnan(s["spearman_jss_quality"]) and math.isnan(s["rd_jump_90"])
    assert "rd_jump_90" in set(tables["metric_notes"]["metric"])


def test_concentration_and_newcomers_on_a_hand_made_run():
    jobs = [0, 1, 1, 2]  # four incumbents
    rows = [_contract(fid, 10 + k, 5 + k, 10 + k, earnings=100.0 * (fid + 1))
            for fid, n in enumerate(jobs) for k in range(n)]
    rows.append(_contract(1, 99, -5, 3))  # started before the analysed period: not counted
    contracts = pd.DataFrame(rows)
    final = [{"freelancer_id": i, "true_quality": q} for i, q in enumerate([0.1, 0.3, 0.2, 0.9])]
    final += [  # newcomers (entered after the burn-in of 0 weeks): hired after 2, 4, 6; censored
        {"freelancer_id": 4, "true_quality": 0.5, "entry_week": 10, "first_hire_week": 12},
        {"freelancer_id": 5, "true_quality": 0.5, "entry_week": 10, "first_hire_week": 14},
        {"freelancer_id": 6, "true_quality": 0.5, "entry_week": 10, "first_hire_week": 16},
        {"freelancer_id": 7, "true_quality": 0.5, "entry_week": 10, "active": False},
        {"freelancer_id": 8, "true_quality": 0.5, "entry_week": 50},  # too new to count
        {"freelancer_id": 9, "true_quality": 0.5, "entry_week": 0, "active": False},  # left
    ]
    s, _ = run_metrics(_world(final, contracts))
    assert s["gini_jobs"] == pytest.approx(gini(jobs))
    assert s["never_hired_share"] == pytest.approx(0.25)
    earnings = [0.0, 200.0, 300.0, 800.0]
    assert s["gini_earnings"] == pytest.approx(gini(earnings))
    assert s["top20_earnings_share"] == pytest.approx(800 / 1300)  # top 1 of 4
    assert s["spearman_quality_jobs"] == pytest.approx(stats.spearmanr([0.1, 0.3, 0.2, 0.9],
                                                                       jobs).statistic)
    # Kaplan-Meier over five newcomers (7 and 8 censored): S(2) = 4/5, S(4) = 3/5, S(6) = 2/5
    assert s["first_hire_weeks_median"] == pytest.approx(6.0)
    assert s["first_hire_weeks_median_hired"] == pytest.approx(4.0)
    assert s["newcomer_never_hired_share"] == pytest.approx(1 / 4)  # id 8 is too new


def test_quality_clients_get():
    contracts = pd.DataFrame([_contract(0, 0, 5, 6), _contract(1, 1, 5, 6), _contract(1, 2, 7, 9),
                              _contract(2, 3, -3, 2)])  # the last started in the burn-in
    contracts["delivered_quality"] = [0.2, 0.6, 0.7, 0.9]
    world = _world([{"freelancer_id": i, "true_quality": q} for i, q in enumerate([0.1, 0.7, 1])],
                   contracts)
    s, _ = run_metrics(world, {"burn_in_weeks": 4})
    assert s["mean_quality_hired"] == pytest.approx((0.1 + 0.7 + 0.7) / 3)  # per contract
    assert s["mean_delivered_quality"] == pytest.approx(0.5)


def test_burn_in_from_params_limits_the_period():
    contracts = pd.DataFrame([_contract(0, 0, 5, 6, stars=1), _contract(0, 1, 30, 31, stars=5)])
    world = _world([{"freelancer_id": 0, "true_quality": 0.5}], contracts)
    assert run_metrics(world)[0]["mean_public_stars"] == pytest.approx(3.0)
    params = {"burn_in_weeks": 20}
    assert run_metrics(world, params)[0]["mean_public_stars"] == pytest.approx(5.0)


def test_one_negative_drop_follows_the_jss_formula():
    # k successes from k clients, all recent, weight 1: JSS 100. One more negative: 100 (k-1)/(k+1)
    rows, final = [], []
    for fid, k in enumerate([4, 9, 20]):
        rows += [_contract(fid, 100 * fid + c, 50, 55) for c in range(k)]
        final.append({"freelancer_id": fid, "true_quality": 0.5, "jss": 100.0,
                      "n_outcomes": k})
    s, tables = run_metrics(_world(final, pd.DataFrame(rows)), {"rules": "upwork-2023"})
    drops = {k: 100 - 100 * (k - 1) / (k + 1) for k in (4, 9, 20)}  # 40, 20, 9.52
    assert s["jss_drop_after_one_negative_2_4"] == pytest.approx(drops[4])
    assert s["jss_drop_after_one_negative_5_9"] == pytest.approx(drops[9])
    assert s["jss_drop_after_one_negative_20plus"] == pytest.approx(drops[20])
    assert math.isnan(s["jss_drop_after_one_negative_10_19"])
    assert s["jss_drop_after_one_negative"] == pytest.approx(np.mean(list(drops.values())))
    table = tables["one_negative_drop"].set_index("band")
    assert table.loc["2-4", "n_freelancers"] == 1
    assert table.loc["2-4", "mean_drop"] == pytest.approx(40.0)


def test_missing_contract_table_gives_nans_not_a_crash():
    out = synthetic_outputs(1500, "equal", seed=5)
    for contracts in (None, out.contracts.iloc[0:0]):
        world = SimpleNamespace(freelancers=out.freelancers, clients=out.clients,
                                timeseries=out.timeseries, contracts=contracts)
        s, tables = run_metrics(world)
        assert s["spearman_jss_quality"] > 0.99  # computed from the snapshot alone
        for m in ("share_pos_public_given_private_dissatisfied", "fees_lost_to_refunds_usd",
                  "jss_drop_after_one_negative"):
            assert math.isnan(s[m])
            assert m in set(tables["metric_notes"]["metric"])
        assert s["mean_public_stars"] == pytest.approx(4.8)  # from the weekly series
        assert "one_negative_drop" not in tables
    # dict input works too
    s, _ = run_metrics({"freelancers": out.freelancers})
    assert s["spearman_jss_quality"] > 0.99


def test_tiny_world_gives_nans_with_reasons():
    world = _world([{"freelancer_id": i, "true_quality": q, "jss": j}
                    for i, (q, j) in enumerate([(0.2, 91.0), (0.4, 95.0), (0.6, 100.0)])])
    s, tables = run_metrics(world)
    for m in ("rd_jump_90", "density_test_p_90", "quality_gap_90", "auc_top_quartile"):
        assert math.isnan(s[m])
    reasons = tables["metric_notes"]
    assert set(reasons["metric"]) >= {"rd_jump_90", "density_test_p_90", "quality_gap_90"}
    assert reasons["reason"].str.len().min() > 10


def test_deterministic_and_small_tables():
    out = synthetic_outputs(3000, "independent", seed=21)
    s1, t1 = run_metrics(out, sample_rows=500, seed=4)
    s2, t2 = run_metrics(out, sample_rows=500, seed=4)
    assert s1 == pytest.approx(s2, nan_ok=True)
    for name in t1:
        pd.testing.assert_frame_equal(t1[name], t2[name])
    sample = t1["freelancer_sample"]
    assert len(sample) == 500
    assert list(sample.columns) == ["freelancer_id", "true_quality", "jss", "n_outcomes",
                                    "top_rated", "strategy"]
    assert all(sample[c].dtype == np.float32 for c in ("true_quality", "jss", "n_outcomes"))
    assert sample["freelancer_id"].is_unique
    for name, df in t1.items():
        assert df.memory_usage(deep=True).sum() < 200_000, name
