"""FULLY_CONNECTED, bit-exact with TFLM (per-tensor: weights offset + one multiplier; per-channel)."""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference.quant import (
    conv_multipliers,
    dtype_range,
    multiply_by_quantized_multiplier,
    output_activation_range,
    wrap_int32,
)


def fully_connected(op, graph, inputs):
    x, w = inputs[0], inputs[1]
    b = inputs[2] if len(inputs) > 2 else None
    in_t, w_t, out = op.input(graph, 0), op.input(graph, 1), op.output(graph)
    if in_t.quant is None or w_t.quant is None or out.quant is None:
        raise TinyCompilerError(f"{op.where()}: only quantized int8 FULLY_CONNECTED is supported")
    if w.ndim != 2:
        raise TinyCompilerError(f"{op.where()}: weights must be 2-D [out, in], got shape {w.shape}")
    units, depth = w.shape
    if x.size % depth:
        raise TinyCompilerError(f"{op.where()}: input size {x.size} is not a multiple of weights depth {depth}")
    xf = x.reshape(-1, depth).astype(np.float64) - float(in_t.quant.zp)
    wf = w.astype(np.float64)
    if not w_t.quant.per_channel:
        wf = wf - float(w_t.quant.zp)  # TFLM's weights_offset (always 0 for int8 in practice)
    acc = (xf @ wf.T).astype(np.int64)  # exact: integer sums far below 2**53
    if b is not None:
        acc = acc + b.astype(np.int64).reshape(-1)
    acc = wrap_int32(acc)
    mult, shift = conv_multipliers(in_t.quant.s, w_t.quant.scale, out.quant.s, units)
    qmin, qmax = dtype_range(out.dtype)
    act_min, act_max = output_activation_range(op, graph, qmin, qmax)
    y = multiply_by_quantized_multiplier(acc, mult, shift) + out.quant.zp
    y = np.clip(y, act_min, act_max).astype(out.dtype)
    return y.reshape(out.shape)


KERNELS = {"FULLY_CONNECTED": fully_connected}
