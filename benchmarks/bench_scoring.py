"""Time to score 100,000 freelancers with 30 contracts each at one scoring week.

Prints the median of several repeats for: classification + weights, job_success_scores (sort
path, and with a relationship id ``pair_idx``), and the whole pipeline. Run: ``make bench`` or
``.venv/bin/python benchmarks/bench_scoring.py [--freelancers N] [--contracts K] [--repeats R]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from marketplace.scoring import classify_outcomes, contract_weights, get_rules, job_success_scores


def synthetic_market(n_freelancers: int, per_freelancer: int, seed: int = 0) -> dict:
    """A random contract table: shuffled rows, 2 clients per freelancer-ish, 4 years of history."""
    rng = np.random.default_rng(seed)
    k = n_freelancers * per_freelancer
    f = np.repeat(np.arange(n_freelancers, dtype=np.int64), per_freelancer)
    rng.shuffle(f)
    end = rng.integers(0, 208, k).astype(np.float64)
    end[rng.random(k) < 0.05] = np.nan  # ongoing
    private = rng.choice(np.arange(11.0), k, p=[.02] * 5 + [.03, .05, .07, .10, .25, .40])
    private[rng.random(k) < 0.15] = np.nan
    stars = np.clip(np.round(rng.normal(4.7, 0.5, k) * 2) / 2, 1, 5)
    return dict(
        freelancer_idx=f,
        client_idx=rng.integers(0, n_freelancers * 2, k),
        end_week=end,
        private_score=private,
        public_stars=stars,
        end_reason=rng.choice(4, k, p=[.8, .1, .08, .02]).astype(np.int8),
        earnings=rng.lognormal(6.0, 1.4, k),
        paid_weeks=rng.integers(1, 40, k).astype(np.float64),
        client_flagged=rng.random(k) < 0.01,
        removed=rng.random(k) < 0.002,
    )


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--freelancers", type=int, default=100_000)
    ap.add_argument("--contracts", type=int, default=30, help="contracts per freelancer")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    n, week, rules = args.freelancers, 208, get_rules("upwork-2023")
    m = synthetic_market(n, args.contracts)
    ongoing = np.isnan(m["end_week"])

    def classify():
        out, why = classify_outcomes(
            m["private_score"], m["public_stars"], m["end_reason"], m["earnings"],
            m["client_flagged"], m["removed"], rules, ongoing=ongoing,
            paid_weeks=m["paid_weeks"])
        return out, why, contract_weights(m["earnings"], m["paid_weeks"], rules)

    outcome, _, weight = classify()
    _, pair = np.unique(m["freelancer_idx"] * (2 * n) + m["client_idx"], return_inverse=True)

    def score(pair_idx=None):
        return job_success_scores(
            m["freelancer_idx"], m["client_idx"], m["end_week"], outcome, weight, week=week,
            n_freelancers=n, rules=rules, pair_idx=pair_idx)

    def whole():
        out, _, w = classify()
        return job_success_scores(m["freelancer_idx"], m["client_idx"], m["end_week"], out, w,
                                  week=week, n_freelancers=n, rules=rules)

    r = args.repeats
    t_cls = median_time(classify, r)
    t_jss = median_time(score, r)
    t_pair = median_time(lambda: score(pair), r)
    t_all = median_time(whole, r)
    res = score()
    print(f"{n:,} freelancers x {args.contracts} contracts = {n * args.contracts:,} contracts, "
          f"one scoring week, median of {r}")
    print(f"  classify_outcomes + contract_weights   {t_cls * 1000:8.1f} ms")
    print(f"  job_success_scores                     {t_jss * 1000:8.1f} ms")
    print(f"  job_success_scores with pair_idx       {t_pair * 1000:8.1f} ms")
    print(f"  whole pipeline (classify+weights+JSS)  {t_all * 1000:8.1f} ms")
    print(f"  (share with a JSS: {np.mean(~np.isnan(res.jss)):.2f}, "
          f"mean JSS {np.nanmean(res.jss):.1f})")


if __name__ == "__main__":
    main()
