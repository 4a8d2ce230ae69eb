"""The graph IR: a list of ops in execution order over tensors (NHWC, int8 activations).

The IR mirrors TFLite closely on purpose: an op keeps TFLite's builtin name and its input list
(including constant parameter tensors such as MEAN's axes or PAD's paddings), so that a model read
from a ``.tflite`` can be written back exactly and every stage can be checked against TFLM.
Options are decoded into plain ``attrs`` (see :mod:`tinycompiler.ir.ops` for each op's keys).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

import numpy as np

#: element sizes in bytes of the dtypes the IR can hold
DTYPE_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8, "float32": 4, "bool": 1}


@dataclass
class Quant:
    """Affine quantization: ``real = scale * (q - zero_point)``.

    ``scale`` and ``zero_point`` are 1-D arrays; more than one element means per-channel along
    ``axis`` (TFLite's ``quantized_dimension``). Scales stay float32 as stored in the model: TFLM
    widens them to double when it derives multipliers, and so must we.
    """

    scale: np.ndarray
    zero_point: np.ndarray
    axis: int = 0

    def __post_init__(self):
        self.scale = np.asarray(self.scale, dtype=np.float32).reshape(-1)
        self.zero_point = np.asarray(self.zero_point, dtype=np.int64).reshape(-1)

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def s(self) -> float:
        """The per-tensor scale (first element), as TFLM reads it: float32 widened to double."""
        return float(self.scale[0])

    @property
    def zp(self) -> int:
        """The per-tensor zero point (first element)."""
        return int(self.zero_point[0])


@dataclass
class Tensor:
    """A tensor: activations have ``data is None``; constants (weights, biases, params) hold it."""

    index: int
    name: str
    shape: tuple
    dtype: str
    quant: Optional[Quant] = None
    data: Optional[np.ndarray] = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        """Number of elements."""
        n = 1
        for d in self.shape:
            n *= int(d)
        return n

    @property
    def nbytes(self) -> int:
        """Size in bytes."""
        return self.size * DTYPE_BYTES[self.dtype]


@dataclass
class Op:
    """One operator. ``inputs`` holds tensor indices, ``None`` for an absent optional input."""

    index: int
    kind: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)

    def input(self, graph: "Graph", i: int) -> Optional[Tensor]:
        """The i-th input tensor, or None when absent."""
        if i >= len(self.inputs) or self.inputs[i] is None:
            return None
        return graph.tensors[self.inputs[i]]

    def output(self, graph: "Graph", i: int = 0) -> Tensor:
        return graph.tensors[self.outputs[i]]

    def where(self) -> str:
        """A short location for error messages: ``op 3 (CONV_2D)``."""
        return f"op {self.index} ({self.kind})"


@dataclass
class Graph:
    """A model: tensors, ops in execution order, and graph inputs/outputs (tensor indices).

    ``written_inputs``: input position -> index of the float32 tensor the caller writes when that
    input is quantized as it is written (the graph input is then the int8 tensor it becomes; see
    :mod:`tinycompiler.passes.boundary_io`). ``source_io``: for a graph whose float boundary was
    dropped (``--io int8``), ``{"inputs": {position: tensor}, "outputs": {...}}`` naming the float
    tensor of the model file each int8 input or output stands for. Both empty for a model as read.
    """

    tensors: list
    ops: list
    inputs: list
    outputs: list
    name: str = "model"
    description: str = ""
    written_inputs: dict = field(default_factory=dict)
    source_io: dict = field(default_factory=dict)

    def add_tensor(self, name, shape, dtype, quant=None, data=None) -> Tensor:
        """Append a tensor and return it (its ``index`` is its position)."""
        t = Tensor(len(self.tensors), name, tuple(int(d) for d in shape), dtype, quant, data)
        self.tensors.append(t)
        return t

    def add_op(self, kind, inputs, outputs, **attrs) -> Op:
        """Append an op at the end of the schedule and return it."""
        op = Op(len(self.ops), kind, list(inputs), list(outputs), dict(attrs))
        self.ops.append(op)
        return op

    def producer(self, tensor_index: int) -> Optional[Op]:
        """The op that writes a tensor, or None for graph inputs and constants."""
        for op in self.ops:
            if tensor_index in op.outputs:
                return op
        return None

    def consumers(self, tensor_index: int) -> list:
        """Ops that read a tensor, in execution order."""
        return [op for op in self.ops if tensor_index in op.inputs]

    def activations(self) -> Iterator[Tensor]:
        """Non-constant tensors that the schedule touches (graph I/O and intermediates)."""
        used = set(self.inputs) | set(self.outputs)
        for op in self.ops:
            used.update(i for i in op.inputs if i is not None)
            used.update(op.outputs)
        for t in self.tensors:
            if t.index in used and not t.is_const:
                yield t

    @classmethod
    def empty(cls, name: str = "model") -> "Graph":
        return cls(tensors=[], ops=[], inputs=[], outputs=[], name=name)
