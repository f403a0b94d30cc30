"""Sweep throughput: runs per minute with 1 worker and with 2 workers on the quickstart-sized model.

Each configuration runs the real command (``marketplace run experiments/quickstart.yaml``) in a
fresh process, so both pay the same start-up (imports, process pool) and the figure is what a user
gets. Target: 2 workers at least 1.8 times faster than 1 on a 2-core machine. The load average and
the cores the sweep actually obtained (CPU seconds of the runs / wall time) are printed: other
processes competing for the cores lower the speed-up, and this shows by how much.

    python benchmarks/bench_sweep.py [--replications 6] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "experiments" / "quickstart.yaml"
TARGET_SPEEDUP = 1.8


def time_sweep(workers: int, replications: int, out: Path) -> tuple[float, int, float]:
    marketplace = Path(sys.executable).with_name("marketplace")
    cmd = [
        str(marketplace),
        "run",
        str(CONFIG),
        "--out",
        str(out),
        "--workers",
        str(workers),
        "--set",
        f"sweep.replications={replications}",
        "--no-report",
        "--quiet",
    ]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    manifest = json.loads((out / "manifest.json").read_text())
    done = [r for r in manifest["runs"] if r["status"] == "ok"]
    cpu = sum(r.get("cpu_s") or 0.0 for r in done)
    return elapsed, len(done), cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--replications",
        type=int,
        default=20,
        help="replications per combination (3 combinations; short sweeps are start-up bound)",
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()
    print(
        f"quickstart-sized sweep: {CONFIG.relative_to(ROOT)}, 3 combinations x "
        f"{args.replications} replications; {cores} cores; "
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    rates = {}
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for workers in args.workers:
            elapsed, n_runs, cpu = time_sweep(workers, args.replications, Path(tmp) / f"w{workers}")
            rates[workers] = n_runs / elapsed * 60
            print(
                f"  {workers} worker(s): {n_runs} runs in {elapsed:6.1f} s = "
                f"{rates[workers]:6.1f} runs/minute; {cpu / n_runs:.2f} CPU-s per run, "
                f"cores actually obtained {cpu / elapsed:.2f}"
            )
    if 1 in rates and 2 in rates:
        speedup = rates[2] / rates[1]
        verdict = "meets" if speedup >= TARGET_SPEEDUP else "below"
        print(
            f"  speed-up with 2 workers: {speedup:.2f}x ({verdict} the {TARGET_SPEEDUP}x target"
            f"{'; the machine is shared, see the load average' if load[0] > 0.5 else ''})"
        )
    print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
