"""Struct-of-arrays state with amortised growth (x1.5): the market's memory.

Each table is a set of equally long numpy columns with a logical length ``n`` and a capacity
that grows by half when full, so appending newcomers or contracts costs O(1) amortised and every
decision can run vectorized over ``col[:n]``. Mesa agents are thin views onto rows of these tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Table:
    """Columns as attributes (``table.quality[:table.n]``) that grow together (x1.5 when full)."""

    def __init__(self, schema: dict[str, tuple[Any, Any]], initial_rows: int = 16) -> None:
        self._schema = dict(schema)
        self.n = 0
        self.allocated = max(int(initial_rows), 16)
        for name, (dtype, fill) in self._schema.items():
            setattr(self, name, np.full(self.allocated, fill, dtype=dtype))

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the columns, in schema order."""
        return tuple(self._schema)

    def append(self, k: int, **values: Any) -> np.ndarray:
        """Add ``k`` rows (fill values unless given) and return their indices."""
        need = self.n + k
        if need > self.allocated:
            new_cap = self.allocated
            while new_cap < need:
                new_cap = int(new_cap * 1.5) + 1
            for name, (dtype, fill) in self._schema.items():
                old = getattr(self, name)
                grown = np.full(new_cap, fill, dtype=dtype)
                grown[: self.n] = old[: self.n]
                setattr(self, name, grown)
            self.allocated = new_cap
        idx = np.arange(self.n, need)
        for name, value in values.items():
            getattr(self, name)[self.n : need] = value
        self.n = need
        return idx

    def view(self, name: str) -> np.ndarray:
        """The live part of one column (a view, not a copy)."""
        return getattr(self, name)[: self.n]

    def nbytes(self) -> int:
        """Allocated bytes (capacity, not just the live rows)."""
        return sum(getattr(self, name).nbytes for name in self._schema)
