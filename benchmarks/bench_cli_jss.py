"""Time of ``marketplace jss FILE --json`` (and the table output) on a large contract history.

Writes a synthetic CSV of N contracts (default 1,000,000: 50,000 freelancers x 20 contracts) to a
temporary folder, then runs the CLI in a subprocess and prints wall time, CPU time (user + system,
all threads), peak memory and the load average (the machine may be shared). Run:
``.venv/bin/python benchmarks/bench_cli_jss.py [--rows N] [--per-freelancer K] [--table]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def write_history(path: Path, rows: int, per_freelancer: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n_f = max(1, rows // per_freelancer)
    start = rng.integers(0, 200, rows)
    length = rng.integers(0, 8, rows)
    ongoing = rng.random(rows) < 0.05
    end = np.where(ongoing, -1, start + length)
    reason = rng.choice(["completed", "client_ended", "freelancer_ended", "dispute"], rows,
                        p=[0.85, 0.07, 0.06, 0.02])
    private = rng.integers(0, 11, rows)
    df = pd.DataFrame({
        "contract_id": [f"k{i}" for i in range(rows)],
        "freelancer_id": [f"f{i}" for i in rng.integers(0, n_f, rows)],
        "client_id": [f"c{i}" for i in rng.integers(0, n_f * 2, rows)],
        "start_week": start,
        "end_week": end.astype(object),
        "earnings": rng.integers(0, 5000, rows),
        "public_stars": rng.integers(1, 6, rows).astype(object),
        "private_score": private.astype(object),
        "end_reason": reason.astype(object),
    })
    for col in ("end_week", "public_stars", "private_score", "end_reason"):
        df.loc[ongoing, col] = ""
    df.to_csv(path, index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--per-freelancer", type=int, default=20)
    ap.add_argument("--table", action="store_true", help="also time the table output")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "history.csv"
        write_history(csv, args.rows, args.per_freelancer)
        print(f"{args.rows:,} contracts, {csv.stat().st_size / 1e6:.0f} MB CSV; load average "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        modes = [("--json", ["--json"])] + ([("table", [])] if args.table else [])
        for label, flags in modes:
            cmd = [sys.executable, "-c", "from marketplace.cli import app; app()", "jss",
                   str(csv), *flags]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            took = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            peak = after.ru_maxrss / 1024  # the largest child so far
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
            print(f"marketplace jss {label:7s} {took:6.1f} s wall  {cpu:6.1f} s CPU  "
                  f"peak RSS {peak:6.0f} MB  ({status}; load average "
                  + " ".join(f"{x:.2f}" for x in os.getloadavg()) + ")")
            if proc.returncode:
                print(proc.stderr.decode()[-2000:])


if __name__ == "__main__":
    main()
