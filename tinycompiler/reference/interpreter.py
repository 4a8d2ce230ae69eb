"""The numpy reference interpreter: runs a :class:`Graph` op by op, bit-exact with TFLM.

``run(graph, inputs)`` returns every activation tensor (graph inputs, intermediates, outputs)
keyed by tensor index, so any stage can be compared with TFLM layer by layer.
"""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from tinycompiler.errors import TinyCompilerError

#: modules that each export ``KERNELS: dict[str, kernel]``; optional ones may not exist yet
_KERNEL_MODULES = (
    "tinycompiler.reference.conv",
    "tinycompiler.reference.fully_connected",
    "tinycompiler.reference.elementwise",
    "tinycompiler.reference.pooling",
    "tinycompiler.reference.reduce",
    "tinycompiler.reference.shape_ops",
    "tinycompiler.reference.quantize",
)
_OPTIONAL_MODULES = ("tinycompiler.reference.nonlinear",)


def kernels() -> dict:
    """The kind -> kernel table (nonlinear kernels merged in when their module exists)."""
    table: dict[str, Callable] = {}
    for name in _KERNEL_MODULES:
        table.update(importlib.import_module(name).KERNELS)
    for name in _OPTIONAL_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        table.update(getattr(mod, "KERNELS", {}))
    return table


def supported_kinds() -> set:
    """Op kinds the reference can execute right now."""
    return set(kernels())


def _check_inputs(graph, inputs) -> list:
    if isinstance(inputs, np.ndarray):
        inputs = [inputs]
    if isinstance(inputs, dict):
        try:
            inputs = [inputs[i] for i in graph.inputs]
        except KeyError as e:
            raise TinyCompilerError(f"no value given for graph input tensor {e.args[0]}") from None
    inputs = list(inputs)
    if len(inputs) != len(graph.inputs):
        raise TinyCompilerError(f"model {graph.name!r} takes {len(graph.inputs)} input(s), got {len(inputs)}")
    checked = []
    for k, (idx, x) in enumerate(zip(graph.inputs, inputs)):
        t = graph.tensors[idx]
        x = np.asarray(x)
        if k in graph.written_inputs and x.dtype == np.float32:  # quantized as written, as the C does
            from tinycompiler.passes.boundary_io import quantize_for_input

            x = quantize_for_input(graph, k, x.reshape(t.shape))
        if tuple(x.shape) != tuple(t.shape):
            raise TinyCompilerError(f"input {k} ({t.name!r}) must have shape {tuple(t.shape)}, got {tuple(x.shape)}")
        if x.dtype != np.dtype(t.dtype):
            raise TinyCompilerError(f"input {k} ({t.name!r}) must be {t.dtype}, got {x.dtype}")
        checked.append(x)
    return checked


def run(graph, inputs) -> dict:
    """Execute ``graph`` on ``inputs`` (list in ``graph.inputs`` order, or dict by tensor index).

    Returns ``{tensor_index: array}`` for graph inputs, every op output and graph outputs;
    constants are not included.
    """
    table = kernels()
    values: dict[int, np.ndarray] = {}
    for idx, x in zip(graph.inputs, _check_inputs(graph, inputs)):
        values[idx] = x.copy()
    from tinycompiler.reference.float_tail import float_kernel, is_float_op

    for op in graph.ops:
        fn = float_kernel(op) if is_float_op(op, graph) else table.get(op.kind)
        if fn is None:
            raise TinyCompilerError(f"{op.where()}: the reference interpreter has no kernel for {op.kind}")
        args = []
        for i in op.inputs:
            if i is None or i < 0:
                args.append(None)
                continue
            t = graph.tensors[i]
            if t.is_const:
                args.append(np.asarray(t.data).reshape(t.shape) if t.size == np.asarray(t.data).size else t.data)
            elif i in values:
                args.append(values[i])
            else:
                raise TinyCompilerError(f"{op.where()}: input tensor {i} ({t.name!r}) is read before it is written")
        try:
            y = fn(op, graph, args)
        except TinyCompilerError:
            raise
        except Exception as e:  # a kernel bug or an inconsistent model: say where
            raise TinyCompilerError(f"{op.where()}: reference kernel failed: {type(e).__name__}: {e}") from e
        out = op.output(graph)
        y = np.asarray(y)
        if tuple(y.shape) != tuple(out.shape):
            if y.size != out.size:
                raise TinyCompilerError(f"{op.where()}: computed shape {y.shape}, model says {tuple(out.shape)}")
            y = y.reshape(out.shape)
        if y.dtype != np.dtype(out.dtype):
            y = y.astype(out.dtype)
        values[op.outputs[0]] = y
    return values
