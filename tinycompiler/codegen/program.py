"""What code generation renders: a static schedule of kernel calls over one planned arena."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Call:
    """One kernel invocation in model.c.

    ``template`` names the macro file ``templates/ops/<template>.c.j2`` that renders it; ``args``
    are the values it renders (all decided in Python); ``arrays`` are the const arrays it reads;
    ``functions`` the runtime functions it calls (their sources are copied into the bundle).
    """

    op_index: int
    template: str
    comment: str
    args: dict
    arrays: list = field(default_factory=list)
    functions: list = field(default_factory=list)
    layer: int = 0  # position in the schedule, set by lowering


@dataclass
class IoSpec:
    """A graph input or output as model.h exposes it: where in the arena, bytes, type, quantization.

    ``written``: an input the caller writes as float32 (``write_shape``) that
    ``model_input_write()`` quantizes into the int8 tensor as it goes (``nbytes`` stays the
    stored bytes; :mod:`tinycompiler.passes.boundary_io`).
    """

    position: int
    tensor: int
    name: str
    offset: int
    nbytes: int
    ctype: str
    shape: tuple
    scale: float
    zero_point: int
    written: bool = False
    write_shape: tuple = ()

    @property
    def write_bytes(self) -> int:
        """Bytes the caller writes: float32 values for a written input, else the stored bytes."""
        return 4 * math.prod(int(d) for d in self.write_shape) if self.written else self.nbytes

    @property
    def write_ctype(self) -> str:
        return "float" if self.written else self.ctype

    @property
    def scale_literal(self) -> str:
        """The scale as an exact C99 hex float literal (the QUANTIZE divides by this float32)."""
        import numpy as np

        return float(np.float32(self.scale)).hex() + "f"


@dataclass
class Program:
    """Everything the templates need for one model."""

    name: str
    calls: list
    arena_bytes: int
    inputs: list
    outputs: list
    plan: object = None
    #: when the arena spans RAM regions: (region name, start offset, bytes) per part, main region
    #: first; each part is its own array in its region's linker section. Empty: one arena.
    arena_regions: list = field(default_factory=list)

    @property
    def arrays(self) -> list:
        return [a for c in self.calls for a in c.arrays]

    @property
    def functions(self) -> list:
        seen = ["tc_quantize_f32_s8"] if any(io.written for io in self.inputs) else []
        for c in self.calls:
            for f in c.functions:
                if f not in seen:
                    seen.append(f)
        return seen

    @property
    def weight_bytes(self) -> int:
        """Flash taken by const arrays (bytes)."""
        return sum(a.nbytes for a in self.arrays)
