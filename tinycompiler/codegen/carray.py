"""Constant arrays destined for flash, and their C initializer text."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_CTYPES = {
    np.dtype(np.int8): "int8_t",
    np.dtype(np.uint8): "uint8_t",
    np.dtype(np.int16): "int16_t",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.float32): "float",
}


@dataclass
class ConstArray:
    """A named const array (weights, biases, multipliers, LUTs) placed in flash by weights.c."""

    name: str
    values: np.ndarray

    @property
    def ctype(self) -> str:
        return _CTYPES[np.asarray(self.values).dtype]

    @property
    def length(self) -> int:
        return int(np.asarray(self.values).size)

    @property
    def nbytes(self) -> int:
        return int(np.asarray(self.values).nbytes)

    def initializer(self, per_line: int = 24) -> str:
        """The ``{...}`` body: numbers only, rows of ``per_line``. Kept in numpy for speed, since
        a MobileNet carries ~0.5 MB of weights and compile must stay under 2 s."""
        flat = np.asarray(self.values).reshape(-1)
        if flat.dtype == np.float32:
            items = [repr(float(v)) + "f" for v in flat]
        else:
            items = flat.astype(np.int64).astype(str).tolist()
            if flat.dtype == np.int32:
                # INT32_MIN cannot be written as a literal: (-2147483647 - 1)
                items = ["(-2147483647 - 1)" if s == "-2147483648" else s for s in items]
        rows = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return ",\n    ".join(rows)
