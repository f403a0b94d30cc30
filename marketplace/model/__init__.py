"""The Mesa market model: parameters, agents, the weekly process and the output tables.

See docs/architecture.md section 2, docs/ODD.md and docs/outputs.md.

Names are imported on first use, so reading the parameter schema (``marketplace params``,
``marketplace validate``) does not load Mesa.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agents import Client, Freelancer
    from .model import MarketplaceModel, simulate
    from .outputs import RunOutputs
    from .params import ModelParams, ParameterError

__all__ = [
    "Client",
    "Freelancer",
    "MarketplaceModel",
    "ModelParams",
    "ParameterError",
    "RunOutputs",
    "simulate",
]

_LAZY = {
    "Client": ".agents",
    "Freelancer": ".agents",
    "MarketplaceModel": ".model",
    "simulate": ".model",
    "RunOutputs": ".outputs",
    "ModelParams": ".params",
    "ParameterError": ".params",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
