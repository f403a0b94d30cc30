"""Wall time of the command-line tools against the targets of issue 15 (item 4).

Each command runs in a fresh process (``python -c "from marketplace.cli import app; app()" ...``
with this checkout first on ``PYTHONPATH``, so the code beside this script is what is measured),
``--repeats`` times; the best wall time counts (the machine may be shared: the load average is
printed before and after, and the CPU seconds of the best run beside its wall time).

* ``marketplace --help``, ``list``, ``validate experiments/quickstart.yaml``: each under 2 s;
* ``marketplace report`` on a 24-run sweep: under 10 s. The sweep is the quickstart shrunk to
  small markets (3 combinations x 8 replications, 500 freelancers, 120 weeks, 40 of burn-in),
  built once in a temporary folder (about 20 CPU-s per worker; ``--sweep DIR`` reuses a folder);
* with ``--quickstart``: ``marketplace run experiments/quickstart.yaml`` (report included,
  ``--workers 2``) once, under 60 s, and the share of it the report takes (timed again alone).

    python benchmarks/bench_tools.py [--repeats 3] [--sweep DIR] [--quickstart]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "experiments" / "quickstart.yaml"
SMALL_SWEEP = ["--set", "model.n_freelancers=500", "--set", "model.weeks=120",
               "--set", "model.burn_in_weeks=40"]  # quickstart's 3 x 8 = 24 runs, small markets
TARGETS_S = {"--help": 2.0, "list": 2.0, "validate": 2.0, "report (24 runs)": 10.0,
             "quickstart run + report": 60.0}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_cli(args: list[str]) -> tuple[float, float]:
    """(wall s, CPU s of the child) of one ``marketplace ARGS`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]), "COLUMNS": "100"}
    code = "import sys; sys.argv[0] = 'marketplace'; from marketplace.cli import app; app()"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def best_of(args: list[str], repeats: int, before_each=None) -> tuple[float, float]:
    """Best wall time of `repeats` runs, with the CPU time of that run."""
    results = []
    for _ in range(repeats):
        if before_each is not None:
            before_each()
        results.append(run_cli(args))
    return min(results)


def verdict(name: str, wall: float) -> str:
    target = TARGETS_S[name]
    return f"{'met' if wall < target else 'NOT MET'} (target < {target:g} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per command; best counts")
    parser.add_argument("--sweep", type=Path, default=None,
                        help="a results folder of the 24-run sweep to reuse (built when absent)")
    parser.add_argument("--quickstart", action="store_true",
                        help="also run the full quickstart once (24 runs of 3,000 freelancers)")
    args = parser.parse_args()

    print(f"{len(os.sched_getaffinity(0))} cores; load average before: {_load()}; "
          f"best of {args.repeats}, wall time (CPU time of that run)")
    for name, cli in (("--help", ["--help"]), ("list", ["list"]),
                      ("validate", ["validate", str(QUICKSTART)])):
        wall, cpu = best_of(cli, args.repeats)
        print(f"  marketplace {name:<24} {wall:6.2f} s ({cpu:5.2f} CPU-s)  {verdict(name, wall)}")

    with tempfile.TemporaryDirectory(prefix="bench-tools-") as tmp:
        sweep = args.sweep
        if sweep is None or not (sweep / "manifest.json").is_file():
            sweep = sweep or Path(tmp) / "sweep24"
            print(f"  building the 24-run sweep in {sweep} ...", flush=True)
            wall, cpu = run_cli(["run", str(QUICKSTART), "--out", str(sweep), "--workers", "2",
                                 "--no-report", "--quiet", *SMALL_SWEEP])
            print(f"  (built in {wall:.0f} s)")

        def fresh_report() -> None:  # every repeat writes the figures and report.md anew
            shutil.rmtree(sweep / "figures", ignore_errors=True)

        name = "report (24 runs)"
        wall, cpu = best_of(["report", str(sweep)], args.repeats, fresh_report)
        print(f"  marketplace {name:<24} {wall:6.2f} s ({cpu:5.2f} CPU-s)  {verdict(name, wall)}")

        if args.quickstart:
            out = Path(tmp) / "quickstart"
            name = "quickstart run + report"
            wall, _ = run_cli(["run", str(QUICKSTART), "--out", str(out), "--workers", "2",
                               "--quiet"])  # (the pool workers' CPU time is not the child's)
            shutil.rmtree(out / "figures", ignore_errors=True)
            report_wall, report_cpu = best_of(["report", str(out)], 1)
            print(f"  marketplace {name:<24} {wall:6.2f} s               {verdict(name, wall)}")
            print(f"    of which the report (timed again alone) {report_wall:.2f} s "
                  f"({report_cpu:.2f} CPU-s), {report_wall / wall:.0%} of the run")
    print(f"  load average after: {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
