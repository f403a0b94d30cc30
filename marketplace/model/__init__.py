"""The Mesa market model: parameters, agents, the weekly process and the output tables.

See docs/architecture.md section 2, docs/ODD.md and docs/outputs.md.
"""

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
