"""runner layer (see docs/architecture.md section 4): experiment configs, sweep designs,
execution backends (in-process, process pool, Dask) and the results store.

```python
from marketplace.runner import load_config, run_experiment
cfg = load_config("experiments/quickstart.yaml", overrides=["model.weeks=120"])
result = run_experiment(cfg, out_dir="results/quickstart", workers=2)
```
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "StoreError",
    "SweepResult",
    "load_config",
    "run_experiment",
]

_LAZY = {
    "ConfigError": "marketplace.runner.config",
    "ExperimentConfig": "marketplace.runner.config",
    "load_config": "marketplace.runner.config",
    "StoreError": "marketplace.runner.store",
    "SweepResult": "marketplace.runner.run",
    "run_experiment": "marketplace.runner.run",
}


def __getattr__(name: str) -> Any:  # imported on first use: keeps `marketplace --help` fast
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'marketplace.runner' has no attribute {name!r}")
