"""MEAN (int8), bit-exact with TFLM's QuantizedMeanOrSum path.

TFLM sums the reduced elements in int32, subtracts ``input_zp * n``, and folds ``1/n`` into the
``input_scale / output_scale`` multiplier: ``shift = min(floor(log2 n), 32, 31 + shift0)``,
``multiplier = (multiplier0 << shift) // n``, then one MultiplyByQuantizedMultiplier.
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


def mean(op, graph, inputs):
    x = inputs[0]
    in_t, out = op.input(graph, 0), op.output(graph)
    axes = resolve_axes(inputs[1], x.ndim)
    if x.dtype == np.float32:
        return np.mean(x, axis=axes, keepdims=True).astype(np.float32).reshape(out.shape)
    if in_t.quant is None or out.quant is None:
        raise TinyCompilerError(f"{op.where()}: only quantized int8 MEAN is supported")
    n = 1
    for a in axes:
        n *= x.shape[a]
    total = wrap_int32(x.astype(np.int64).sum(axis=axes, keepdims=True))
    shifted = wrap_int32(total - in_t.quant.zp * n)
    mult, shift = mean_multiplier(in_t.quant.s, out.quant.s, n)
    y = multiply_by_quantized_multiplier(shifted, mult, shift) + out.quant.zp
    qmin, qmax = dtype_range(out.dtype)
    return np.clip(y, qmin, qmax).astype(out.dtype).reshape(out.shape)


KERNELS = {"MEAN": mean}
