"""The dashboard without a browser: the app imports, its controls reach the model, it renders.

The browser test (tests/test_dashboard_browser.py) drives the served page; these check the
wiring quickly: every control is a valid model keyword, a control's value ends up in the
model's parameters, the seed box's text is a seed, and the page's plots render and follow a step.
"""

from __future__ import annotations

import ipyvuetify
import ipywidgets
import numpy as np
import pytest
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update

from marketplace import app
from marketplace.model import ModelParams
from marketplace.model.outputs import TIMESERIES_COLUMNS
from marketplace.scoring import RULE_SET_NAMES

SMALL = {**app.DEFAULT_CONTROLS, "n_freelancers": 300, "warm_up_weeks": 8}


def test_every_control_is_a_model_parameter_with_its_schema_default():
    dotted = {k: v for k, v in app.DEFAULT_CONTROLS.items() if "." in k}
    assert dotted, "the mix and share controls are dotted ModelParams paths"
    params = ModelParams().with_overrides(dotted)  # raises ParameterError on an unknown path
    defaults = ModelParams().model_dump(by_alias=True)
    for path, value in dotted.items():
        node = defaults
        for key in path.split("."):
            node = node[key]
        assert value == pytest.approx(node), f"{path} opens at its ModelParams default"
    # setting shares to their defaults leaves each mix as it was (up to float rounding)
    for mix in ("min_jss_mix", "rater_mix"):
        got = getattr(params.clients, mix).shares()
        assert got == pytest.approx(getattr(ModelParams().clients, mix).shares())
    assert app.MODEL_PARAMS["rules"]["values"] == list(RULE_SET_NAMES)
    assert app.MODEL_PARAMS["rules"]["value"] == ModelParams().rules


def test_controls_reach_the_model_and_mixes_still_sum_to_one():
    model = app.DashboardModel(**{
        **SMALL, "rules": "upwork-2015", "freelancers.chaser_share": 0.6,
        "clients.min_jss_mix.90": 0.8, "clients.rater_mix.dishonest": 0.3,
        "clients.rater_mix.lenient": 0.2, "n_freelancers": 250,
    })
    p = model.p
    assert (p.rules, p.n_freelancers) == ("upwork-2015", 250)
    assert p.freelancers.chaser_share == 0.6
    assert p.clients.min_jss_mix.jss90 == 0.8
    assert (p.clients.rater_mix.dishonest, p.clients.rater_mix.lenient) == (0.3, 0.2)
    assert sum(p.clients.rater_mix.shares().values()) == pytest.approx(1.0)
    assert sum(p.clients.min_jss_mix.shares().values()) == pytest.approx(1.0)


def test_warm_start_then_one_step_through_the_adapter():
    model = app.DashboardModel(**SMALL)
    assert model.week == 8 and model.time == 8
    model.step()
    assert model.week == 9 and model.time == 9
    series = model.datacollector.get_model_vars_dataframe()
    assert len(series) == 9
    assert set(TIMESERIES_COLUMNS) <= set(series.columns)
    frame = app.live_freelancers(model)
    assert len(frame) == int(series["n_active_freelancers"].iloc[-1])
    assert frame["true_quality"].between(0, 1).all()
    assert frame["jss"].dropna().between(0, 100).all()


def test_seed_box_text_is_the_seed_and_solaraviz_reset_kwargs_are_accepted():
    from_text = app.DashboardModel(**{**SMALL, "rng": " 7 "})
    from_int = app.DashboardModel(**{**SMALL, "rng": 7})
    other = app.DashboardModel(**{**SMALL, "rng": "8"})
    a, b, c = (m.datacollector.get_model_vars_dataframe() for m in (from_text, from_int, other))
    assert from_text.seed == 7
    assert a.equals(b)
    assert not a.equals(c)
    assert app.DashboardModel(**{**SMALL, "rng": ""}).seed is None  # empty box: random seed
    with pytest.raises(ValueError, match="Seed must be a whole number"):
        app.DashboardModel(**{**SMALL, "rng": "forty-two"})
    # SolaraViz's Reset passes Mesa's (empty) scenario along with the controls
    from mesa.experimental.scenarios import Scenario

    assert app.DashboardModel(**SMALL, scenario=Scenario()).seed == 42


def test_page_renders_six_plots_and_a_step_redraws_the_time_series():
    model = app.DashboardModel(**SMALL)
    _, rc = solara.render(SolaraViz(model, components=app.COMPONENTS,
                                    model_params=app.MODEL_PARAMS), handle_error=False)
    try:
        images = rc.find(ipywidgets.Image).widgets
        assert len(images) == 6
        before = [bytes(image.value) for image in images]
        assert all(b.startswith(b"\x89PNG") for b in before)
        model.step()
        force_update()  # what SolaraViz's Step button does after model.step()
        after = [bytes(image.value) for image in rc.find(ipywidgets.Image).widgets]
        assert all(a != b for a, b in zip(after[2:], before[2:], strict=True))
    finally:
        rc.close()


def test_market_summary_shows_the_settings_and_the_week():
    model = app.DashboardModel(**{**SMALL, "rng": 5, "freelancers.chaser_share": 0.45})
    _, rc = solara.render(app.MarketSummary(model), handle_error=False)
    try:
        text = " ".join(" ".join(w.children) for w in rc.find(ipyvuetify.Html).widgets)
        for expected in ("Week 8 of", "seed: 5", "feedback chasers: 45%",
                         f"rule set: {ModelParams().rules}", "freelancers at week 0: 300"):
            assert expected in text, expected
    finally:
        rc.close()


def test_jss_figures_skip_redrawing_when_no_jss_changed():
    model = app.DashboardModel(**{**SMALL, "warm_up_weeks": 40})
    frame, fingerprint = app._scored(model)
    assert np.isfinite(frame["jss"]).all()
    again, same = app._scored(model)
    assert same == fingerprint and again.equals(frame)
