"""The ``sweep.sensitivity`` design: a global sensitivity study whose sample SALib builds.

```yaml
sweep:
  sensitivity:
    method: morris            # or sobol
    trajectories: 20          # morris: r trajectories of D + 1 points (levels: 4 by default)
    # base_samples: 256       # sobol: N, a power of 2; N (D + 2) points, N (2D + 2) with
    # second_order: false     #   second_order: true
    parameters:               # any numeric model parameter, with bounds
      clients.utility.quality_signal_noise: [0.05, 5.0]
      clients.private_bias: {bounds: [0.0, 2.0], distribution: triang, peak: 0.5}
  replications: 1
  seed: 20261130
```

The sample is ``SALib.sample.morris.sample`` or ``SALib.sample.sobol.sample`` of the problem that
`marketplace.analysis.sensitivity_problem.salib_problem` builds (the analysis reads the same problem
back from the manifest), seeded from the root seed, so the same config gives the same sample. Point
*i* of the sample is combination *i* of the sweep; it runs through the usual executors, resume and
manifest like any other design. Integer parameters are rounded after scaling (the stored values, not
the unrounded ones, go into the Morris analysis). A sensitivity design cannot be combined with grid,
zip or the other sampling designs: the analysis needs combination *i* to be sample row *i*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import numpy as np

SAMPLER_KEY = 2**32 - 3
"""spawn_key of the SALib sampler's seed (distinct from the other designs' keys)."""
MIN_TRAJECTORIES = 2
MIN_BASE_SAMPLES = 4


class SensitivityParameter(BaseModel):
    """One parameter's range and (optionally) its distribution over it."""

    model_config = ConfigDict(extra="forbid")

    bounds: tuple[float, float] = Field(description="[low, high]: the support of the parameter")
    distribution: Literal["unif", "triang", "truncnorm", "logunif"] = Field(
        "unif", description="SALib distribution over the bounds")
    peak: float | None = Field(None, description="triang: mode as a share of the width, [0, 1)")
    mean: float | None = Field(None, description="truncnorm: mean before truncation")
    sd: float | None = Field(None, gt=0, description="truncnorm: sd before truncation")


class SensitivityDesign(BaseModel):
    """A Morris or Sobol (Saltelli) sample over parameter ranges, built by SALib."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["morris", "sobol"] = Field(description="morris (screening) or sobol")
    trajectories: int | None = Field(None, description="morris: number of trajectories r")
    levels: int | None = Field(None, description="morris: grid levels p (even; default 4)")
    base_samples: int | None = Field(None, description="sobol: base sample N, a power of 2")
    second_order: bool | None = Field(None, description="sobol: also second-order indices")
    parameters: dict[str, tuple[float, float] | SensitivityParameter] = Field(
        min_length=1, description="dotted parameter path -> [low, high] or {bounds, ...}")

    def spec(self) -> dict[str, Any]:
        """The design as the plain dict the analysis layer reads back from the manifest."""
        return self.model_dump(mode="json")

    def n_points(self) -> int:
        return _analysis().n_points(self.spec())


def _analysis() -> Any:
    """The analysis layer's problem builder (imported on use, and without pandas: keeps config
    loading light)."""
    from marketplace.analysis import sensitivity_problem

    return sensitivity_problem


def sample_matrix(design: SensitivityDesign, root_seed: int) -> np.ndarray:
    """The SALib sample (rows = points, columns = parameters in the order written)."""
    sa = _analysis()
    problem = sa.salib_problem(design.spec())
    seed = sa.sample_seed(root_seed, SAMPLER_KEY)
    if design.method == "morris":
        from SALib.sample import morris

        return morris.sample(problem, int(design.trajectories), num_levels=design.levels or 4,
                             seed=seed)
    from SALib.sample import sobol

    return sobol.sample(problem, int(design.base_samples),
                        calc_second_order=bool(design.second_order), scramble=True, seed=seed)


def sample_points(design: SensitivityDesign, root_seed: int,
                  integer_paths: frozenset[str] | set[str] = frozenset()) -> list[dict[str, Any]]:
    """The sample as one ``{dotted path: value}`` per point (integers rounded)."""
    names = list(design.parameters)
    points = []
    for row in sample_matrix(design, root_seed):
        point: dict[str, Any] = {}
        for key, value in zip(names, row, strict=True):
            point[key] = round(float(value)) if key in integer_paths else float(value)
        points.append(point)
    return points


def check(sweep: Any, base: Any, problems: list[tuple[str, str]], known: Mapping[str, Any],
          check_value: Callable[[Any, str, str, Any], str | None],
          suggest: Callable[[str, Any], str], strip: Callable[[Any], Any]) -> None:
    """Append every problem of ``sweep.sensitivity`` as (field path, message)."""
    design: SensitivityDesign | None = sweep.sensitivity
    if design is None:
        return
    where = "sweep.sensitivity"
    others = [k for k in ("grid", "zip", "latin_hypercube", "sobol") if getattr(sweep, k)]
    if others:
        problems.append((where, "cannot be combined with " + ", ".join(others)
                         + " (each sample point must be one combination); use one design"))
    if design.method == "morris":
        if design.trajectories is None:
            problems.append((f"{where}.trajectories", "required for method morris (e.g. 20)"))
        elif design.trajectories < MIN_TRAJECTORIES:
            problems.append((f"{where}.trajectories", f"too few samples: at least "
                             f"{MIN_TRAJECTORIES} trajectories are needed for mu_star's CI (got "
                             f"{design.trajectories}; 20 or more recommended)"))
        levels = design.levels if design.levels is not None else 4
        if levels < 2 or levels % 2:
            problems.append((f"{where}.levels", f"must be an even number >= 2 (got {levels})"))
        for name in ("base_samples", "second_order"):
            if getattr(design, name) is not None:
                problems.append((f"{where}.{name}", "only for method sobol; morris uses "
                                 "trajectories (and levels)"))
    else:
        n = design.base_samples
        if n is None:
            problems.append((f"{where}.base_samples", "required for method sobol (a power of 2, "
                             "e.g. 256)"))
        elif n < MIN_BASE_SAMPLES:
            problems.append((f"{where}.base_samples", f"too few samples: at least "
                             f"{MIN_BASE_SAMPLES} (got {n}; 256 or more recommended)"))
        elif n & (n - 1):
            problems.append((f"{where}.base_samples", f"must be a power of 2 for Saltelli's "
                             f"sequence (got {n}; use {1 << (n.bit_length() - 1)} or "
                             f"{1 << n.bit_length()})"))
        for name in ("trajectories", "levels"):
            if getattr(design, name) is not None:
                problems.append((f"{where}.{name}", "only for method morris; sobol uses "
                                 "base_samples (and second_order)"))

    lows: dict[str, Any] = {}
    highs: dict[str, Any] = {}
    for path, value in design.parameters.items():
        field = f"{where}.parameters.{path}"
        if path not in known:
            problems.append((field, f"unknown model parameter '{path}'{suggest(path, known)}"))
            continue
        ann = strip(known[path])
        if ann not in (int, float):
            problems.append((field, f"only numeric parameters can be sampled; '{path}' is "
                             f"{ann!r}"))
            continue
        p = value if isinstance(value, SensitivityParameter) else SensitivityParameter(
            bounds=value)
        low, high = p.bounds
        if not (math.isfinite(low) and math.isfinite(high)) or not low < high:
            problems.append((field, f"bad bounds: needs finite low < high (got [{low}, {high}])"))
            continue
        if p.distribution == "triang" and not (p.peak is None or 0.0 <= p.peak < 1.0):
            problems.append((f"{field}.peak", f"must be in [0, 1) (got {p.peak})"))
        if p.distribution == "truncnorm" and (p.mean is None or p.sd is None):
            problems.append((field, "truncnorm needs mean and sd"))
        for name in ("peak", "mean", "sd"):
            used = {"peak": "triang", "mean": "truncnorm", "sd": "truncnorm"}[name]
            if getattr(p, name) is not None and p.distribution != used:
                problems.append((f"{field}.{name}", f"only for distribution {used}"))
        bad = False
        for bound in (low, high):
            v = round(bound) if ann is int else bound
            msg = check_value(base, field, path, v)
            if msg:
                problems.append((field, f"bad bounds: {msg}"))
                bad = True
                break
        if not bad:
            lows[path] = round(low) if ann is int else low
            highs[path] = round(high) if ann is int else high
    # shares of one mix (and parameters with joint constraints) must also fit together
    for corner, values in (("low", lows), ("high", highs)):
        if len(values) < 2:
            continue
        try:
            base.with_overrides(values)
        except Exception as exc:
            from marketplace.runner.config import _exception_text

            problems.append((f"{where}.parameters", f"the bounds do not fit together: with every "
                             f"parameter at its {corner} bound: {_exception_text(exc)}"))
