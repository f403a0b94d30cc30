"""Take the README's dashboard screenshot (docs/img/dashboard.png) with headless Chromium.

Starts `marketplace viz` on a free port of 127.0.0.1, opens the page with Debian's chromium driven
by Playwright, plays the default market for a few weeks, pauses, saves a screenshot of the whole
page and stops the server.

    .venv/bin/python scripts/dashboard_screenshot.py [--out docs/img/dashboard.png] [--weeks 26]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img" / "dashboard.png")
    parser.add_argument("--weeks", type=int, default=26, help="weeks to play before the shot")
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "marketplace.cli", "viz", "--port", str(port)], cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "false"})
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit(f"marketplace viz did not start on {url}")
                time.sleep(0.5)
        with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
            browser = pw.chromium.launch_persistent_context(
                profile, executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1500, "height": 1450})
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            time_text = page.get_by_text(re.compile(r"^Week \d+ of \d+$"))
            expect(time_text).to_be_visible()
            page.wait_for_function(
                "() => { const imgs = document.querySelectorAll('main img');"
                " const charts = document.querySelectorAll('main .solara-echarts canvas');"
                " return imgs.length === 2 && charts.length === 4"
                " && Array.from(imgs).every(i => i.naturalWidth > 100); }")
            start = float(time_text.inner_text().split()[1])
            page.get_by_role("button", name="▶").click()
            expect(page.get_by_role("button", name="❚❚")).to_be_visible()
            page.wait_for_function(
                "target => { const m = document.body.innerText.match(/Week ([0-9]+) of/);"
                " return m && parseFloat(m[1]) >= target; }",
                arg=start + args.weeks, timeout=300_000)
            page.get_by_role("button", name="❚❚").click()
            page.wait_for_timeout(3000)  # the last redraw
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
        print(f"wrote {args.out}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
