"""Feeding a converted model: NCHW float inputs to its (NHWC, int8 or float) inputs, and back."""

from __future__ import annotations

import numpy as np

from tinycompiler.reference.quant import round_half_away


def nhwc(x) -> np.ndarray:
    """An NCHW array as NHWC (other ranks unchanged)."""
    x = np.asarray(x)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


def quantize_input(graph, x) -> np.ndarray:
    """One batch of float NCHW inputs as the graph's input array (NHWC; int8 codes, or float32)."""
    t = graph.tensors[graph.inputs[0]]
    x = nhwc(np.asarray(x, np.float32)).reshape(t.shape)
    if t.dtype == "float32":
        return x.astype(np.float32)
    q = round_half_away(x / np.float32(t.quant.s)) + t.quant.zp
    return np.clip(q, -128, 127).astype(np.int8)


def dequantize_output(graph, y, i: int = 0) -> np.ndarray:
    """Output ``i`` of the graph as float values (NHWC for 4-D outputs)."""
    t = graph.tensors[graph.outputs[i]]
    y = np.asarray(y)
    if t.dtype == "float32":
        return y.astype(np.float32)
    return (y.astype(np.float32) - t.quant.zp) * np.float32(t.quant.s)
