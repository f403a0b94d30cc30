"""The dashboard in a real browser: `marketplace viz` on 127.0.0.1, driven by headless Chromium.

Debian's chromium (/usr/bin/chromium, installed by `make test` through scripts/ensure_browser.sh)
is driven by Playwright; no browser is downloaded. The test loads the page, steps the market,
changes controls, rebuilds the market with them, plays a few weeks and checks that the plots are
drawn and change. Every wait is bounded, and the server is always stopped.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from marketplace.model import ModelParams

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# Headless in a container as root, on a closed network: no sandbox (needs user namespaces), no GPU,
# and none of the background calls home that would only spam refused connections.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_SECONDS = 120
ACTION_MS = 30_000  # any single browser action or wait
N_PLOTS = 6  # JSS histogram, JSS-quality hexbin (PNG images), four time series (ECharts canvases)
PLOTS = "main img, main .solara-echarts"  # in page order: the two images, then the four charts


def _ensure_chromium() -> None:
    """Install Debian's chromium if missing (what `make test` does first); skip if impossible."""
    if CHROMIUM.exists():
        return
    script = REPO / "scripts" / "ensure_browser.sh"
    if shutil.which("bash") and script.exists():
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(["bash", str(script)], timeout=600, check=False)
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing and scripts/ensure_browser.sh could not install it "
                    "(needs root or passwordless sudo, and apt-get)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server and anything it started (its own process group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


@pytest.fixture
def dashboard_url(tmp_path: Path) -> Iterator[str]:
    """`marketplace viz` on a free port of 127.0.0.1; the URL once it serves the page."""
    _ensure_chromium()
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "marketplace.cli", "viz", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"},
        )
        try:
            deadline = time.monotonic() + SERVER_START_SECONDS
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"marketplace viz exited with {proc.returncode}:\n"
                                f"{log_path.read_text()[-3000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=5) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"marketplace viz did not serve {url} within "
                                f"{SERVER_START_SECONDS} s:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            _stop(proc)


def _wait(condition: Callable[[], bool], what: str, seconds: float = ACTION_MS / 1000) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.1)


WEEK_TEXT = re.compile(r"^Week \d+ of \d+$")


def _week(page) -> int:
    """The model's week as the sidebar shows it ("Week 104 of 260")."""
    text = page.get_by_text(WEEK_TEXT).inner_text()
    return int(text.split()[1])


def _plot_pixels(page) -> list[bytes]:
    """What each plot shows now (a screenshot of each plot image)."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + ACTION_MS / 1000
    while True:
        plots = page.locator(PLOTS)
        try:  # a redraw can replace an image while it is being captured: capture again
            return [plots.nth(i).screenshot(timeout=5_000) for i in range(plots.count())]
        except PlaywrightError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _wait_plots_drawn(page) -> None:
    page.wait_for_function(
        f"""() => {{
            const imgs = document.querySelectorAll('main img');
            const charts = document.querySelectorAll('main .solara-echarts');
            return imgs.length + charts.length === {N_PLOTS} &&
                   Array.from(imgs).every(i => i.complete && i.naturalWidth > 100) &&
                   Array.from(charts).every(c => {{
                       const canvas = c.querySelector('canvas');
                       return canvas && canvas.width > 100 && canvas.height > 100;
                   }});
        }}""", timeout=ACTION_MS)


def _changed(before: list[bytes], after: list[bytes]) -> list[bool]:
    """Which plots differ (none while the page is between two redraws and shows fewer plots)."""
    if len(after) != len(before):
        return [False] * len(before)
    return [a != b for a, b in zip(before, after, strict=True)]


def test_dashboard_loads_steps_takes_controls_and_plays(dashboard_url: str, tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_MS)  # a busy CI machine redraws slowly
    timings: dict[str, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1500, "height": 1300},
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(ACTION_MS)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            started = time.monotonic()
            page.goto(dashboard_url, timeout=ACTION_MS)
            expect(page.get_by_text(WEEK_TEXT)).to_be_visible(timeout=60_000)
            _wait_plots_drawn(page)
            timings["page load s"] = time.monotonic() - started
            expect(page.get_by_text("rule set: upwork-2023")).to_be_visible()
            first_week = _week(page)
            assert first_week > 0, "the page should open on a warmed-up market"
            # none of Mesa's leftover widgets; every slider with its value beside it
            for leftover in ("Page 0", "Use Threads"):
                expect(page.get_by_text(leftover, exact=True)).to_be_hidden()
            assert not page.get_by_text(re.compile(r"^Time: ")).count()
            for label in ("Harsh raters (share of clients)", "Run length (weeks)",
                          "Burn-in (weeks run before showing)"):
                expect(page.get_by_role("slider", name=label)).to_be_attached()
                expect(page.get_by_text(label)).to_be_visible()
            harsh = page.get_by_role("slider", name="Harsh raters (share of clients)")
            expect(harsh).to_have_attribute("aria-label", "Harsh raters (share of clients): 0.04")
            harsh.focus()
            harsh.press("ArrowRight")  # 0.04 -> 0.05: the value in the label follows
            expect(harsh).to_have_attribute("aria-label", "Harsh raters (share of clients): 0.05")
            weeks = f"Run length (weeks): {ModelParams().weeks}"  # the schema's default
            expect(page.get_by_text(weeks, exact=True)).to_be_visible()
            # the weekly series download: a CSV with one row per week so far
            with page.expect_download() as download_info:
                page.get_by_role("button", name="Download weekly series (CSV)").click()
            csv_path = tmp_path / "weekly.csv"
            download_info.value.save_as(csv_path)
            csv_lines = csv_path.read_text().strip().splitlines()
            assert "share_jss_ge_90" in csv_lines[0] and len(csv_lines) - 1 == first_week
            page.screenshot(path=str(tmp_path / "dashboard-opened.png"), full_page=True)
            if os.environ.get("DASHBOARD_SHOT"):
                page.screenshot(path=os.environ["DASHBOARD_SHOT"], full_page=True)
            opened = _plot_pixels(page)
            assert len(opened) == N_PLOTS

            # three single steps: the week advances and the time series are redrawn
            step_seconds = []
            for k in range(1, 4):
                clicked = time.monotonic()
                page.get_by_role("button", name="Step").click()
                page.wait_for_function(  # polls every animation frame: a fair latency
                    "week => document.querySelector('nav').innerText.includes(`Week ${week} of`)",
                    arg=first_week + k, timeout=ACTION_MS)
                step_seconds.append(time.monotonic() - clicked)
                expect(page.get_by_text(f"Week {first_week + k} of")).to_be_visible()
            timings["step (click to new week shown) s"] = max(step_seconds)
            _wait(lambda: all(_changed(opened, _plot_pixels(page))[2:]),
                  "every time-series plot to be redrawn after three steps")

            # change controls: seed, rule set, share of chasers; "Reset" builds the new market
            seed = page.get_by_label("Seed (whole number; empty = random)")
            seed.fill("7")
            seed.press("Enter")
            page.get_by_role("button", name=re.compile("JSS rule set")).click()
            page.get_by_role("option", name="upwork-2015").click()
            chasers = page.get_by_role("slider", name="Feedback chasers (share of freelancers)")
            chasers.focus()
            chasers.press("ArrowRight")  # 0.30 -> 0.35 (slider step 0.05)
            expect(chasers).to_have_attribute("aria-valuenow", "0.35")
            before_reset = _plot_pixels(page)

            def rebuilt() -> bool:
                # the browser sends control changes asynchronously: Reset until they arrived
                page.get_by_role("button", name="Reset").click()
                page.wait_for_timeout(1000)
                text = page.locator("nav").inner_text()
                return all(s in text for s in ("rule set: upwork-2015", "seed: 7",
                                               "feedback chasers: 35%"))

            _wait(rebuilt, "the market to be rebuilt with seed 7, upwork-2015, 35% chasers", 60)
            expect(page.get_by_text(f"Week {first_week} of")).to_be_visible()
            _wait_plots_drawn(page)
            _wait(lambda: all(_changed(before_reset, _plot_pixels(page))),
                  "every plot to show the rebuilt market")
            rebuilt_pixels = _plot_pixels(page)

            # play a few weeks, then pause
            page.get_by_role("button", name="▶").click()
            _wait(lambda: _week(page) >= first_week + 4, "four weeks of play", 60)
            page.get_by_role("button", name="❚❚").click()
            expect(page.get_by_role("button", name="▶")).to_be_visible()
            played_to = _week(page)
            expect(page.get_by_text(f"Week {played_to} of")).to_be_visible()
            _wait(lambda: all(_changed(rebuilt_pixels, _plot_pixels(page))[2:]),
                  "every time-series plot to be redrawn while playing")

            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
            assert not errors, f"JavaScript errors on the page: {errors}"
            assert not page.get_by_text("Traceback").count(), "a Python error is shown"
        finally:
            browser.close()
    print("dashboard browser timings:", {k: round(v, 2) for k, v in timings.items()})
