"""How long one dashboard week takes: the model step, then every component brought up to date.

The two JSS figures are PNGs drawn by matplotlib (redrawn when the platform recomputes the JSS,
every other week by default); the four weekly series are ECharts charts drawn by the browser, so
the server only builds their points.

Renders the SolaraViz page in-process (``solara.render``, no browser, no server), steps the
market the way the Step button does (``model.step()`` then Mesa's ``force_update()``) and times it
at several market sizes. The browser adds the websocket round trip and image decoding on top
(``tests/test_dashboard_browser.py`` prints that end-to-end latency). Wall times include waiting
for a busy machine; the CPU time of the rendering thread is what a week costs on an idle core.

    .venv/bin/python benchmarks/bench_dashboard.py [--weeks 20] [--sizes 1000 2000 5000]
"""

from __future__ import annotations

import argparse
import statistics
import time

import ipywidgets
import solara
from mesa.visualization import SolaraViz
from mesa.visualization.utils import force_update
from solara.components.echarts import EchartsWidget

from marketplace.app import (
    COMPONENTS,
    DEFAULT_CONTROLS,
    DEFAULT_N_FREELANCERS,
    MODEL_PARAMS,
    DashboardModel,
)


def bench(n_freelancers: int, weeks: int) -> dict[str, float]:
    controls = {**DEFAULT_CONTROLS, "n_freelancers": n_freelancers}
    started = time.perf_counter()
    model = DashboardModel(**controls)
    build_s = time.perf_counter() - started

    started = time.perf_counter()
    _, rc = solara.render(SolaraViz(model, components=COMPONENTS, model_params=MODEL_PARAMS),
                          handle_error=False)
    first_render_s = time.perf_counter() - started
    n_images = len(rc.find(ipywidgets.Image).widgets)
    n_charts = len(rc.find(EchartsWidget).widgets)

    step_only, step_and_render, cpu = [], [], []
    for _ in range(weeks):
        started, cpu_started = time.perf_counter(), time.thread_time()
        model.step()
        stepped = time.perf_counter()
        force_update()  # what the Step button does after model.step(): components re-run
        done = time.perf_counter()
        step_only.append(stepped - started)
        step_and_render.append(done - started)
        cpu.append(time.thread_time() - cpu_started)
    rc.close()
    return {
        "freelancers": n_freelancers,
        "images": n_images,
        "charts": n_charts,
        "build+warm-up s": build_s,
        "first render s": first_render_s,
        "model step ms (median)": 1000 * statistics.median(step_only),
        "week shown ms (median)": 1000 * statistics.median(step_and_render),
        "week shown ms (max)": 1000 * max(step_and_render),
        # CPU time of this thread: what a week costs on an otherwise idle core
        "week CPU ms (median)": 1000 * statistics.median(cpu),
        "week CPU ms (mean)": 1000 * statistics.mean(cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=20, help="weeks stepped per size")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000, DEFAULT_N_FREELANCERS, 5_000],
                        help="market sizes (freelancers at week 0)")
    args = parser.parse_args()
    print(f"dashboard default: {DEFAULT_N_FREELANCERS:,} freelancers, warm start "
          f"{DEFAULT_CONTROLS['warm_up_weeks']} weeks")
    for size in args.sizes:
        row = bench(size, args.weeks)
        print("  ".join(f"{k}: {v:,.0f}" if isinstance(v, int) else f"{k}: {v:.2f}"
                        for k, v in row.items()))


if __name__ == "__main__":
    main()
