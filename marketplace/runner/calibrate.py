"""`marketplace calibrate CONFIG`: fit model parameters to stylized facts.

Method of simulated moments with common random numbers: every candidate parameter point is run
with the same `replications` seeds (replication r gets `run_seed(seed, 0, r)` at every point), so
the objective's differences between points come from the parameters, not from the draws. The
objective is `facts.objective`: with `objective: target` (the default) the sum over the chosen
fact checks of weight x ((mean over the replications - target) / scale)^2; with `objective: range`
the distance outside each check's [low, high] range takes the place of the distance to the target
(plus a small pull to the target to break ties inside), each check's range, target and scale from
`marketplace/analysis/facts.yaml`.

Search: a Latin hypercube (scipy.stats.qmc, seeded) over the parameter box, then Nelder-Mead
(scipy.optimize, bounded to the box) from the best hypercube point. Parameters are searched in
the unit cube (each rescaled to [low, high]); integer parameters are rounded.

Every finished run is appended to `<out>/evaluations.jsonl` as it arrives, so a killed calibration
resumes (`--resume`) without re-running anything: a point is keyed by its parameter values and
replication. Runs go through the runner's executors (in-process, process pool, Dask).

Outputs in `<out>/`: `fitted.yaml` (the fitted parameters, usable as a `model:` block),
`fit.parquet` and `fit.md` (each fact check: target, range, fitted mean, 95% CI, verdict),
`evaluations.parquet` (every point: stage, parameters, objective, moment means),
`figures/calibration.png|pdf`, `calibration.json` (the resolved config and its hash).

Config (YAML), documented in the README:

    name: default_calibration
    description: ...
    model: {n_freelancers: 5000, weeks: 260}     # the base market (any ModelParams path)
    parameters:                                  # dotted path: [low, high]
      clients.public_slope: [8, 24]
    facts:                                       # a metric checked in facts.yaml: weight > 0
      share_pos_public_given_private_dissatisfied: 2
    replications: 4
    seed: 20261201
    budget: {lhs_points: 24, local_evaluations: 40}
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from marketplace.runner.config import ConfigError

EVALUATIONS_FILE = "evaluations.jsonl"
STATE_FILE = "calibration.json"
SNAPSHOT_EVERY_WEEKS = 52
"""Freelancer snapshots of a calibration run (the facts need only the final one)."""
TOP_KEYS = {"name", "description", "model", "parameters", "facts", "objective", "replications",
            "seed", "budget"}
BUDGET_KEYS = {"lhs_points", "local_evaluations"}


@dataclass(frozen=True)
class CalibrationConfig:
    """A validated calibration config (see the module docstring)."""

    name: str
    description: str
    model: dict[str, Any]
    parameters: dict[str, tuple[float, float]]
    facts: dict[str, float]
    replications: int
    seed: int
    lhs_points: int
    local_evaluations: int
    integer_parameters: tuple[str, ...] = field(default=())
    objective: str = "target"

    def base_params(self):
        from marketplace.model.params import ModelParams

        return ModelParams().with_overrides(self.model)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["parameters"] = {k: list(v) for k, v in self.parameters.items()}
        d["integer_parameters"] = list(self.integer_parameters)
        return d

    def config_hash(self) -> str:
        d = self.to_dict()
        if d["objective"] == "target":  # the default: older configs keep their hash
            d.pop("objective")
        d.pop("description")
        d.pop("lhs_points")  # a larger budget may resume a smaller one
        d.pop("local_evaluations")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()

    def to_point(self, unit: Sequence[float]) -> dict[str, float]:
        """Parameter values for a point of the unit cube (integers rounded)."""
        out: dict[str, float] = {}
        for (path, (low, high)), u in zip(self.parameters.items(), unit, strict=True):
            v = low + float(np.clip(u, 0.0, 1.0)) * (high - low)
            out[path] = round(v) if path in self.integer_parameters else float(
                np.round(v, 10))
        return out

    def run_seeds(self) -> list[int]:
        """The common seeds: replication r has the same seed at every point."""
        from marketplace.runner.design import run_seed

        return [run_seed(self.seed, 0, r) for r in range(self.replications)]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_calibration_config(raw: Any, source: str | None = None) -> CalibrationConfig:
    """Validate a parsed YAML calibration config; ConfigError names every bad field."""
    from marketplace.analysis.facts import OBJECTIVES, checks_by_metric
    from marketplace.model.params import ModelParams, ParameterError

    problems: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        raise ConfigError([("", "a calibration config is a YAML mapping")], source)
    for key in sorted(set(raw) - TOP_KEYS):
        problems.append((key, f"unknown field; allowed: {', '.join(sorted(TOP_KEYS))}"))
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip() or "/" in name:
        problems.append(("name", "required: a non-empty name without '/'"))
    model = raw.get("model") or {}
    base = None
    if not isinstance(model, Mapping):
        problems.append(("model", "must be a mapping of model parameters"))
    else:
        try:
            base = ModelParams().with_overrides(_flatten(model))
        except (ParameterError, ValueError) as exc:
            problems.append(("model", str(exc)))
    params_raw = raw.get("parameters")
    parameters: dict[str, tuple[float, float]] = {}
    integers: list[str] = []
    if not isinstance(params_raw, Mapping) or not params_raw:
        problems.append(("parameters", "required: a mapping of dotted parameter path to "
                                       "[low, high]"))
    else:
        for path, bounds in params_raw.items():
            where = f"parameters.{path}"
            if (not isinstance(bounds, Sequence) or isinstance(bounds, str) or len(bounds) != 2
                    or not all(_number(b) for b in bounds)):
                problems.append((where, f"must be [low, high] (two numbers), got {bounds!r}"))
                continue
            low, high = float(bounds[0]), float(bounds[1])
            if not low < high:
                problems.append((where, f"low {low:g} must be below high {high:g}"))
                continue
            if base is not None:
                try:
                    default = _value_at(base.model_dump(by_alias=True), str(path))
                    if isinstance(default, bool) or not isinstance(default, (int, float)):
                        problems.append((where, f"must be a numeric parameter (default is "
                                                f"{default!r})"))
                        continue
                    if isinstance(default, int):
                        integers.append(str(path))
                    for b in (low, high):
                        base.with_overrides({path: round(b) if isinstance(default, int)
                                             else b})
                except (ParameterError, ValueError, KeyError) as exc:
                    problems.append((where, str(exc).splitlines()[0]))
                    continue
            parameters[str(path)] = (low, high)
    facts_raw = raw.get("facts")
    facts: dict[str, float] = {}
    known = checks_by_metric()
    if not isinstance(facts_raw, Mapping) or not facts_raw:
        problems.append(("facts", "required: a mapping of fact metric to weight, e.g. "
                                  "{share_five_star: 1}"))
    else:
        for metric, weight in facts_raw.items():
            where = f"facts.{metric}"
            if metric not in known:
                import difflib

                hint = difflib.get_close_matches(str(metric), list(known), n=1)
                problems.append((where, "not a metric checked in facts.yaml"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else
                                    f"; allowed: {', '.join(known)}")))
            elif not _number(weight) or weight <= 0:
                problems.append((where, f"weight must be a number > 0, got {weight!r}"))
            else:
                facts[str(metric)] = float(weight)
    objective_kind = raw.get("objective", "target")
    if objective_kind not in OBJECTIVES:
        problems.append(("objective", f"must be one of {', '.join(OBJECTIVES)} (distance to "
                                      f"each target, or outside each range), got "
                                      f"{objective_kind!r}"))
    replications = raw.get("replications", 3)
    if not isinstance(replications, int) or isinstance(replications, bool) or replications < 1:
        problems.append(("replications", f"must be a whole number >= 1, got {replications!r}"))
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        problems.append(("seed", f"must be a whole number >= 0, got {seed!r}"))
    budget = raw.get("budget") or {}
    lhs, local = 16, 30
    if not isinstance(budget, Mapping):
        problems.append(("budget", "must be a mapping with lhs_points and local_evaluations"))
    else:
        for key in sorted(set(budget) - BUDGET_KEYS):
            problems.append((f"budget.{key}", f"unknown field; allowed: "
                                              f"{', '.join(sorted(BUDGET_KEYS))}"))
        lhs = budget.get("lhs_points", lhs)
        local = budget.get("local_evaluations", local)
        if not isinstance(lhs, int) or isinstance(lhs, bool) or lhs < 1:
            problems.append(("budget.lhs_points", f"must be a whole number >= 1, got {lhs!r}"))
        if not isinstance(local, int) or isinstance(local, bool) or local < 0:
            problems.append(("budget.local_evaluations",
                             f"must be a whole number >= 0, got {local!r}"))
    if problems:
        raise ConfigError(problems, source)
    return CalibrationConfig(
        name=str(name), description=str(raw.get("description") or "").strip(),
        model=_flatten(model), parameters=parameters, facts=facts, replications=replications,
        seed=seed, lhs_points=lhs, local_evaluations=local, integer_parameters=tuple(integers),
        objective=str(objective_kind))


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested blocks to dotted paths (mix blocks stay whole dicts only at their leaves)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        path = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, f"{path}."))
        else:
            out[path] = v
    return out


def _value_at(data: Mapping[str, Any], path: str) -> Any:
    value: Any = data
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise KeyError(f"unknown parameter {path!r}")
        value = value[key]
    return value


def load_calibration_config(path: str | Path, overrides: Sequence[str] = ()) -> CalibrationConfig:
    """Read a calibration YAML, apply `--set PATH=VALUE` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError([("", f"no such file: {path}")], str(path))
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([("", f"not valid YAML: {exc}")], str(path)) from None
    for item in overrides:
        if "=" not in item:
            raise ConfigError([("--set", f"expected PATH=VALUE, got {item!r}")], str(path))
        key, value = item.split("=", 1)
        keys = key.split(".")
        target = raw
        # model./parameters./facts. take the rest of the path as one dotted key
        if keys[0] in ("model", "parameters", "facts") and len(keys) > 1:
            raw.setdefault(keys[0], {})[".".join(keys[1:])] = yaml.safe_load(value)
            continue
        for k in keys[:-1]:
            target = target.setdefault(k, {})
        target[keys[-1]] = yaml.safe_load(value)
    return parse_calibration_config(raw, str(path))


# ----------------------------------------------------------------------------- one run


def evaluate_run(base_params: dict[str, Any], overrides: dict[str, Any], seed: int,
                 metrics: tuple[str, ...]) -> dict[str, float]:
    """Simulate one run (the worker side) and return the chosen metrics."""
    from marketplace.analysis.metrics import run_metrics
    from marketplace.model import simulate
    from marketplace.model.params import ModelParams

    params = ModelParams.model_validate(base_params).with_overrides(overrides)
    outputs = simulate(params, seed=seed, snapshot_every_weeks=SNAPSHOT_EVERY_WEEKS,
                       keep_contracts=True)
    scalars, _ = run_metrics(outputs, params)
    return {m: float(scalars.get(m, math.nan)) for m in metrics}


Evaluator = Callable[[dict[str, Any], int], dict[str, float]]
"""(parameter values, seed) -> metric values; the default runs the model."""


def _point_key(point: Mapping[str, Any]) -> str:
    return json.dumps({k: (round(v, 10) if isinstance(v, float) else v)
                       for k, v in sorted(point.items())}, sort_keys=True)


class _Cache:
    """Finished runs on disk: one JSON line per (point, replication), appended as they arrive."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.runs: dict[tuple[str, int], dict[str, float]] = {}
        if path.is_file():
            for line in path.read_text().splitlines():
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:  # a line cut by a kill: that run is redone
                    continue
                self.runs[(rec["key"], int(rec["replication"]))] = rec["metrics"]

    def add(self, key: str, point: Mapping[str, Any], replication: int, seed: int,
            metrics: Mapping[str, float]) -> None:
        self.runs[(key, replication)] = dict(metrics)
        rec = {"key": key, "point": dict(point), "replication": replication, "seed": seed,
               "metrics": {k: (None if not math.isfinite(v) else v) for k, v in metrics.items()}}
        with self.path.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")


@dataclass
class CalibrationResult:
    out_dir: Path
    fitted: dict[str, float]
    objective: float
    n_points: int
    n_runs: int
    n_reused: int
    fit: pd.DataFrame
    evaluations: pd.DataFrame


class CalibrationError(RuntimeError):
    """A run of the calibration failed (the finished ones are cached; --resume continues)."""


def _prepare_folder(cfg: CalibrationConfig, out_dir: Path, resume: bool, force: bool) -> None:
    from marketplace.runner.store import StoreError

    state = out_dir / STATE_FILE
    if out_dir.exists() and any(out_dir.iterdir()):
        if force:
            if not state.is_file():
                raise StoreError(f"{out_dir} is not a calibration folder (no {STATE_FILE}); "
                                 "refusing to delete it")
            shutil.rmtree(out_dir)
        elif resume:
            if not state.is_file():
                raise StoreError(f"{out_dir} is not a calibration folder (no {STATE_FILE})")
            old = json.loads(state.read_text())
            if old.get("config_hash") != cfg.config_hash():
                raise StoreError(f"{out_dir} holds a calibration of a different config "
                                 "(model, parameters, facts, replications or seed changed); "
                                 "use --force or another --out")
        else:
            raise StoreError(f"{out_dir} already holds results; use --resume to continue or "
                             "--force to start again")
    out_dir.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps({"config": cfg.to_dict(), "config_hash": cfg.config_hash()},
                                indent=2, default=str))


def calibrate(cfg: CalibrationConfig, out_dir: str | Path, *, workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, force: bool = False,
              progress: Callable[[str], None] | None = None,
              evaluator: Evaluator | None = None) -> CalibrationResult:
    """Fit `cfg.parameters` to `cfg.facts`; write the outputs to `out_dir` (see module doc).

    `evaluator` replaces the model run (tests: a synthetic function); it runs in this process.
    """
    from scipy.optimize import minimize
    from scipy.stats import qmc

    from marketplace.analysis.facts import objective
    from marketplace.runner.executors import open_backend

    out_dir = Path(out_dir)
    _prepare_folder(cfg, out_dir, resume, force)
    cache = _Cache(out_dir / EVALUATIONS_FILE)
    n_reused_start = len(cache.runs)
    seeds = cfg.run_seeds()
    metrics = tuple(cfg.facts)
    base = cfg.base_params().model_dump(mode="json", by_alias=True)
    say = progress or (lambda _msg: None)
    records: list[dict[str, Any]] = []
    best: dict[str, Any] = {"objective": math.inf}
    counters = {"runs": 0}

    with open_backend(1 if evaluator is not None else workers, scheduler) as backend:

        def run_points(points: list[dict[str, Any]]) -> list[dict[str, list[float]]]:
            """Each point's metric values over the replications (cached runs reused)."""
            futures = {}
            for i, point in enumerate(points):
                key = _point_key(point)
                for r, seed in enumerate(seeds):
                    if (key, r) in cache.runs:
                        continue
                    if evaluator is not None:
                        fut = backend.executor.submit(evaluator, dict(point), seed)
                    else:
                        fut = backend.executor.submit(evaluate_run, base, dict(point), seed,
                                                      metrics)
                    futures[fut] = (i, key, r, seed)
            failed: list[tuple[BaseException, str]] = []
            for fut in _as_completed(futures):
                i, key, r, seed = futures[fut]
                try:
                    values = fut.result()
                except Exception as exc:  # keep caching the others, then report
                    failed.append((exc, f"run of point {points[i]} (replication {r}, seed "
                                        f"{seed}) failed: {type(exc).__name__}: {exc}"))
                    continue
                cache.add(key, points[i], r, seed, values)
                counters["runs"] += 1
            if failed:
                raise CalibrationError(
                    f"{failed[0][1]} ({len(failed)} failed run(s)); finished runs are kept, "
                    "rerun with --resume") from failed[0][0]
            out = []
            for point in points:
                key = _point_key(point)
                per = [cache.runs[(key, r)] for r in range(len(seeds))]
                out.append({m: [_float(p.get(m)) for p in per] for m in metrics})
            return out

        def record(stage: str, point: dict[str, Any], values: dict[str, list[float]]) -> float:
            means = {m: _nanmean(v) for m, v in values.items()}
            obj = objective(means, cfg.facts, kind=cfg.objective)
            records.append({"evaluation": len(records), "stage": stage, **point,
                            "objective": obj, **means})
            if obj < best["objective"]:
                best.update(objective=obj, point=dict(point), values=values)
            say(f"[{stage} {len(records)}] objective {obj:.4g} (best {best['objective']:.4g}) "
                f"at {_short(point)}")
            return obj

        dim = len(cfg.parameters)
        sampler = qmc.LatinHypercube(d=dim, seed=np.random.default_rng(
            np.random.SeedSequence(cfg.seed, spawn_key=(7, 1))))
        unit_points = sampler.random(cfg.lhs_points)
        points = [cfg.to_point(u) for u in unit_points]
        say(f"Latin hypercube: {len(points)} points x {cfg.replications} replications on "
            f"{backend.describe()}")
        for point, values in zip(points, run_points(points), strict=True):
            record("lhs", point, values)

        if cfg.local_evaluations > 0:
            start = np.array([(best["point"][p] - lo) / (hi - lo)
                              for p, (lo, hi) in cfg.parameters.items()])
            say(f"Nelder-Mead from the best point, at most {cfg.local_evaluations} evaluations")

            def f(u: np.ndarray) -> float:
                point = cfg.to_point(u)
                return record("local", point, run_points([point])[0])

            step = 0.15
            simplex = np.vstack([start] + [np.clip(start + step * np.eye(dim)[k]
                                                   * (1 if start[k] <= 0.5 else -1), 0, 1)
                                           for k in range(dim)])
            minimize(f, start, method="Nelder-Mead", bounds=[(0.0, 1.0)] * dim,
                     options={"maxfev": cfg.local_evaluations, "initial_simplex": simplex,
                              "xatol": 1e-3, "fatol": 1e-6})

    evaluations = pd.DataFrame(records)
    fit = fit_table(cfg, best["values"])
    result = CalibrationResult(out_dir, best["point"], float(best["objective"]), len(records),
                               counters["runs"], n_reused_start, fit, evaluations)
    _write_outputs(cfg, result)
    return result


def _as_completed(futures: Mapping[Any, Any]):
    from concurrent.futures import as_completed

    return as_completed(list(futures))


def _float(v: Any) -> float:
    return math.nan if v is None else float(v)


def _nanmean(values: Sequence[float]) -> float:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def _short(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k.split('.')[-1]}={v:.4g}" if isinstance(v, float) else
                     f"{k.split('.')[-1]}={v}" for k, v in point.items())


def fit_table(cfg: CalibrationConfig, values: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Each fitted fact check at the best point: target, range, mean [95% CI], verdict."""
    from marketplace.analysis.aggregate import bootstrap_mean_ci
    from marketplace.analysis.facts import checks_by_metric

    index = checks_by_metric()
    rows = []
    for metric, weight in cfg.facts.items():
        fact, check = index[metric]
        mean, low, high, n = bootstrap_mean_ci(values[metric], cfg.seed)
        rows.append({"fact": fact.id, "metric": metric, "weight": weight,
                     "target": check.target, "scale": check.scale,
                     "target_range": check.range_text, "quality": check.quality,
                     "fitted": mean, "ci_low": low, "ci_high": high, "n": n,
                     "verdict": ("not modelled" if not fact.modelled else
                                 "inside" if check.contains(mean) else "outside")})
    return pd.DataFrame(rows)


def _write_outputs(cfg: CalibrationConfig, result: CalibrationResult) -> None:
    from marketplace.analysis.figures import calibration_figure, save_figure

    out = result.out_dir
    fitted = {"name": cfg.name, "objective": result.objective,
              "replications": cfg.replications, "seed": cfg.seed,
              "facts": dict(cfg.facts), "model": dict(result.fitted)}
    (out / "fitted.yaml").write_text(
        "# Fitted by `marketplace calibrate` (method of simulated moments, common random "
        "numbers).\n# `model:` can be pasted into an experiment's model block.\n"
        + yaml.safe_dump(fitted, sort_keys=False))
    result.fit.to_parquet(out / "fit.parquet", index=False)
    result.evaluations.to_parquet(out / "evaluations.parquet", index=False)
    lines = [f"# Calibration {cfg.name}", "",
             f"Objective ({cfg.objective}) {result.objective:.4g} after {result.n_points} points "
             f"({cfg.replications} replications each, common seeds from root {cfg.seed}).", "",
             "| parameter | low | high | fitted |", "|---|---|---|---|"]
    for p, (lo, hi) in cfg.parameters.items():
        lines.append(f"| `{p}` | {lo:g} | {hi:g} | {result.fitted[p]:.6g} |")
    lines += ["", "| fact | statistic | weight | target | range | fitted [95% CI] | verdict |",
              "|---|---|---|---|---|---|---|"]
    for _, r in result.fit.iterrows():
        ci = (f" [{r['ci_low']:.4g}, {r['ci_high']:.4g}]" if math.isfinite(r["ci_low"])
              else "")
        lines.append(f"| {r['fact']} | `{r['metric']}` | {r['weight']:g} | {r['target']:g} | "
                     f"{r['target_range']} | {r['fitted']:.4g}{ci} | {r['verdict']} |")
    (out / "fit.md").write_text("\n".join(lines) + "\n")
    save_figure(calibration_figure(result.evaluations, result.fit), out / "figures" /
                "calibration")
