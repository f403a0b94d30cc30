"""Client choice and pricing (issue 8): each parameter does what it says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from marketplace.model import Client, MarketplaceModel, ModelParams, simulate


def _step_and_collect_choices(params: ModelParams, weeks: int, seed: int = 5):
    model = MarketplaceModel(params, rng=seed)
    seen = []
    for _ in range(weeks):
        model.step()
        jobs, f, j, choice = model._last_choice
        seen.append((model, jobs, f.copy(), j.copy(), {k: v.copy() for k, v in choice.items()},
                     model.freelancer_state.quality.copy(), model.freelancer_state.price.copy()))
    return seen


def test_without_noise_and_score_weight_clients_hire_best_quality_for_price():
    params = ModelParams(n_freelancers=300, weeks=40, burn_in_weeks=5).with_overrides({
        "clients.utility.public_profile_weight": 0.0,  # no weight on the public score
        "clients.utility.quality_signal_noise": 0.0,   # a perfect private read of quality
        "clients.utility.choice_noise": 0.0,
        "clients.utility.score_weight_slope": 0.0,     # w(p) = 0.5 for every job
        "clients.utility.reservation_utility": -100.0,
        "clients.abandon_prob": 0.0,
        "clients.min_jss_mix.any": 1.0,
    })
    u = params.clients.utility
    checked = 0
    for _model, _jobs, f, j, choice, quality, price in _step_and_collect_choices(params, 25):
        # quality for price: quality_weight x q - (1 - w) x price_scale x log(rate / reference)
        value = u.quality_weight * quality[f] - 0.5 * u.price_scale * np.log(
            price[f] / params.freelancers.price_median_usd)
        best = pd.Series(value).groupby(j).max()
        winners = choice["winner"]
        for job, top in best.items():
            w = winners[job]
            assert w >= 0
            mine = value[(j == job) & (f == w)]
            assert mine.size == 1 and mine[0] == pytest.approx(top)
            checked += 1
    assert checked > 200


def test_score_weight_rises_with_job_value_by_the_slope():
    model = MarketplaceModel(ModelParams(n_freelancers=50, weeks=2, burn_in_weeks=0), rng=1)
    p = np.array([0.05, 0.5, 0.95])
    w = Client.score_weight(model, p)
    assert w[1] == pytest.approx(0.5)
    assert w[0] < 0.5 < w[2]
    flat = MarketplaceModel(ModelParams(n_freelancers=50, weeks=2, burn_in_weeks=0).with_overrides(
        {"clients.utility.score_weight_slope": 0.0}), rng=1)
    assert np.allclose(Client.score_weight(flat, p), 0.5)


def test_large_signal_noise_hides_quality_from_clients():
    base = {"n_freelancers": 500, "weeks": 80, "burn_in_weeks": 20,
            "clients.utility.public_profile_weight": 0.0, "clients.utility.choice_noise": 0.1,
            "clients.utility.reservation_utility": -100.0}
    sharp = simulate(ModelParams().with_overrides(
        {**base, "clients.utility.quality_signal_noise": 0.0}), seed=3)
    blind = simulate(ModelParams().with_overrides(
        {**base, "clients.utility.quality_signal_noise": 100.0}), seed=3)
    q_sharp = sharp.contracts.merge(sharp.final_freelancers, on="freelancer_id").true_quality
    q_blind = blind.contracts.merge(blind.final_freelancers, on="freelancer_id").true_quality
    assert q_sharp.mean() > q_blind.mean() + 0.05


def test_reputation_pricing_top_rated_ask_more_than_equal_quality_others():
    out = simulate(ModelParams(n_freelancers=800, weeks=130, burn_in_weeks=26).with_overrides(
        {"freelancers.pricing": "reputation", "freelancers.reputation_price_slope": 1.0}), seed=4)
    final = out.final_freelancers
    final = final[final.active].copy()
    assert final.top_rated.sum() > 10
    final["quality_bin"] = pd.qcut(final.true_quality, 4, labels=False)
    log_price = np.log(final.price_usd)
    by = log_price.groupby([final.quality_bin, final.top_rated]).mean().unstack()
    by = by.dropna()
    assert len(by) >= 2
    assert (by[True] > by[False] + 0.3).all()
    # under quality pricing the badge adds nothing to the price of an equally good freelancer
    q = simulate(ModelParams(n_freelancers=800, weeks=130, burn_in_weeks=26), seed=4)
    fq = q.final_freelancers[q.final_freelancers.active]
    slope = np.polyfit(fq.true_quality, np.log(fq.price_usd), 1)[0]
    assert slope == pytest.approx(ModelParams().freelancers.price_quality_slope, abs=0.3)


def test_proposals_read_per_post_falls_when_clients_filter_at_90():
    base = {"n_freelancers": 500, "weeks": 100, "burn_in_weeks": 20,
            "clients.accepts_no_jss_share": 0.5, "clients.second_tab_prob": 0.1}
    # pooled over two seeds: one 500-freelancer run's ratio varies by about +-0.05 around 0.7
    anyone = [simulate(ModelParams().with_overrides({**base, "clients.min_jss_mix.any": 1.0}),
                       seed=s) for s in (6, 7)]
    ninety = [simulate(ModelParams().with_overrides({**base, "clients.min_jss_mix.90": 1.0}),
                       seed=s) for s in (6, 7)]

    # Per job posted: under the relative reservation utility (issue 11) a 90 filter also
    # lowers hires (fewer visible proposals beat the market reference), so per-hire workload
    # has no fixed direction; the reading a filter saves shows per post.
    def read_per_post(outs):
        posts = sum(out.clients.jobs_posted.sum() for out in outs)
        return sum(out.clients.proposals_read.sum() for out in outs) / posts

    assert read_per_post(ninety) < 0.8 * read_per_post(anyone)
    anyone = anyone[0]
    # with no preference clients read everything they receive
    assert anyone.clients.proposals_read.sum() == anyone.clients.proposals_received.sum()


def test_reputation_pricing_changes_only_how_price_follows_reputation():
    """Switching pricing to 'reputation' keeps the link of price to quality (its own parameter)
    and the market's price level (reputation is centred on the market mean)."""
    base = {"n_freelancers": 800, "weeks": 130, "burn_in_weeks": 26}
    rep = simulate(ModelParams().with_overrides({**base, "freelancers.pricing": "reputation"}),
                   seed=4)
    fq = rep.final_freelancers[rep.final_freelancers.active]
    no_jss = fq[fq.jss.isna() & ~fq.top_rated]  # reputation index 0 for all of them
    slope = np.polyfit(no_jss.true_quality, np.log(no_jss.price_usd), 1)[0]
    assert slope == pytest.approx(ModelParams().freelancers.price_quality_slope, abs=0.3)
    flat = simulate(ModelParams().with_overrides({
        **base, "freelancers.pricing": "reputation",
        "freelancers.reputation_price_quality_slope": 0.0}), seed=4)
    fz = flat.final_freelancers[flat.final_freelancers.active]
    fz = fz[fz.jss.isna() & ~fz.top_rated]
    assert abs(np.polyfit(fz.true_quality, np.log(fz.price_usd), 1)[0]) < 0.3
    quality = simulate(ModelParams().with_overrides(base), seed=4)
    fqq = quality.final_freelancers[quality.final_freelancers.active]
    assert abs(np.log(fq.price_usd).mean() - np.log(fqq.price_usd).mean()) < 0.15


def test_score_scale_changes_whom_clients_hire_not_how_often():
    base = {"n_freelancers": 800, "weeks": 100, "burn_in_weeks": 40}
    rates = []
    for scale in (5.0, 20.0):
        out = simulate(ModelParams().with_overrides(
            {**base, "clients.utility.score_scale": scale}), seed=2)
        ts = out.timeseries[out.timeseries.week >= 40]
        rates.append(ts.hires.sum() / ts.jobs_posted.sum())
    # with a fixed reservation utility, score_scale 5 left almost nobody hired (issue 11); relative
    # to the market, a 4x change of the score's weight moves the hire rate by a fifth at most
    # (0.23 against 0.28 in this small world at the recalibrated defaults)
    assert 0.75 < rates[0] / rates[1] < 1.33, rates


def test_choice_counts_proposals_and_reads_as_integers():
    """``Client.choose`` returns per-job counts: proposals received, and proposals read (the
    first tab, plus the second when opened), both integers, reads never above proposals."""
    params = ModelParams(n_freelancers=300, weeks=20, burn_in_weeks=5)
    opened_any = False
    for _model, _jobs, _f, j, choice, _q, _p in _step_and_collect_choices(params, 12):
        for name in ("n_proposals", "n_read"):
            assert choice[name].dtype.kind == "i", name
        n_prop, n_read = choice["n_proposals"], choice["n_read"]
        assert (n_prop == np.bincount(j, minlength=n_prop.size)).all()
        assert ((n_read >= 0) & (n_read <= n_prop)).all()
        assert (n_read[choice["opened"]] == n_prop[choice["opened"]]).all()
        opened_any |= bool(choice["opened"].any())
    assert opened_any
