"""The interactive dashboard: watch the market week by week in Mesa's SolaraViz.

Start it with ``marketplace viz`` (http://127.0.0.1:8765) or ``solara run marketplace.app``; in
Jupyter, display ``page``. The sidebar sets the rule set, the share of clients filtering on
JSS >= 90, the share of feedback chasers, the rater mix (dishonest, lenient, harsh), the market
size, the run length, the burn-in and the seed, each slider with its value beside it; "Reset"
builds a new market with them, "Step" and the play button advance it one week at a time, and
"Download weekly series (CSV)" saves what the charts show.

Mesa 3.5's SolaraViz has no options to leave out its "Page 0" tab, its "Use Threads" box or its
"Time: 131.0" line, nor to show slider values. This module therefore replaces two of SolaraViz's
building blocks (``ShowSteps`` shows this market's summary instead of the time;
``UserInputs`` draws sliders with their value) and hides the tab bar and the threads box with a
style sheet (``HIDE_MESA_WIDGETS``); see ``_adapt_solaraviz``.

This module only wires things together: the market is ``MarketplaceModel`` (its parameters are
set through ``ModelParams.with_overrides``, the one place that renormalises mixes), the JSS
histogram and the JSS-quality hexbin are the analysis layer's figures (PNG, redrawn when the
platform recomputes the JSS), and the weekly series are ECharts charts of the model's
DataCollector columns, drawn by the browser (a week only sends the points).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from marketplace.analysis import figures
from marketplace.model import Freelancer, MarketplaceModel, ModelParams
from marketplace.scoring import RULE_SET_NAMES

__all__ = [
    "COMPONENTS",
    "DEFAULT_CONTROLS",
    "DEFAULT_N_FREELANCERS",
    "MODEL_PARAMS",
    "DashboardModel",
    "MarketSummary",
    "Page",
    "live_freelancers",
    "page",
]

DEFAULT_N_FREELANCERS = 2_000
"""Market size the page opens with: a week (model step plus redrawing every plot) stays well
under a second at this size (``benchmarks/bench_dashboard.py`` measures it)."""

DASHBOARD_DPI = 110
"""Resolution of the dashboard's PNGs: legends and tick labels stay readable on the page."""

HIDE_MESA_WIDGETS = """
main .v-tabs { display: none !important; }
.v-navigation-drawer .v-input--checkbox { display: none !important; }
.v-navigation-drawer .v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-navigation-drawer .v-input__slider .v-input__slot > .v-label {
  flex: 1 0 100%; max-width: 100%; white-space: normal; margin-bottom: -4px; }
"""
"""CSS hiding SolaraViz's widgets that this page does not use: the tab bar of its single page
("Page 0") and the "Use Threads" box (the page has no other tabs or checkboxes); and slider labels
above their sliders, so a long label does not squeeze the slider."""

_DEFAULTS = ModelParams()

# Each control is a model keyword: a top-level field or a dotted ModelParams path (applied by
# MarketplaceModel through ModelParams.with_overrides), plus the seed and the warm start.
MODEL_PARAMS: dict[str, Any] = {
    "rng": {"type": "InputText", "value": "42", "label": "Seed (whole number; empty = random)"},
    "rules": {"type": "Select", "value": _DEFAULTS.rules, "values": list(RULE_SET_NAMES),
              "label": "JSS rule set"},
    "clients.min_jss_mix.90": {
        "type": "SliderFloat", "value": _DEFAULTS.clients.min_jss_mix.jss90, "min": 0.0,
        "max": 1.0, "step": 0.05, "label": "Clients filtering on JSS >= 90 (share)"},
    "freelancers.chaser_share": {
        "type": "SliderFloat", "value": _DEFAULTS.freelancers.chaser_share, "min": 0.0,
        "max": 1.0, "step": 0.05, "label": "Feedback chasers (share of freelancers)"},
    "clients.rater_mix.dishonest": {
        "type": "SliderFloat", "value": _DEFAULTS.clients.rater_mix.dishonest, "min": 0.0,
        "max": 0.5, "step": 0.01, "label": "Dishonest raters (share of clients)"},
    "clients.rater_mix.lenient": {
        "type": "SliderFloat", "value": _DEFAULTS.clients.rater_mix.lenient, "min": 0.0,
        "max": 0.5, "step": 0.01, "label": "Lenient raters (share of clients)"},
    "clients.rater_mix.harsh": {
        "type": "SliderFloat", "value": _DEFAULTS.clients.rater_mix.harsh, "min": 0.0,
        "max": 0.5, "step": 0.01, "label": "Harsh raters (share of clients)"},
    "n_freelancers": {
        "type": "SliderInt", "value": DEFAULT_N_FREELANCERS, "min": 500, "max": 10_000,
        "step": 500, "label": "Freelancers at week 0"},
    "weeks": {
        "type": "SliderInt", "value": _DEFAULTS.weeks, "min": 52, "max": 520, "step": 13,
        "label": "Run length (weeks)"},
    "warm_up_weeks": {
        "type": "SliderInt", "value": _DEFAULTS.burn_in_weeks, "min": 0, "max": 416, "step": 13,
        "label": "Burn-in (weeks run before showing)"},
}

DEFAULT_CONTROLS: dict[str, Any] = {key: spec["value"] for key, spec in MODEL_PARAMS.items()}
"""The keyword arguments of the market the page opens with (the controls' initial values)."""


def _seed(value: Any) -> int | None:
    """The seed from the Seed box: SolaraViz's InputText gives a str in mesa 3.5.1."""
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"Seed must be a whole number (or empty for a random seed), "
                         f"got {text!r}") from None


class DashboardModel(MarketplaceModel):
    """``MarketplaceModel`` built from the dashboard's flat keyword controls.

    SolaraViz rebuilds the model as ``type(model)(**controls)``; the controls are the
    ``MarketplaceModel`` keywords (dotted ``ModelParams`` paths) plus ``warm_up_weeks``: weeks run
    before the page shows the market, so the JSS plots are not empty while the first 24-month
    windows fill (the model's own ``burn_in_weeks`` by default). No freelancer snapshots are kept;
    the page reads the live state.
    """

    def __init__(self, rng: Any = 42, warm_up_weeks: int = 0, scenario: Any = None,
                 **controls: Any) -> None:
        # SolaraViz's Reset also passes a fresh, empty mesa Scenario; this model's parameters are
        # a ModelParams, so the scenario is dropped (passing it on would clash with the seed).
        del scenario
        seed = _seed(rng)
        weeks = int(controls.get("weeks", _DEFAULTS.weeks))
        warm_up_weeks = min(int(warm_up_weeks), weeks - 1)
        # the burn-in shown is the model's own: the weeks the analysis would discard
        controls.setdefault("burn_in_weeks", warm_up_weeks)
        super().__init__(rng=seed, snapshot_every_weeks=0, **controls)
        self.seed = seed  # shown by the page (None = a random seed)
        for _ in range(min(int(warm_up_weeks), self.p.weeks - 1)):
            self.step()


def live_freelancers(model: MarketplaceModel) -> pd.DataFrame:
    """The active freelancers now, one row each, with the columns the analysis figures read
    (``true_quality``, ``jss`` with NaN = no JSS, ``strategy``, ``top_rated``)."""
    columns = ["true_quality", "jss", "strategy", "top_rated"]
    active = model.agents_by_type[Freelancer].select(lambda agent: agent.active)
    frame = pd.DataFrame(active.get(columns), columns=columns)
    frame["jss"] = pd.to_numeric(frame["jss"], errors="coerce").astype(float)
    return frame


def _scored(model: MarketplaceModel) -> pd.DataFrame:
    """The active freelancers with a JSS."""
    frame = live_freelancers(model)
    return frame.loc[frame["jss"].notna()].reset_index(drop=True)


def jss_update_week(model: MarketplaceModel) -> int:
    """The last week the platform recomputed every JSS (every ``jss_update_weeks`` weeks, as
    Upwork does about every two weeks). The JSS figures show the market as of that week and are
    redrawn only then: in between, no JSS changes and only exits thin the population."""
    every = model.p.jss_update_weeks
    last_week = max(model.week - 1, 0)  # the week the last step simulated
    return last_week - last_week % every


@solara.component
def JssHistogram(model: MarketplaceModel) -> None:
    """Distribution of the JSS, honest freelancers and chasers apart, with the 90 line."""
    update_counter.get()  # re-run after every step
    shown = [model, jss_update_week(model)]
    figure = solara.use_memo(lambda: figures.jss_histogram(_scored(model), group="strategy"),
                             dependencies=shown)
    solara.FigureMatplotlib(figure, dependencies=shown, format="png", dpi=DASHBOARD_DPI)


@solara.component
def JssQualityHexbin(model: MarketplaceModel) -> None:
    """JSS against the hidden true quality, with the 90 line."""
    update_counter.get()
    shown = [model, jss_update_week(model)]
    figure = solara.use_memo(lambda: figures.jss_quality_hexbin(_scored(model)),
                             dependencies=shown)
    solara.FigureMatplotlib(figure, dependencies=shown, format="png", dpi=DASHBOARD_DPI)


def _percent(share: float) -> str:
    return "-" if share != share else f"{100 * share:.0f}%"  # NaN -> "-"


@solara.component
def MarketSummary(model: MarketplaceModel) -> None:
    """The settings the shown market was built with, and where it stands this week."""
    update_counter.get()
    p = model.p
    now = model.datacollector.get_model_vars_dataframe().iloc[-1] if model.week else None
    raters = ", ".join(f"{_percent(v)} {k}" for k, v in p.clients.rater_mix.shares().items())
    lines = [
        f"rule set: {p.rules}",
        f"seed: {model.seed if model.seed is not None else 'random'}",
        f"freelancers at week 0: {p.n_freelancers:,}",
        f"clients filtering on JSS >= 90: {_percent(p.clients.min_jss_mix.jss90)}",
        f"feedback chasers: {_percent(p.freelancers.chaser_share)}",
        f"raters: {raters}",
    ]
    if now is not None:
        lines += [
            f"active freelancers: {int(now['n_active_freelancers']):,}, "
            f"with a JSS: {_percent(now['share_with_jss'])}",
            f"JSS >= 90 (of those with one): {_percent(now['share_jss_ge_90'])}",
            f"Spearman(JSS, true quality): {now['spearman_jss_quality']:.2f}",
        ]
    # plain text: solara.Markdown would fetch a math renderer from a CDN
    with solara.Column(gap="2px"):
        solara.Text(f"Week {model.week} of {p.weeks}", style={"font-weight": "bold"})
        for line in lines:
            solara.Text(line)
        solara.FileDownload(lambda: weekly_csv(model), filename=_csv_name(model),
                            label="Download weekly series (CSV)")


def weekly_csv(model: MarketplaceModel) -> bytes:
    """The weekly series so far (the model's DataCollector, one row per week, every column the
    charts draw from) as CSV, with the market's settings in the first columns."""
    frame = pd.DataFrame(model.datacollector.model_vars)
    p = model.p
    settings = {"seed": model.seed, "rules": p.rules, "n_freelancers": p.n_freelancers,
                "clients.min_jss_mix.90": p.clients.min_jss_mix.jss90,
                "freelancers.chaser_share": p.freelancers.chaser_share,
                **{f"clients.rater_mix.{k}": v for k, v in p.clients.rater_mix.shares().items()}}
    for i, (key, value) in enumerate(settings.items()):
        frame.insert(i, key, value)
    return frame.to_csv(index=False).encode()


def _csv_name(model: MarketplaceModel) -> str:
    return f"jss-market_weekly_seed{model.seed if model.seed is not None else 'random'}" \
           f"_week{model.week}.csv"


@solara.component
def _LabelledSlider(name: str, options: dict[str, Any], on_change: Any) -> None:
    """A SolaraViz slider whose label ends with its current value ("Harsh raters (share of
    clients): 0.04"), updated as the slider moves."""
    value, set_value = solara.use_state(options.get("value"))
    is_float = options.get("type") == "SliderFloat"

    def changed(new: Any) -> None:
        set_value(new)
        on_change(name, new)

    slider = solara.SliderFloat if is_float else solara.SliderInt
    shown = f"{value:.2f}" if is_float else f"{value:,}"
    slider(f"{options.get('label', name)}: {shown}", value=value, on_value=changed,
           min=options.get("min"), max=options.get("max"), step=options.get("step"))


def _adapt_solaraviz() -> None:
    """Replace SolaraViz's ``UserInputs`` (sliders with their value) and ``ShowSteps`` (this
    market's summary instead of "Time: 131.0"); Mesa 3.5 offers no option for either. Both are
    looked up in mesa's module when SolaraViz renders, so the page picks them up."""
    from mesa.visualization import solara_viz

    if getattr(solara_viz, "_jss_market_adapted", False):
        return
    original_inputs = solara_viz.UserInputs

    @solara.component
    def UserInputs(user_params: dict[str, Any], on_change: Any = None) -> None:
        for name, options in user_params.items():
            if isinstance(options, dict) and options.get("type") in ("SliderInt", "SliderFloat"):
                _LabelledSlider(name, options, on_change)
            else:
                original_inputs({name: options}, on_change=on_change)

    solara_viz.UserInputs = UserInputs
    solara_viz.ShowSteps = MarketSummary
    solara_viz._jss_market_adapted = True


@dataclass(frozen=True)
class SeriesPanel:
    """One chart of weekly series: DataCollector columns (column -> (colour, legend label)) over
    the week."""

    title: str
    ylabel: str
    columns: dict[str, tuple[str, str]]
    share: bool = False  # a 0-1 share: fixed y axis


SERIES_PANELS: tuple[SeriesPanel, ...] = (
    SeriesPanel("Share with JSS >= 90 and share Top Rated", "Share", {
        "share_jss_ge_90": ("#D55E00", "JSS >= 90 (of freelancers with a JSS)"),
        "share_top_rated": ("#0072B2", "Top Rated or Plus (of active freelancers)")},
        share=True),
    SeriesPanel("Mean public stars of the week's reviews", "Stars (1-5)",
                {"mean_public_stars": ("#0072B2", "mean public stars")}),
    SeriesPanel("Hire rate: share of the week's posts that hired", "Share",
                {"share_posts_hired": ("#0072B2", "hire rate")}, share=True),
    SeriesPanel("Refunds paid back to clients in the week", "USD",
                {"refunds_usd": ("#0072B2", "refunds (USD)")}),
)
"""The weekly series the page shows, one chart each."""

SERIES_HEIGHT_PX = 380


def _points(weeks: list[Any], values: list[Any]) -> list[list[float | None]]:
    """[week, value] pairs for a chart; NaN (no review that week) becomes a gap (JSON null)."""
    return [[int(w), None if v is None or v != v else float(v)]
            for w, v in zip(weeks, values, strict=True)]


def series_chart_option(panel: SeriesPanel, series: dict[str, list[Any]]) -> dict[str, Any]:
    """The ECharts option of one ``SeriesPanel`` over the DataCollector columns so far
    (``model.datacollector.model_vars``)."""
    weeks = series["week"]
    y_axis: dict[str, Any] = {"type": "value", "name": panel.ylabel, "nameLocation": "middle",
                              "nameGap": 58, "scale": not panel.share}
    if panel.share:
        y_axis.update(min=0, max=1)
    return {
        "animation": False,  # a week redraws at once, and the browser test sees settled charts
        "title": {"text": panel.title, "left": "center",
                  "textStyle": {"fontSize": 14, "fontWeight": "normal"}},
        "legend": {"top": 28, "show": len(panel.columns) > 1},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 80, "right": 24, "top": 64 if len(panel.columns) > 1 else 40,
                 "bottom": 48},
        "xAxis": {"type": "value", "name": "Week", "nameLocation": "middle", "nameGap": 28,
                  "min": "dataMin", "max": "dataMax"},
        "yAxis": y_axis,
        "series": [{"type": "line", "name": label, "showSymbol": False,
                    "itemStyle": {"color": color}, "lineStyle": {"width": 1.5},
                    "data": _points(weeks, series[column])}
                   for column, (color, label) in panel.columns.items()],
    }


def _series_component(panel: SeriesPanel):
    @solara.component
    def WeeklySeries(model: MarketplaceModel) -> None:
        """A weekly series of this market, drawn by the browser (ECharts, shipped offline in
        ``solara-assets``): the server only sends the points, no image is rendered."""
        update_counter.get()
        series = model.datacollector.model_vars
        option = solara.use_memo(lambda: series_chart_option(panel, series),
                                 dependencies=[model, len(series["week"])])
        solara.FigureEcharts(option=option, responsive=True,
                             attributes={"style": f"height: {SERIES_HEIGHT_PX}px; width: 100%"})

    return WeeklySeries


COMPONENTS = [
    JssHistogram,
    JssQualityHexbin,
    *(_series_component(panel) for panel in SERIES_PANELS),
]


@solara.component
def Page() -> None:
    """One market per browser session: a model made at import time would be shared (and stepped)
    by every visitor, so it is built here, once per session. The reactive model is shared with
    SolaraViz, so the summary follows "Reset"."""
    _adapt_solaraviz()
    first = solara.use_memo(lambda: DashboardModel(**DEFAULT_CONTROLS), dependencies=[])
    model = solara.use_reactive(first)
    solara.Style(HIDE_MESA_WIDGETS)
    # SolaraViz's "Information" card shows MarketSummary (see _adapt_solaraviz)
    SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS,
              name="jss-market: the Job Success Score and its 90% line")


page = Page()
"""The page as an element, for Jupyter (``from marketplace.app import page; page``)."""
