"""The plan of an experiment's runs, and how it grows when ``--resume`` is given more.

A results folder can grow: ``--resume`` with more replications, or with new values appended to a
``sweep.grid`` list, runs only the new runs and reuses every finished one. The manifest keeps the
plan as a list of *generations*, one per config that added runs::

    plan: [{config_hash, grid, replications, first_combination, n_combinations, added_at}, ...]

Generation 0 numbers its combinations as a fresh sweep does. A later generation keeps every
earlier combination's index (so earlier runs keep their run ids and seeds) and numbers only its
new combinations, from ``first_combination`` on, in its own grid order; every combination has the
latest generation's replications. So the manifest records which config produced which run: a run
``c<k>-r<r>`` belongs to the first generation whose combination range holds ``k`` and whose
``replications`` exceed ``r``. Anything else that differs (a model parameter, the seed, a removed
value, the outputs) changes earlier runs, and is refused with the list of differences.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from marketplace.runner import design, store
from marketplace.runner.config import ExperimentConfig


@dataclass
class Plan:
    """Every run of an experiment, made on demand (never held as a list)."""

    cfg: ExperimentConfig
    generations: list[dict[str, Any]]

    @property
    def n_combinations(self) -> int:
        return self.cfg.n_combinations

    @property
    def n_runs(self) -> int:
        return self.cfg.n_runs

    def iter_specs(self) -> Iterator[design.RunSpec]:
        s = self.cfg.sweep
        if len(self.generations) == 1:
            yield from self.cfg.iter_run_specs()
            return
        widths = (self.generations[0]["n_combinations"], self.generations[0]["replications"])
        earlier: Mapping[str, list[Any]] | None = None
        for gen in self.generations:
            grid = gen["grid"]
            points = self.cfg.iter_points(grid=grid)
            if earlier is not None:
                seen = earlier
                points = (
                    p for p in points if not all(p[k] in seen[k] for k in grid)
                )  # combinations an earlier generation already numbered
            yield from design.iter_run_specs(
                points,
                self.n_combinations,
                s.replications,
                s.seed,
                common_random_numbers=s.common_random_numbers,
                first_combination=gen["first_combination"],
                id_widths=widths,
            )
            earlier = grid


def _generation(cfg: ExperimentConfig, first_combination: int) -> dict[str, Any]:
    return {
        "config_hash": cfg.config_hash(),
        "grid": store._json_safe(cfg.sweep.grid),
        "replications": cfg.sweep.replications,
        "first_combination": first_combination,
        "n_combinations": cfg.n_combinations,
        "added_at": store.now(),
    }


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, Mapping) and obj:
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flat(v, f"{prefix}{k}."))
        return out
    return {prefix.rstrip("."): obj}


def _fixed_part(config: Mapping[str, Any]) -> dict[str, Any]:
    """What must not change for earlier runs to stay valid (all but grid values, replications)."""
    sweep = dict(config.get("sweep") or {})
    grid = sweep.pop("grid", {}) or {}
    sweep.pop("replications", None)
    return {
        "model": config.get("model_params"),
        "outputs": config.get("outputs"),
        "sweep": {**sweep, "grid (parameters)": list(grid)},
    }


def plan_of(cfg: ExperimentConfig, previous: Mapping[str, Any] | None, where: str = "") -> Plan:
    """The plan for running ``cfg`` into a folder whose manifest is ``previous`` (None: fresh).

    Raises StoreError listing exactly what differs when ``cfg`` changes more than replications
    and grid values (those need ``--force`` or another ``--out``).
    """
    if previous is None:
        return Plan(cfg, [_generation(cfg, 0)])
    generations = list(previous.get("plan") or [])
    if previous.get("config_hash") == cfg.config_hash() and generations:
        return Plan(cfg, generations)
    old = previous.get("config") or {}
    new = store._json_safe(cfg.resolved())
    differences = []
    a, b = _flat(_fixed_part(old)), _flat(_fixed_part(new))
    for key in sorted(set(a) | set(b)):
        if a.get(key, "(not set)") != b.get(key, "(not set)"):
            differences.append(f"{key}: {a.get(key, '(not set)')!r} -> {b.get(key, '(not set)')!r}")
    old_grid = (old.get("sweep") or {}).get("grid") or {}
    if not differences:
        for path, values in old_grid.items():
            removed = [v for v in values if v not in cfg.sweep.grid.get(path, [])]
            if removed:
                differences.append(f"sweep.grid.{path}: values {removed!r} removed")
        old_reps = (old.get("sweep") or {}).get("replications", 1)
        if cfg.sweep.replications < old_reps:
            differences.append(
                f"sweep.replications: {old_reps} -> {cfg.sweep.replications} (fewer)"
            )
    if differences or not generations:
        shown = "; ".join(differences[:8]) + (" ..." if len(differences) > 8 else "")
        raise store.StoreError(
            f"{where} holds results of a different configuration (config hash "
            f"{str(previous.get('config_hash'))[:12]} != {cfg.config_hash()[:12]}): {shown}. "
            "--resume continues the same experiment and may only add replications or grid "
            "values; use --force to start over or --out for a new folder"
        )
    return Plan(cfg, [*generations, _generation(cfg, generations[-1]["n_combinations"])])
