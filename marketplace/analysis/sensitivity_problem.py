"""The SALib problem of a ``sweep.sensitivity`` design, as plain dicts (no numpy, no pandas).

The runner builds its sample from `salib_problem` and counts points with `n_points` while loading
a config (`marketplace list` and `validate` must start fast); the analysis
(`marketplace.analysis.sensitivity`, which re-exports these) reads the same problem back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def parameter_specs(spec: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each parameter of a design as ``{bounds: [low, high], distribution, peak, mean, sd}``.

    A parameter may be written as ``[low, high]`` (uniform) or as a mapping with ``bounds`` and
    optionally ``distribution`` (``unif``, ``triang`` with ``peak`` = the mode's position as a
    share of the width, ``truncnorm`` with ``mean`` and ``sd``, ``logunif``).
    """
    out: dict[str, dict[str, Any]] = {}
    for path, value in (spec.get("parameters") or {}).items():
        if isinstance(value, Mapping):
            entry = dict(value)
            entry.setdefault("distribution", "unif")
        else:
            entry = {"bounds": list(value), "distribution": "unif"}
        entry["bounds"] = [float(b) for b in entry["bounds"]]
        out[str(path)] = entry
    return out


def salib_problem(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The SALib problem of a design (``num_vars``, ``names``, ``bounds``, ``dists``)."""
    names, bounds, dists = [], [], []
    for path, p in parameter_specs(spec).items():
        low, high = p["bounds"]
        dist = p.get("distribution") or "unif"
        if dist == "triang":
            b = [low, high, float(p.get("peak") if p.get("peak") is not None else 0.5)]
        elif dist == "truncnorm":
            b = [low, high, float(p["mean"]), float(p["sd"])]
        else:
            b = [low, high]
        names.append(path)
        bounds.append(b)
        dists.append(dist)
    return {"num_vars": len(names), "names": names, "bounds": bounds, "dists": dists}


def block_size(spec: Mapping[str, Any]) -> int:
    """Rows of one Morris trajectory (D + 1) or one Saltelli block (D + 2, or 2D + 2)."""
    d = len(spec.get("parameters") or {})
    if spec.get("method") == "morris":
        return d + 1
    return 2 * d + 2 if spec.get("second_order") else d + 2


def n_points(spec: Mapping[str, Any]) -> int:
    """Sample size: trajectories x (D + 1) for Morris, base_samples x block for Sobol."""
    if spec.get("method") == "morris":
        return int(spec["trajectories"]) * block_size(spec)
    return int(spec["base_samples"]) * block_size(spec)


def sensitivity_spec(manifest: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``sweep.sensitivity`` block of a results folder's manifest, or None."""
    sweep = ((manifest.get("config") or {}).get("sweep") or {})
    spec = sweep.get("sensitivity")
    return dict(spec) if spec else None


def sample_seed(root_seed: int, spawn_key: int) -> int:
    """A positive 31-bit seed for SALib derived from the experiment's root seed.

    (SALib's sobol.analyze ignores a seed of 0, so 0 is never returned.)
    """
    import numpy as np

    state = np.random.SeedSequence(int(root_seed), spawn_key=(spawn_key,)).generate_state(1)
    return int(state[0] % (2**31 - 2)) + 1
