"""Known-answer worlds for checking the analysis without running the model.

`synthetic_outputs` builds output tables with the columns of docs/architecture.md section 2 in which
the relation between JSS and true quality is chosen: `"equal"` (JSS is a monotone function of
quality, so every validity metric is at its best) or `"independent"` (JSS carries no information, so
Spearman is about 0, AUC about 0.5 and the RD jump about 0). `write_synthetic_results` lays out a
results folder as the runner would, so the report and figures can be exercised end to end.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from marketplace.analysis.metrics import run_metrics

FINAL_WEEK = 104


def synthetic_outputs(n_freelancers: int = 4000, relation: str = "equal", seed: int = 0,
                      n_clients: int = 500, final_week: int = FINAL_WEEK) -> SimpleNamespace:
    """Output tables of a made-up run where JSS relates to true quality as `relation` says."""
    if relation not in ("equal", "independent"):
        raise ValueError(f"relation must be 'equal' or 'independent', got {relation!r}")
    rng = np.random.default_rng(seed)
    n = n_freelancers
    ids = np.arange(n)
    quality = rng.uniform(0.0, 1.0, n)
    if relation == "equal":
        jss = np.round(100.0 * quality)
    else:
        jss = np.round(np.clip(100.0 * rng.beta(6.0, 1.2, n), 0.0, 100.0))
    newcomer = rng.random(n) < 0.2
    entry = np.where(newcomer, rng.integers(1, final_week, n), 0)
    has_jss = ~newcomer | (rng.random(n) < 0.3)
    jss = np.where(has_jss, jss, np.nan)
    active = rng.random(n) < 0.95
    wait = rng.geometric(0.08, n).astype(float)
    first_hire = np.where(rng.random(n) < 0.7, entry + wait, np.nan)
    first_hire = np.where(first_hire <= final_week, first_hire, np.nan)
    first_hire = np.where(newcomer, first_hire, np.minimum(entry + wait, final_week))
    n_contracts = rng.poisson(2.0 + 10.0 * quality)
    earnings = n_contracts * rng.lognormal(6.0, 1.0, n)
    top_rated = (np.nan_to_num(jss) >= 90) & (earnings > 1000) & (rng.random(n) < 0.5)

    final = pd.DataFrame({
        "week": final_week,
        "freelancer_id": ids,
        "true_quality": quality,
        "strategy": pd.array(np.where(rng.random(n) < 0.1, "chaser", "honest"), dtype="string"),
        "entry_week": entry,
        "active": active,
        "price_usd": 20.0 + 60.0 * quality,
        "jss": jss,
        "top_rated": top_rated,
        "n_outcomes": np.where(has_jss, np.maximum(n_contracts, 2), 0),
        "n_contracts": n_contracts,
        "first_hire_week": pd.array(first_hire, dtype="Float64"),
        "earnings_usd_total": earnings,
        "refunds_usd_total": 0.0,
    })
    earlier = final.assign(week=final_week // 2, jss=np.nan, active=True)
    freelancers = pd.concat([earlier, final], ignore_index=True)

    contracts = _synthetic_contracts(rng, ids, quality, n_clients, final_week)
    clients = pd.DataFrame({
        "client_id": np.arange(n_clients),
        "rater_type": pd.array(["honest"] * n_clients, dtype="string"),
        "min_jss": np.nan,
        "accepts_no_jss": True,
        "flagged": False,
        "jobs_posted": 10,
        "hires": 4,
        "proposals_received": 300,
        "proposals_read": 40,
    })
    weeks = np.arange(1, final_week + 1)
    timeseries = pd.DataFrame({
        "week": weeks, "n_active_freelancers": n, "mean_public_stars": 4.8,
        "share_five_star": 0.85, "refunds_usd": 10.0,
    })
    return SimpleNamespace(contracts=contracts, freelancers=freelancers, clients=clients,
                           timeseries=timeseries)


def _synthetic_contracts(rng: np.random.Generator, ids: np.ndarray, quality: np.ndarray,
                         n_clients: int, final_week: int) -> pd.DataFrame:
    per = rng.poisson(2.0 + 8.0 * quality)
    fid = np.repeat(ids, per)
    q = quality[fid]
    m = fid.size
    start = rng.integers(-52, final_week - 1, m)
    end = np.minimum(start + rng.integers(1, 12, m), final_week)
    ongoing = rng.random(m) < 0.05
    value = rng.lognormal(6.0, 1.0, m)
    refunded = np.where(rng.random(m) < 0.03, value * rng.uniform(0.2, 1.0, m), 0.0)
    earnings = value - refunded
    satisfied = rng.random(m) < 0.4 + 0.6 * q
    private = np.where(satisfied, rng.integers(7, 11, m), rng.integers(0, 7, m)).astype(float)
    stars = np.where(satisfied, 5.0, rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], m))
    outcome = np.where(private >= 9, 0, np.where(private >= 7, 1, 2))
    return pd.DataFrame({
        "contract_id": np.arange(m),
        "freelancer_id": fid,
        "client_id": rng.integers(0, n_clients, m),
        "start_week": start,
        "end_week": pd.array(np.where(ongoing, np.nan, end), dtype="Float64").astype("Int64"),
        "value_usd": value,
        "paid_usd": value,
        "refunded_usd": refunded,
        "earnings_usd": earnings,
        "fee_usd": 0.1 * earnings,
        "public_stars": stars,
        "private_score": private,
        "outcome": outcome.astype(np.int8),
        "weight": np.where(earnings > 1000, 1.5, np.where(earnings > 250, 1.25, 1.0)),
    })


def write_synthetic_results(results_dir: str | Path, *, n_freelancers: int = 1500,
                            replications: int = 3, swept: str = "clients.rater_mix.dishonest",
                            values: tuple[float, ...] = (0.0, 0.2),
                            run_metrics_kwargs: dict | None = None) -> Path:
    """A results folder laid out as docs/architecture.md section 4 says, from synthetic runs.

    The first swept value is the "equal" world, the others the "independent" world, so a report
    built from it must show the contrast. Returns the folder.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    rows, tables = [], {}
    for value_index, value in enumerate(values):
        relation = "equal" if value_index == 0 else "independent"
        for rep in range(replications):
            seed = 1000 * value_index + rep
            run_id = f"v{value_index}-r{rep}"
            out = synthetic_outputs(n_freelancers, relation, seed=seed)
            scalars, run_tables = run_metrics(out, None, seed=seed, **(run_metrics_kwargs or {}))
            rows.append({"run_id": run_id, "combination": value_index, "replication": rep,
                         "seed": seed, swept: value, **scalars})
            for name, df in run_tables.items():
                tables.setdefault(name, []).append(df.assign(run_id=run_id))
    pd.DataFrame(rows).to_parquet(results_dir / "summary.parquet")
    for name, parts in tables.items():
        pd.concat(parts, ignore_index=True).to_parquet(results_dir / f"{name}.parquet")
    manifest = {  # the keys the runner writes that the report reads
        "name": results_dir.name,
        "description": "Synthetic check: does a JSS of 90 or more reflect higher true quality?",
        "swept_parameters": [swept],
        "replications": replications,
        "root_seed": 0,
        "config": {"model": {"n_freelancers": n_freelancers, "weeks": FINAL_WEEK},
                   "sweep": {"grid": {swept: list(values)}, "replications": replications},
                   "analysis": []},
        "counts": {"ok": len(rows), "failed": 0, "pending": 0},
    }
    (results_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return results_dir
