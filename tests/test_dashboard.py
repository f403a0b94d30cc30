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
from solara.components.echarts import EchartsWidget

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
        charts = rc.find(EchartsWidget).widgets
        assert (len(images), len(charts)) == (2, 4)  # the JSS figures, then the weekly series
        assert all(bytes(image.value).startswith(b"\x89PNG") for image in images)
        before = [chart.option for chart in charts]
        for option, panel in zip(before, app.SERIES_PANELS, strict=True):
            assert option["title"]["text"] == panel.title
            assert {s["name"] for s in option["series"]} == {
                label for _, label in panel.columns.values()}
            assert all(len(s["data"]) == model.week for s in option["series"])
        model.step()
        force_update()  # what SolaraViz's Step button does after model.step()
        after = [chart.option for chart in rc.find(EchartsWidget).widgets]
        for old, new in zip(before, after, strict=True):
            for old_series, new_series in zip(old["series"], new["series"], strict=True):
                assert new_series["data"][:-1] == old_series["data"]
                assert new_series["data"][-1][0] == model.week - 1  # the new week's point
    finally:
        rc.close()


def test_series_chart_points_follow_the_datacollector_and_nan_is_a_gap():
    series = {"week": [0, 1, 2], "mean_public_stars": [4.5, float("nan"), 4.0]}
    option = app.series_chart_option(app.SERIES_PANELS[1], series)
    assert option["series"][0]["data"] == [[0, 4.5], [1, None], [2, 4.0]]
    import json

    json.dumps(option, allow_nan=False)  # the browser gets valid JSON


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


def test_jss_figures_are_redrawn_when_the_platform_recomputes_the_jss():
    model = app.DashboardModel(**{**SMALL, "warm_up_weeks": 40})
    assert model.p.jss_update_weeks == 2
    _, rc = solara.render(SolaraViz(model, components=app.COMPONENTS[:2],
                                    model_params=app.MODEL_PARAMS), handle_error=False)
    try:
        def pngs() -> list[bytes]:
            return [bytes(image.value) for image in rc.find(ipywidgets.Image).widgets]

        shown = {}
        for _ in range(4):
            model.step()
            force_update()
            shown.setdefault(app.jss_update_week(model), []).append(pngs())
        assert [len(v) for v in shown.values()] == [2, 2]  # two weeks per JSS update
        (a1, a2), (b1, b2) = shown.values()
        assert a1 == a2 and b1 == b2  # not redrawn between two updates
        assert all(x != y for x, y in zip(a1, b1, strict=True))  # redrawn after an update
    finally:
        rc.close()
    frame = app._scored(model)
    assert np.isfinite(frame["jss"]).all() and len(frame) > 0


def test_new_controls_reach_the_model_and_the_csv_holds_the_weekly_series():
    """Harsh raters, run length and burn-in are controls; the download is the weekly series."""
    import io

    import pandas as pd

    for key in ("clients.rater_mix.harsh", "weeks", "warm_up_weeks"):
        assert key in app.MODEL_PARAMS
    model = app.DashboardModel(**{**SMALL, "clients.rater_mix.harsh": 0.2, "weeks": 60,
                                  "warm_up_weeks": 5})
    assert model.p.clients.rater_mix.harsh == pytest.approx(0.2)
    assert model.p.weeks == 60 and model.p.burn_in_weeks == 5 and model.week == 5
    model.step()
    frame = pd.read_csv(io.BytesIO(app.weekly_csv(model)))
    assert len(frame) == len(model.datacollector.model_vars["week"])
    assert {"seed", "rules", "clients.rater_mix.harsh", "share_jss_ge_90"} <= set(frame.columns)
    assert frame["clients.rater_mix.harsh"].to_numpy() == pytest.approx(np.full(len(frame), 0.2))


def test_slider_shows_its_value_and_mesa_time_gives_way_to_the_summary():
    """Slider values beside the sliders; SolaraViz's 'Time:' line is replaced by this market's
    summary (with the CSV download). The served page is checked by the browser test."""
    from mesa.visualization import solara_viz

    changes = []
    spec = app.MODEL_PARAMS["clients.rater_mix.harsh"]
    _, rc = solara.render(app._LabelledSlider("clients.rater_mix.harsh", spec,
                                              lambda name, value: changes.append((name, value))),
                          handle_error=False)
    try:
        slider = rc.find(ipyvuetify.Slider).widget
        assert slider.label == f"{spec['label']}: {spec['value']:.2f}"
        slider.v_model = 0.2
        assert changes == [("clients.rater_mix.harsh", 0.2)]
        assert rc.find(ipyvuetify.Slider).widget.label == f"{spec['label']}: 0.20"
    finally:
        rc.close()
    app._adapt_solaraviz()
    assert solara_viz.ShowSteps is app.MarketSummary
    model = app.DashboardModel(**SMALL)
    _, rc = solara.render(app.MarketSummary(model), handle_error=False)
    try:
        texts = [w.children[0] for w in rc.find(ipyvuetify.Html).widgets if w.children]
        assert f"Week {model.week} of {model.p.weeks}" in texts
        assert not [t for t in texts if str(t).startswith("Time:")]
        assert "Download weekly series (CSV)" in str(rc.find(ipyvuetify.Btn).widget.children)
    finally:
        rc.close()
