"""Each behaviour of the market model, with a test that fails without it (small markets)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from mutmut_hits import cache_with_hits

from marketplace.model import Client, Freelancer, MarketplaceModel, ModelParams, simulate
from marketplace.model.outputs import (
    CLIENT_COLUMNS,
    CONTRACT_COLUMNS,
    FREELANCER_COLUMNS,
    TIMESERIES_COLUMNS,
)

SMALL = {"n_freelancers": 400, "weeks": 80, "burn_in_weeks": 20}


@cache_with_hits  # functools.cache that mutmut sees through (tests/mutmut_hits.py)
def _run(overrides_json: str = "{}", seed: int = 1):
    overrides = {**SMALL, **json.loads(overrides_json)}
    return simulate(ModelParams().with_overrides(overrides), seed=seed, snapshot_every_weeks=20)


def run(seed: int = 1, **overrides):
    return _run(json.dumps(overrides, sort_keys=True), seed)


# ------------------------------------------------------------------ outputs and determinism
def test_tables_have_the_documented_columns():
    out = run()
    assert list(out.contracts.columns) == list(CONTRACT_COLUMNS)
    assert list(out.freelancers.columns) == list(FREELANCER_COLUMNS)
    assert list(out.clients.columns) == list(CLIENT_COLUMNS)
    assert list(out.timeseries.columns) == list(TIMESERIES_COLUMNS)
    assert len(out.timeseries) == SMALL["weeks"]
    assert set(out.freelancers["week"]) == {19, 39, 59, 79}
    assert len(out.contracts) > 100


def test_same_seed_gives_identical_tables_and_other_seeds_differ():
    p = ModelParams(n_freelancers=150, weeks=40, burn_in_weeks=10)
    a, b = simulate(p, seed=7), simulate(p, seed=7)
    for name, df in a.to_dict().items():
        pd.testing.assert_frame_equal(df, b.to_dict()[name])
    c = simulate(p, seed=8)
    assert not a.contracts.equals(c.contracts)
    assert not a.timeseries.equals(c.timeseries)


def test_mesa_agents_are_views_of_the_arrays():
    model = MarketplaceModel(ModelParams(n_freelancers=120, weeks=30, burn_in_weeks=5), rng=3)
    for _ in range(30):
        model.step()
    freelancers = model.agents_by_type[Freelancer]
    assert len(freelancers) == model.freelancer_state.n  # those who left stay as passive views
    on_platform = freelancers.select(lambda a: a.active)
    assert len(on_platform) == model.active_idx.size
    assert sorted(a.idx for a in on_platform) == model.active_idx.tolist()
    agent = on_platform.to_list()[0]
    assert agent.true_quality == model.freelancer_state.quality[agent.idx]
    assert agent.active
    clients = model.agents_by_type[Client]
    assert len(clients) == model.p.n_clients_effective
    df = model.datacollector.get_model_vars_dataframe()
    assert list(df.columns) == list(TIMESERIES_COLUMNS)
    assert not model.running


# ------------------------------------------------------------------ chasers and refunds
def test_full_refund_hides_public_stars_but_negative_private_score_still_counts():
    out = run(**{"freelancers.chaser_share": 1.0, "freelancers.chase_action_mix": [1.0, 0, 0],
                 "freelancers.chase_accept_prob": 1.0,
                 "freelancers.chase_satisfaction_boost": 0.0,
                 "clients.rater_mix.harsh": 0.3, "platform.flag_clients": False,
                 "platform.removal_perk": False})
    c = out.contracts
    refunded = c[(c.chase_action == "full_refund") & c.chase_accepted & c.end_week.notna()]
    assert len(refunded) > 20
    assert refunded.public_stars.isna().all()  # hidden: no earnings, no public review
    assert (refunded.earnings_usd.abs() < 1e-9).all()
    assert refunded.refunded_usd.sum() > 0
    negative = refunded[refunded.private_score <= 6]
    assert len(negative) > 5
    # the negative private score still counts (not excluded as a $0 contract)
    assert (negative.outcome == "negative").all()
    # ... and lowers the JSS: the 24-month window (the whole run here) of every such freelancer
    # is below 100 (the displayed best-of-windows may have left it behind)
    final = out.final_freelancers.set_index("freelancer_id")
    window = final.loc[negative.freelancer_id.unique(), "jss_24m"].dropna()
    assert len(window) > 0
    assert (window < 100).all()
    # every refunded dollar and unpaid hour is recorded on the freelancer too
    assert final.refunds_usd_total.sum() == pytest.approx(c.refunded_usd.sum())


def test_chasers_turn_feedback_only_when_they_exist():
    with_chasers = run(**{"freelancers.chaser_share": 1.0})
    without = run(**{"freelancers.chaser_share": 0.0})
    assert (with_chasers.contracts.chase_action != "").sum() > 0
    assert with_chasers.contracts.refunded_usd.sum() > 0
    assert (without.contracts.chase_action != "").sum() == 0
    assert without.contracts.refunded_usd.sum() == 0
    extra = with_chasers.contracts[with_chasers.contracts.chase_action == "extra_work"]
    worked = extra[extra.chase_accepted & (extra.paid_weeks > 0)]
    assert len(worked) > 0
    assert (worked.unpaid_extra_hours > 0).all()


def test_declined_full_refund_offer_leaves_the_public_stars():
    """Stars are hidden only when a full refund is actually made: a client who declines the
    offer is paid-for work with a public review like any other (issue 18)."""
    out = run(**{"freelancers.chaser_share": 1.0, "freelancers.chase_action_mix": [1.0, 0, 0],
                 "freelancers.chase_accept_prob": 0.5,
                 "freelancers.chase_satisfaction_boost": 0.0,
                 "clients.rater_mix.harsh": 0.3, "platform.flag_clients": False,
                 "platform.removal_perk": False})
    c = out.contracts
    offered = c[(c.chase_action == "full_refund") & c.end_week.notna()]
    declined = offered[~offered.chase_accepted & offered.private_score.notna()]
    accepted = offered[offered.chase_accepted & offered.private_score.notna()]
    assert len(declined) > 10 and len(accepted) > 10
    assert declined.public_stars.notna().all()  # reviewed: no refund was made
    assert (declined.refunded_usd == 0).all()
    assert (declined.earnings_usd == declined.paid_usd).all()
    assert accepted.public_stars.isna().all()  # refunded: hidden
    # no stars are hidden anywhere else: every other ended contract with a private score has
    # public stars too
    others = c[c.end_week.notna() & c.private_score.notna()
               & ~((c.chase_action == "full_refund") & c.chase_accepted)]
    assert others.public_stars.notna().all()


# ------------------------------------------------------------------ flagging
def test_flagged_clients_feedback_is_excluded():
    out = run(**{"clients.rater_mix.harsh": 0.3})
    flagged = out.clients[out.clients.flagged]
    assert len(flagged) > 0
    assert (out.clients[out.clients.flagged].rater_type == "harsh").mean() > 0.5
    c = out.contracts
    c = c[c.client_id.isin(flagged.client_id) & c.end_week.notna()]
    assert (c.outcome == "excluded").all()
    assert (c.exclusion_reason == "flagged_client").mean() > 0.9
    off = run(**{"clients.rater_mix.harsh": 0.3, "platform.flag_clients": False})
    assert not off.clients.flagged.any()
    assert (off.contracts.exclusion_reason == "flagged_client").sum() == 0


def test_clients_rated_poorly_by_freelancers_are_flagged_without_negative_feedback():
    """Flagging reads the freelancers' ratings of clients too: lenient clients (never a
    negative feedback) whom every freelancer rates about 2 stars get flagged, all through the
    rating criterion (mean rating at most flag_max_mean_rating over flag_min_ratings)."""
    lenient = {"honest": 0.0, "lenient": 1.0, "harsh": 0.0, "dishonest": 0.0}
    out = run(**{"clients.rater_mix": lenient, "platform.freelancer_rating_base": 2.0})
    c = out.contracts[out.contracts.end_week.notna()]
    assert (c.private_score.dropna() >= 9).all()  # no negative feedback to flag on
    flagged = out.clients[out.clients.flagged]
    assert len(flagged) > 10
    ratings = c[c.client_id.isin(flagged.client_id)].groupby("client_id")
    assert (ratings.client_rating_by_freelancer.count() >= 5).all()
    assert (ratings.client_rating_by_freelancer.mean() <= 2.5 + 1e-9).all()
    # with the usual rating base nobody is rated that low, and no lenient client is flagged
    usual = run(**{"clients.rater_mix": lenient})
    assert not usual.clients.flagged.any()


# ------------------------------------------------------------------ filtering by JSS
def test_clients_preferring_90_rarely_hire_below_90_and_open_the_second_tab_rarely():
    p_tab = 0.1
    out = run(**{"clients.min_jss_mix.90": 1.0, "clients.accepts_no_jss_share": 0.0,
                 "clients.second_tab_prob": p_tab, "clients.rehire_prob": 0.0})
    hires = out.contracts[~out.contracts.rehire]
    below = hires.jss_at_hire.isna() | (hires.jss_at_hire < 90)
    # enough hires to test on (fewer since the reservation utility is relative to the market:
    # here only second-tab posts can hire anyone without a JSS)
    assert len(hires) > 15
    jobs = out.clients.jobs_posted.sum()
    opened = out.clients.second_tab_opened.sum()
    limit = p_tab + 3 * np.sqrt(p_tab * (1 - p_tab) / jobs)
    assert 0 < opened / jobs <= limit  # the second tab is opened with its probability
    assert below.sum() / jobs <= limit  # below-90 hires only come from an opened second tab
    # without the second tab nobody below 90 is ever hired from the market
    closed = run(**{"clients.min_jss_mix.90": 1.0, "clients.accepts_no_jss_share": 0.0,
                    "clients.second_tab_prob": 0.0, "clients.rehire_prob": 0.0})
    h = closed.contracts[~closed.contracts.rehire]
    assert ((h.jss_at_hire >= 90) & h.jss_at_hire.notna()).all()


# ------------------------------------------------------------------ rater types
def test_all_lenient_raters_give_nearly_everyone_100():
    out = run(**{"clients.rater_mix.lenient": 1.0})
    final = out.final_freelancers
    shown = final[final.active & final.jss.notna()]
    assert len(shown) > 30
    assert (shown.jss == 100).mean() > 0.95
    assert shown.true_quality.std() > 0.05  # ... regardless of quality


def test_honest_raters_without_chasers_make_jss_follow_quality():
    out = run(seed=2, **{"clients.rater_mix.honest": 1.0, "freelancers.chaser_share": 0.0})
    final = out.final_freelancers
    shown = final[final.active & final.jss.notna()]
    assert len(shown) > 30
    rho = shown[["jss", "true_quality"]].corr(method="spearman").iloc[0, 1]
    assert rho > 0.4


def test_public_ratings_are_inflated_relative_to_private():
    out = run(n_freelancers=800, weeks=100)
    c = out.contracts
    dissatisfied = c[c.private_score <= 6]
    share = (dissatisfied.public_stars.dropna() >= 4).mean()
    assert 0.12 < share < 0.4  # calibrated to about 0.24 (Filippas et al.)
    stars = c.public_stars.dropna()
    assert stars.mean() > 4.5


def test_dishonest_clients_misstate_scope_and_length():
    out = run(**{"clients.rater_mix.dishonest": 0.5, "freelancers.chaser_share": 0.0})
    c = out.contracts.merge(out.clients[["client_id", "rater_type"]], on="client_id")
    d = c[c.rater_type == "dishonest"]
    assert (d[~d.fixed_price].planned_weeks > d[~d.fixed_price].posted_weeks).all()
    fixed = d[d.fixed_price & d.end_week.notna() & (d.paid_weeks > 0)]
    assert (fixed.unpaid_extra_hours > 0).all()
    honest = c[c.rater_type == "honest"]
    assert (honest.planned_weeks == honest.posted_weeks).all()
    assert (d.early_end_cause == "dishonest_client").sum() > 0


# ------------------------------------------------------------------ contract lifecycle
def test_budget_shortfall_ends_contracts_early_for_reasons_unrelated_to_the_freelancer():
    none = run(**{"clients.budget_shortfall_rate": 0.0})
    many = run(**{"clients.budget_shortfall_rate": 0.2})
    assert (none.contracts.early_end_cause == "budget_shortfall").sum() == 0
    hit = many.contracts[many.contracts.early_end_cause == "budget_shortfall"]
    assert len(hit) > 50
    assert hit.end_reason.isin(["client_ended", "dispute"]).all()
    assert (hit.end_reason == "client_ended").mean() > 0.8
    assert (hit.paid_weeks < hit.planned_weeks).all()
    # unrelated to the freelancer: hit contracts have the usual delivered quality
    assert abs(hit.delivered_quality.mean() - many.contracts.delivered_quality.mean()) < 0.05


def test_clients_rehire_freelancers_they_were_happy_with():
    on = run(**{"clients.rehire_prob": 0.8})
    off = run(**{"clients.rehire_prob": 0.0})
    assert not off.contracts.rehire.any()
    re = on.contracts[on.contracts.rehire]
    assert len(re) > 50
    # a rehire goes to a freelancer the client already worked with
    first = on.contracts.groupby(["client_id", "freelancer_id"]).contract_id.min()
    pairs = re.set_index(["client_id", "freelancer_id"]).contract_id
    assert (pairs.to_numpy() > first.loc[pairs.index].to_numpy()).all()
    assert on.clients.rehires.sum() == len(re)


def test_newcomers_enter_every_week_and_idle_freelancers_leave():
    out = run()
    final = out.final_freelancers
    assert final.entry_week.nunique() > SMALL["weeks"] * 0.5
    left = final[~final.active]
    assert len(left) > 0
    assert (left.exit_week - left.entry_week >= 26).all()
    # only freelancers without running work leave: every contract of a leaver ended by then
    c = out.contracts.merge(left[["freelancer_id", "exit_week"]], on="freelancer_id")
    assert len(c) > 0
    assert (c.end_week.notna() & (c.end_week <= c.exit_week)).all()
    stay = run(**{"freelancers.exit_prob_per_week": 0.0, "freelancers.entry_rate_per_week": 0.0})
    assert stay.final_freelancers.active.all()
    assert len(stay.final_freelancers) == SMALL["n_freelancers"]


def test_connects_limit_proposals():
    broke = run(**{"freelancers.connects_per_month": 0.0})
    assert broke.clients.proposals_received.sum() == 0
    assert (~broke.contracts.rehire).sum() == 0
    rich = run()
    assert rich.timeseries.connects_revenue_usd.sum() > 0


def test_platform_charges_fees_and_counts_money():
    out = run()
    c = out.contracts
    assert c.fee_usd.sum() == pytest.approx(out.timeseries.platform_fees_usd.sum(), rel=1e-9)
    assert (c.earnings_usd <= c.paid_usd + 1e-9).all()
    done = c[c.end_week.notna()]
    assert np.allclose(done.fee_usd, 0.10 * done.earnings_usd)  # flat 10% (upwork-2023)
    final = out.final_freelancers
    assert final.earnings_usd_total.sum() == pytest.approx(c.earnings_usd.sum())


def test_badges_follow_the_rules():
    out = run(n_freelancers=600, weeks=120)
    final = out.final_freelancers
    tr = final[final.top_rated]
    assert len(tr) > 0
    assert (tr.jss >= 90).all()
    assert (tr.earnings_usd_52w >= 1000).all()
    assert not final[~final.active].top_rated.any()
    rt = final[final.rising_talent]
    assert rt.jss.isna().all()


# ------------------------------------------------------------------ decisions, unit by unit
def _bare_model(**overrides) -> MarketplaceModel:
    """A model before its first week: its tables, rules and generator, for calling one
    decision directly."""
    params = ModelParams(n_freelancers=100, weeks=10, burn_in_weeks=2).with_overrides(overrides)
    return MarketplaceModel(params, rng=5)


def test_feedback_of_each_rater_type_covers_its_documented_range():
    """ODD 7.7: lenient 5 stars and 9-10; harsh 1-3 stars and 0-5; dishonest 5 stars 60% of the
    time, else 1-5, private uniform 0-10; a rater moved ``as_honest`` rates the satisfaction."""
    from marketplace.model.agents import DISHONEST, HARSH, LENIENT, honest_private_score

    model = _bare_model()
    m = 4000
    satisfaction = np.full(m, 1.0)  # happy: feedback with feedback_prob_happy
    no = np.zeros(m, bool)
    expected = {LENIENT: ({9, 10}, {5}), HARSH: (set(range(6)), {1, 2, 3}),
                DISHONEST: (set(range(11)), {1, 2, 3, 4, 5})}
    for rater_type, (private_values, public_values) in expected.items():
        rater = np.full(m, rater_type, np.int8)
        draws = Client.feedback_draws(model, m)
        public, private = Client.feedback(model, rater, satisfaction, no, no, draws)
        given = ~np.isnan(private)
        assert np.array_equal(given, ~np.isnan(public))  # both or neither
        assert 0.8 < given.mean() <= 0.95  # feedback_prob_happy = 0.9
        assert set(np.unique(private[given]).astype(int)) == private_values, rater_type
        assert set(np.unique(public[given]).astype(int)) == public_values, rater_type
        for value in private_values:  # each value about as often as the others
            assert (private[given] == value).mean() > 0.5 / len(private_values), (rater_type,
                                                                                 value)
        if rater_type == DISHONEST:  # 5 stars: 60%, plus a fifth of the other 40%
            assert (public[given] == 5).mean() == pytest.approx(0.68, abs=0.03)
        # moved by an accepted offer: rated like an honest client at that satisfaction
        sat = np.linspace(0.0, 1.0, m)
        _, moved = Client.feedback(model, rater, sat, ~no, no, draws)
        honest = honest_private_score(sat, model.p.clients.private_bias)
        ok = ~np.isnan(moved)
        assert ok.any()
        assert np.array_equal(moved[ok], honest[ok])


def test_binary_silence_gives_feedback_with_the_unhappy_and_happy_probabilities():
    """silence='binary': an unhappy client leaves feedback with feedback_prob_unhappy, any other
    with feedback_prob_happy (0.7 and 0.9 by default)."""
    from marketplace.model.agents import HONEST

    model = _bare_model(**{"clients.silence": "binary"})
    m = 6000
    rater = np.full(m, HONEST, np.int8)
    no = np.zeros(m, bool)
    for satisfaction, p_give in ((0.0, 0.7), (1.0, 0.9)):
        draws = Client.feedback_draws(model, m)
        _, private = Client.feedback(model, rater, np.full(m, satisfaction), ~no, no, draws)
        assert (~np.isnan(private)).mean() == pytest.approx(p_give, abs=0.03)


def test_appears_unhappy_draws_a_threat_coin_per_contract_of_a_dishonest_client():
    """A dishonest client threatens with dishonest_threat_prob on each contract (one coin
    each); other clients look unhappy only when the observed satisfaction is low."""
    from marketplace.model.agents import DISHONEST, HONEST

    model = _bare_model(**{"clients.dishonest_threat_prob": 0.5})
    cs, ct = model.client_state, model.contract_state
    m = 4000
    ids = ct.append(m, client=np.arange(m) % cs.n)
    happy, unhappy = np.ones(m), np.zeros(m)
    cs.rater_type[: cs.n] = DISHONEST
    threat = Client.appears_unhappy(model, ids, happy)
    assert 0.45 < threat.mean() < 0.55  # one coin per contract, not one for all
    assert Client.appears_unhappy(model, ids, unhappy).all()
    cs.rater_type[: cs.n] = HONEST
    assert not Client.appears_unhappy(model, ids, happy).any()
    assert Client.appears_unhappy(model, ids, unhappy).all()
    calm = _bare_model(**{"clients.dishonest_threat_prob": 0.0})  # no threats at all
    ids = calm.contract_state.append(m, client=np.arange(m) % calm.client_state.n)
    calm.client_state.rater_type[: calm.client_state.n] = DISHONEST
    assert not Client.appears_unhappy(calm, ids, happy).any()


def test_table_growth_keeps_rows_and_fills_new_ones():
    """Appending past the capacity grows every column (x1.5) and keeps the old rows."""
    from marketplace.model.state import Table

    t = Table({"a": (np.int64, -1), "b": (np.float64, np.nan)}, initial_rows=16)
    first = t.append(10, a=np.arange(10))
    assert first.tolist() == list(range(10)) and t.allocated == 16
    second = t.append(30, a=np.arange(100, 130), b=2.5)
    assert second.tolist() == list(range(10, 40))
    assert t.n == 40 and t.allocated >= 40
    assert t.view("a").tolist() == list(range(10)) + list(range(100, 130))
    assert np.isnan(t.view("b")[:10]).all() and (t.view("b")[10:] == 2.5).all()
    assert (t.a[40:] == -1).all() and np.isnan(t.b[40:]).all()  # spare rows hold the fill
    assert t.nbytes() == t.allocated * 16


# --------------------------------------------------- gaps found by mutation testing (seed 21)
def test_freelancer_table_growth_keeps_each_freelancers_badge_history():
    """Entrants beyond the preallocated rows grow the table; the 16-week Top Rated eligibility
    history of everyone already there moves with it, the newcomers start with none."""
    m = _bare_model()
    for _ in range(3):
        m.step()
    s = m.freelancer_state
    n_before, cap_before = s.n, s.allocated
    m._tr_bits[:n_before] = np.arange(n_before, dtype=np.uint32) % 7  # a known history
    m._add_freelancers(cap_before - n_before + 10)  # 10 more than the spare rows
    assert s.allocated > cap_before and m._tr_bits.size == s.allocated
    assert (m._tr_bits[:n_before] == np.arange(n_before) % 7).all()
    assert (m._tr_bits[n_before:] == 0).all()
    m.step()  # and the market runs on


def test_top_rated_plus_bar_single_uses_the_rule_sets_one_bar_for_everyone():
    ids = np.arange(50)
    single = _bare_model(**{"platform.top_rated_plus_bar": "single"})
    assert single._large_contract_bar_usd(ids) is None  # the rule set's trp_large_contract_usd
    by_category = _bare_model(**{"platform.top_rated_plus_bar": "by_category"})
    bars = by_category._large_contract_bar_usd(ids)
    mix_bars, _ = by_category.p.platform.large_contract_bar_mix.bars_usd()
    assert set(bars) <= set(mix_bars) and len(set(bars)) > 1  # each category's own bar


def test_jss_recovery_is_followed_for_156_weeks_after_the_end():
    """A contract whose end lowered its freelancer's JSS is watched for a recovery for 156 weeks
    after its end (docs/outputs.md, jss_recovered_week), then no more."""
    m = _bare_model()
    s, ct = m.freelancer_state, m.contract_state
    fr = np.array([0, 1])
    ids = ct.append(2, freelancer=fr, end_week=np.array([10, 10]), jss_at_end=np.array([95.0, 95]))
    s.jss[fr] = 80.0  # still below its level at the end
    m._pending_recovery = ids.astype(np.int64)
    m._track_jss_after_end(10 + 155)
    assert m._pending_recovery.tolist() == ids.tolist()  # week 155 after the end: still watched
    m._track_jss_after_end(10 + 156)
    assert m._pending_recovery.size == 0  # week 156: no longer
    s.jss[fr] = 99.0
    m._track_jss_after_end(10 + 157)
    assert (ct.jss_recovered_week[ids] == -1).all()  # a later recovery is not recorded


def test_client_shortfall_is_0_at_the_median_1_at_the_5th_percentile_and_0_without_spread():
    score = np.linspace(0.0, 1.0, 101)  # median 0.5, 5th percentile 0.05
    gap = Freelancer.client_shortfall(score)
    assert gap[50] == 0.0 and (gap[50:] == 0.0).all()
    assert gap[5] == pytest.approx(1.0) and (gap[:5] == 1.0).all()
    assert gap[25] == pytest.approx(0.25 / 0.45)
    flat = Freelancer.client_shortfall(np.full(7, 0.8))  # every client alike: no one avoided
    assert flat.shape == (7,) and (flat == 0.0).all()


# --------------------------------------------------- gaps found by mutation testing (seed 22)
@pytest.mark.parametrize("family, settings", [
    ("beta", {"a": 4.0, "b": 2.0}),
    ("uniform", {"low": 0.2, "high": 0.7}),
    ("truncnormal", {"mean": 0.8, "sd": 0.3}),  # cut hard at 1: a third of the normal is above
])
def test_entrant_quality_follows_each_documented_family(family, settings):
    """ODD: true quality is drawn from 'beta' (a, b), 'uniform' (low, high) or a normal
    (mean, sd) truncated to [0, 1]: the truncated normal is drawn by its inverse CDF between the
    two cut points, so no draw piles up at a bound."""
    from scipy import stats

    quality = {"kind": family, **settings}
    m = _bare_model(**{f"freelancers.quality.{k}": v for k, v in quality.items()})
    q = Freelancer.draw_entrants(m, 20_000)["quality"]
    dist = {"beta": stats.beta(4.0, 2.0), "uniform": stats.uniform(0.2, 0.5),
            "truncnormal": stats.truncnorm((0 - 0.8) / 0.3, (1 - 0.8) / 0.3, 0.8, 0.3)}[family]
    assert ((q > 0) & (q < 1)).all()  # no mass at 0 or 1
    assert stats.kstest(q, dist.cdf).pvalue > 1e-3
    assert q.mean() == pytest.approx(dist.mean(), abs=0.01)


def test_ground_truth_satisfaction_and_delivered_quality_stay_in_0_to_1():
    """docs/outputs.md: delivered quality and the client's satisfaction are 0-1 (each is clipped
    after its noise), however large the noise; high-quality work reaches exactly 1."""
    out = run(**{"clients.satisfaction_noise_sd": 0.5, "freelancers.delivery_noise_sd": 0.3,
                 "freelancers.chaser_share": 0.0})
    c = out.contracts
    assert len(c) > 100
    for column in ("delivered_quality", "satisfaction"):
        assert c[column].between(0.0, 1.0).all(), column
        assert (c[column] == 1.0).mean() > 0.1, column  # the noise pushes many past 1: clipped
        assert (c[column] == 0.0).any(), column


@pytest.mark.parametrize("bar", ["single", "by_category"])
def test_top_rated_plus_large_contract_flags_use_the_chosen_bar_in_a_run(bar):
    """The Top Rated Plus large-contract requirement, as the model computes it in its weekly
    platform update: a non-negative contract ongoing or ended within 52 weeks whose earnings
    reach the bar, the rule set's one trp_large_contract_usd under 'single', each freelancer's
    category bar under 'by_category'."""
    from marketplace import scoring

    params = ModelParams(n_freelancers=300, weeks=60, burn_in_weeks=5).with_overrides(
        {"platform.top_rated_plus_bar": bar})
    m = MarketplaceModel(params, rng=4)
    for _ in range(60):
        m.step()
    assert m.rules.top_rated_plus
    w = m.week
    m._platform_update(w)
    ct, n = m.contract_state, m.freelancer_state.n
    ids = m._window_contracts(w)
    fr = ct.freelancer[ids]
    earned = ct.paid[ids] - ct.refunded[ids]
    end_week = np.where(ct.end_reason[ids] >= 0, ct.end_week[ids], np.nan)
    recent = np.isnan(end_week) | (w - end_week < 52)
    ok = recent & (ct.outcome[ids] != scoring.Outcome.NEGATIVE)
    if bar == "single":
        at_bar = earned >= m.rules.trp_large_contract_usd
    else:
        at_bar = earned >= m._large_contract_bar_usd(fr)
    expected = np.zeros(n, bool)
    expected[fr[ok & at_bar]] = True
    assert m._large_contract.shape == (n,)
    assert (m._large_contract == expected).all()
    assert 0 < expected.sum() < n


# --------------------------------------------------- gaps found by mutation testing (seed 23)
def test_first_hire_week_is_the_start_of_each_freelancers_first_contract():
    """docs/outputs.md: first_hire_week is the week of the first hire (<NA> = never hired), the
    earliest start week of the freelancer's contracts, also for those hired in week 0."""
    out = run(**{"clients.jobs_per_week": 1.0})  # busier: a few hires in week 0
    final = out.final_freelancers.set_index("freelancer_id")
    first = out.contracts.groupby("freelancer_id").start_week.min()
    n_contracts = out.contracts.groupby("freelancer_id").size()
    hired_again = (first == 0) & (n_contracts > 1)
    assert hired_again.sum() >= 2  # hired in the very first week, and again later
    assert (final.loc[first.index, "first_hire_week"] == first).all()
    never = final.index.difference(first.index)
    assert len(never) > 0 and final.loc[never, "first_hire_week"].isna().all()
