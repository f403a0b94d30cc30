"""Small readers shared by the analysis modules: a table column as floats, a parameter by path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with NaN for missing (works for nullable and bool dtypes)."""
    return pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def param(params: Any, path: str, default: Any = None) -> Any:
    """`params.a.b` for a ModelParams or a nested dict; `default` when absent."""
    value = params
    for key in path.split("."):
        if value is None:
            return default
        value = value.get(key) if isinstance(value, Mapping) else getattr(value, key, None)
    return default if value is None else value
