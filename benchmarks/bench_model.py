"""Speed and memory of the market model (issue 3 item 4), against Mesa's BoltzmannWealth.

Prints, for 1,000, 10,000 and 100,000 freelancers (default market otherwise, 260 weeks):
freelancer-weeks per second (nominal = n_freelancers x weeks, and the freelancer-weeks actually on
the platform), the cost per freelancer-week relative to 10,000, and the peak memory (RSS) of the
100,000 run measured in a fresh child process. In the same process it runs Mesa's own
BoltzmannWealth example (10,000 agents on a 100 x 100 grid) as the reference in agent-steps per
second. Each figure is the best of ``--repeats`` runs (the machine may be shared); wall-clock and
CPU (process) time are both shown, and the verdicts use CPU time, which a loaded machine disturbs
least.

Targets (issue 15): >= 12x BoltzmannWealth at 10,000 freelancers (goal 14x), in CPU time; cost
per freelancer-week at 100,000 <= 1.3x that at 10,000; peak memory of the 100,000 x 260 run < 2 GB.
The repetitions interleave the model and BoltzmannWealth so that both see the same machine load;
the load average before and after is printed (the machine may be shared). The verdict divides the
model's best by the fastest reference seen (the strictest ratio); the spread of the reference and
the ratio within each repetition (its model run over its own reference run) are printed beside it.

With 10,000 among the sizes it also times a market of 100 freelancers (same weeks, interleaved):
the cost of a week that does not grow with the market (the model's ~1,900 numpy and Python calls
a week, on arrays of a few dozen elements). It prints that floor's share of the 10,000 run and the
ratio the 10,000 run would reach with the floor at zero: how far removing call overhead alone
could take the model; the rest is work on the market's arrays.

    .venv/bin/python benchmarks/bench_model.py [--repeats 3] [--sizes 1000 10000 100000]
        [--jss-engine incremental|full]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

WEEKS = 260
FLOOR_SIZE = 100  # freelancers: a market small enough that its cost is the per-week call overhead
BURN_IN = 104  # must be below WEEKS (the default burn-in is longer than 260 weeks)
JSS_ENGINE = "incremental"


def _time_model(n: int, seed: int = 1) -> dict[str, float]:
    from marketplace.model import ModelParams, simulate

    params = ModelParams(n_freelancers=n, weeks=WEEKS, burn_in_weeks=BURN_IN)
    wall, cpu = time.perf_counter(), time.process_time()
    out = simulate(params, seed=seed, jss_engine=JSS_ENGINE)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"n": n, "wall_s": wall, "cpu_s": cpu,
            "active_freelancer_weeks": float(out.timeseries.n_active_freelancers.sum()),
            "contracts": float(len(out.contracts))}


def _time_boltzmann(n_agents: int = 10_000, steps: int = 30) -> dict[str, float]:
    from mesa.examples import BoltzmannWealth
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario

    model = BoltzmannWealth(BoltzmannScenario(n=n_agents, width=100, height=100, rng=1))
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        model.step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"agent_steps_per_s_wall": n_agents * steps / wall,
            "agent_steps_per_s_cpu": n_agents * steps / cpu}


def _child(n: int) -> None:
    """Run one size in this (fresh) process and print its figures and peak RSS as JSON."""
    res = _time_model(n)
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(res))


def _in_child(n: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", str(n), "--jss-engine",
                           JSS_ENGINE], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--jss-engine", choices=("incremental", "full"), default="incremental",
                    help="JSS computation: incremental window sums (default) or the full reference")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    global JSS_ENGINE
    JSS_ENGINE = args.jss_engine
    if args.child is not None:
        _child(args.child)
        return

    import marketplace.model  # noqa: F401  (imports outside the timings)

    load_before = os.getloadavg()
    # warm-up of both sides: a first run is slower (lazy imports, Python's specialising
    # interpreter); without it BoltzmannWealth's first repetition ran ~30% below its later ones
    _time_model(500)
    _time_boltzmann(steps=10)
    best: dict[int, dict[str, float]] = {}
    boltz = {"agent_steps_per_s_wall": 0.0, "agent_steps_per_s_cpu": 0.0}
    boltz_cpu_seen: list[float] = []  # every repetition's reference speed (it varies a lot)
    paired: list[float] = []  # ratio of each repetition's model run to its own reference run
    floor_cpu: list[float] = []  # CPU s of the FLOOR_SIZE market (the fixed cost of the weeks)
    for _ in range(args.repeats):
        b = _time_boltzmann()
        boltz = {k: max(boltz[k], b[k]) for k in boltz}
        boltz_cpu_seen.append(b["agent_steps_per_s_cpu"])
        for n in args.sizes:
            r = _in_child(n) if n >= 100_000 else _time_model(n)
            if n == 10_000:  # this repetition's ratio: model and reference minutes apart at most
                paired.append(10_000 * WEEKS / r["cpu_s"] / b["agent_steps_per_s_cpu"])
                floor_cpu.append(_time_model(FLOOR_SIZE)["cpu_s"])
            if n not in best or r["wall_s"] < best[n]["wall_s"]:
                best[n] = {**r, "cpu_s": min(r["cpu_s"], best.get(n, r)["cpu_s"])}
            elif r["cpu_s"] < best[n]["cpu_s"]:
                best[n]["cpu_s"] = r["cpu_s"]

    load_after = os.getloadavg()
    print(f"Machine: {os.cpu_count()} CPUs; load average (1, 5, 15 min) before "
          f"{', '.join(f'{x:.1f}' for x in load_before)}, after "
          f"{', '.join(f'{x:.1f}' for x in load_after)}; JSS engine: {JSS_ENGINE}")
    from marketplace.runner.store import cpu_features

    cpu = cpu_features()  # numpy's SIMD paths change its speed (and last bits) from CPU to CPU
    print(f"CPU: {cpu['machine']}; numpy SIMD paths: baseline "
          f"{' '.join(cpu.get('numpy_simd_baseline', [])) or '?'}, dispatched "
          f"{' '.join(cpu.get('numpy_simd_dispatched', [])) or 'none'}")
    print(f"Market model, default parameters, {WEEKS} weeks (best of {args.repeats}):")
    print(f"{'freelancers':>12} {'wall s':>8} {'cpu s':>8} {'fw/s wall':>12} {'fw/s cpu':>12}"
          f" {'active fw/s':>12} {'contracts':>10} {'peak RSS MB':>12}")
    for n, r in sorted(best.items()):
        fw = n * WEEKS
        rss = f"{r['peak_rss_mb']:12.0f}" if "peak_rss_mb" in r else f"{'-':>12}"
        print(f"{n:12,d} {r['wall_s']:8.2f} {r['cpu_s']:8.2f} {fw / r['wall_s']:12,.0f}"
              f" {fw / r['cpu_s']:12,.0f} {r['active_freelancer_weeks'] / r['wall_s']:12,.0f}"
              f" {r['contracts']:10,.0f} {rss}")
    print(f"Mesa BoltzmannWealth, 10,000 agents (100 x 100 grid): "
          f"{boltz['agent_steps_per_s_wall']:,.0f} agent-steps/s wall, "
          f"{boltz['agent_steps_per_s_cpu']:,.0f} cpu")
    if 10_000 in best:
        r10 = best[10_000]
        fw10_wall = 10_000 * WEEKS / r10["wall_s"]
        fw10_cpu = 10_000 * WEEKS / r10["cpu_s"]
        print("Targets:")
        print(f"  >= 1,000,000 freelancer-weeks/s at 10,000: {fw10_wall:,.0f} wall, "
              f"{fw10_cpu:,.0f} cpu -> {'met' if fw10_cpu >= 1e6 else 'NOT met'}")
        ratio = fw10_wall / boltz["agent_steps_per_s_wall"]
        ratio_cpu = fw10_cpu / boltz["agent_steps_per_s_cpu"]
        verdict = ("goal met" if ratio_cpu >= 14 else "met" if ratio_cpu >= 12 else "NOT met")
        print(f"  >= 12x BoltzmannWealth (goal 14x): {ratio:.1f}x wall, {ratio_cpu:.1f}x cpu -> "
              f"{verdict}")
        # the verdict divides by the fastest reference seen (the strictest ratio); the spread
        # of the reference over the repetitions shows how much the ratio itself can move
        print(f"    reference over the {len(boltz_cpu_seen)} repetitions: "
              f"{min(boltz_cpu_seen):,.0f}-{max(boltz_cpu_seen):,.0f} agent-steps/s cpu, "
              f"so {fw10_cpu / max(boltz_cpu_seen):.1f}x-{fw10_cpu / min(boltz_cpu_seen):.1f}x")
        # the machine's speed drifts between repetitions; a repetition's own pair of runs sees
        # the least of that drift
        print(f"    ratio within each repetition (model / that repetition's reference): "
              f"median {statistics.median(paired):.1f}x, "
              f"{min(paired):.1f}x-{max(paired):.1f}x")
        floor = min(floor_cpu)
        ceiling = 10_000 * WEEKS / (r10["cpu_s"] - floor) / boltz["agent_steps_per_s_cpu"]
        print(f"    fixed cost: {FLOOR_SIZE} freelancers x {WEEKS} weeks take {floor:.2f} cpu s "
              f"({1000 * floor / WEEKS:.1f} ms a week), {100 * floor / r10['cpu_s']:.0f}% of the "
              f"10,000 run; with it at zero the 10,000 run would reach {ceiling:.1f}x (strict)")
        if 100_000 in best:
            r100 = best[100_000]
            cost = (r100["cpu_s"] / (100_000 * WEEKS)) / (r10["cpu_s"] / (10_000 * WEEKS))
            cost_w = (r100["wall_s"] / (100_000 * WEEKS)) / (r10["wall_s"] / (10_000 * WEEKS))
            print(f"  cost per freelancer-week at 100,000 / at 10,000 <= 1.3: {cost_w:.2f} wall, "
                  f"{cost:.2f} cpu -> {'met' if cost <= 1.3 else 'NOT met'}")
            rss = r100["peak_rss_mb"]
            print(f"  peak memory of 100,000 x {WEEKS} < 2 GB: {rss:,.0f} MB -> "
                  f"{'met' if rss < 2048 else 'NOT met'}")


if __name__ == "__main__":
    main()
