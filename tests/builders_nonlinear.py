"""Single-op graphs for the nonlinear int8 kernels (SOFTMAX, LOG_SOFTMAX, LOGISTIC, HARD_SWISH,
RELU, RELU6), with the output quantization TFLite requires where it fixes one."""

from __future__ import annotations

import numpy as np

from tinycompiler.ir import Graph, Quant

#: output (scale, zero point) that TFLM requires for int8 outputs of these ops
FIXED_OUTPUT_QUANT = {
    "SOFTMAX": (1.0 / 256, -128),
    "LOGISTIC": (1.0 / 256, -128),
    "LOG_SOFTMAX": (16.0 / 256, 127),
}

NONLINEAR_OPS = ("SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6")


def f32(v) -> float:
    """``v`` rounded to float32 (as a scale is stored in the model), returned as a Python float."""
    return float(np.float32(v))


def unary_graph(kind: str, shape, in_scale: float, in_zp: int, out_scale: float | None = None,
                out_zp: int | None = None, **attrs) -> Graph:
    """``out = kind(in)`` on int8 tensors of ``shape``.

    ``out_scale``/``out_zp`` default to the values TFLite requires for ``kind`` (and to the input
    quantization for the free ops).
    """
    if out_scale is None or out_zp is None:
        fixed = FIXED_OUTPUT_QUANT.get(kind, (in_scale, in_zp))
        out_scale = fixed[0] if out_scale is None else out_scale
        out_zp = fixed[1] if out_zp is None else out_zp
    if kind == "SOFTMAX":
        attrs.setdefault("beta", 1.0)
    g = Graph.empty(f"{kind.lower()}_test")
    a = g.add_tensor("input", shape, "int8", Quant([in_scale], [in_zp]))
    b = g.add_tensor("output", shape, "int8", Quant([out_scale], [out_zp]))
    g.add_op(kind, [a.index], [b.index], **attrs)
    g.inputs = [a.index]
    g.outputs = [b.index]
    return g


def all_int8() -> np.ndarray:
    """Every int8 value once, -128..127, shape (256,)."""
    return np.arange(-128, 128, dtype=np.int64).astype(np.int8)


def all_int8_pairs() -> np.ndarray:
    """All 65,536 ordered pairs of int8 values as rows of a (65536, 2) tensor."""
    v = np.arange(-128, 128, dtype=np.int64)
    a, b = np.meshgrid(v, v, indexing="ij")
    return np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int8)
