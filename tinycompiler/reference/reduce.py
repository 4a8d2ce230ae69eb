"""MEAN (int8), bit-exact with TFLM's QuantizedMeanOrSum path.

TFLM sums the reduced elements in int32, subtracts ``input_zp * n``, and folds ``1/n`` into the
``input_scale / output_scale`` multiplier: ``shift = min(floor(log2 n), 32, 31 + shift0)``,
``multiplier = (multiplier0 << shift) // n``, then one MultiplyByQuantizedMultiplier.

:func:`mean_params` computes those constants once, for this kernel and for the C code generator
(:mod:`tinycompiler.codegen.op_params`).
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference.quant import (
    dtype_range,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    wrap_int32,
)


def resolve_axes(axes, rank: int) -> tuple:
    """TFLite's ResolveAxis: negative axes wrap, duplicates dropped, order kept."""
    out = []
    for a in np.asarray(axes).reshape(-1):
        a = int(a)
        if a < 0:
            a += rank
        if not 0 <= a < rank:
            raise TinyCompilerError(f"MEAN axis {a} is out of range for a rank-{rank} input")
        if a not in out:
            out.append(a)
    return tuple(out)


def mean_multiplier(input_scale: float, output_scale: float, n: int) -> tuple:
    """The ``(multiplier, shift)`` TFLM applies to ``sum - zp * n`` for a mean over n elements."""
    real = float(np.float32(input_scale)) / float(np.float32(output_scale))
    mult, shift = quantize_multiplier(real)
    if n <= 0:
        return mult, shift
    s = int(n).bit_length() - 1  # 63 - clz(n)
    s = min(s, 32, 31 + shift)
    mult = (mult << s) // n if s >= 0 else (mult >> -s) // n
    return int(mult), shift - s


def mean_params(op, graph, axes=None) -> dict:
    """A quantized MEAN's constants: ``axes`` (resolved, in order), ``n`` (elements reduced per
    output), ``sum_offset`` (``input_zp * n`` wrapped to int32, subtracted from each int32 sum),
    ``multiplier``/``shift`` (:func:`mean_multiplier`) and ``output_zp``.

    ``axes`` defaults to the op's constant axes input.
    """
    in_t, out = op.input(graph, 0), op.output(graph)
    if axes is None:
        t = op.input(graph, 1)
        if t is None or t.data is None:
            raise TinyCompilerError(f"{op.where()}: axes (input 1) must be a constant tensor")
        axes = t.data
    axes = resolve_axes(axes, len(in_t.shape))
    if in_t.quant is None or out.quant is None:
        raise TinyCompilerError(f"{op.where()}: only quantized int8 MEAN is supported")
    n = 1
    for a in axes:
        n *= int(in_t.shape[a])
    mult, shift = mean_multiplier(in_t.quant.s, out.quant.s, n)
    return {"axes": axes, "n": n, "sum_offset": int(wrap_int32(in_t.quant.zp * n)),
            "multiplier": mult, "shift": shift, "output_zp": out.quant.zp}


def mean(op, graph, inputs):
    x = inputs[0]
    out = op.output(graph)
    if x.dtype == np.float32:
        axes = resolve_axes(inputs[1], x.ndim)
        return np.mean(x, axis=axes, keepdims=True).astype(np.float32).reshape(out.shape)
    p = mean_params(op, graph, inputs[1])
    total = wrap_int32(x.astype(np.int64).sum(axis=p["axes"], keepdims=True))
    shifted = wrap_int32(total - p["sum_offset"])
    y = multiply_by_quantized_multiplier(shifted, p["multiplier"], p["shift"]) + p["output_zp"]
    qmin, qmax = dtype_range(out.dtype)
    return np.clip(y, qmin, qmax).astype(out.dtype).reshape(out.shape)


KERNELS = {"MEAN": mean}
