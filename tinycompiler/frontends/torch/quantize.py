"""Post-training quantization choices, following TFLite's int8 conventions so TFLM runs the model.

* Activations: per-tensor asymmetric int8 from the calibrated range, widened to contain 0.0 so
  that 0.0 is exactly a code (zero point in [-128, 127]; zero padding and ReLU stay exact).
* Weights: per-channel symmetric int8 in [-127, 127] (zero point 0; -128 unused, as TFLite) for
  convolutions; per-tensor symmetric for FULLY_CONNECTED (what TFLite's converter writes).
* Biases: int32 with scale ``input_scale * weight_scale`` per channel.
* Fixed output quantization where TFLM requires it: LOGISTIC/SOFTMAX scale 1/256 zero point -128;
  a folded Hardsigmoid [0, 1] as scale 1/255, zero point -128.
* Ops that move int8 codes without requantizing (RESHAPE, MAX/AVERAGE_POOL_2D, PAD, TRANSPOSE,
  CONCATENATION, and a standalone RELU6, which TFLM clamps without looking at the output scale)
  have their inputs and output share one quantization, over the union of their ranges.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir import Quant

#: TFLM's fixed int8 output quantization of LOGISTIC and SOFTMAX
PROB_QUANT = (1.0 / 256.0, -128)
#: a folded Hardsigmoid's output: [0, 1] with 1.0 exactly on code 127
UNIT_QUANT = (1.0 / 255.0, -128)
#: smallest range width given to a constant activation (avoids a zero scale)
_MIN_SPAN = 1e-6
#: layers whose output shares its inputs' quantization
_SHARED = ("reshape", "maxpool", "avgpool", "pad", "concat", "relu6")
INT32_MAX = 2**31 - 1


def quant_of(scale: float, zero_point: int) -> Quant:
    return Quant(np.array([scale], np.float32), np.array([zero_point], np.int64))


def activation_quant(lo: float, hi: float) -> Quant:
    """Asymmetric int8 quantization of the range [lo, hi] widened to contain 0.0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if hi - lo < _MIN_SPAN:
        hi = lo + _MIN_SPAN
    scale = np.float32((hi - lo) / 255.0)
    zp = int(np.clip(np.round(-128.0 - lo / float(scale)), -128, 127))
    return quant_of(float(scale), zp)


def quantize_weights(w, axis, bias=None, input_scale=None, per_channel=True) -> tuple:
    """Symmetric int8 weights: ``(int8 array, float32 scales)``, per channel along ``axis`` or per tensor.

    Scales are raised where needed so that ``bias / (input_scale * scale)`` fits int32 (a channel
    whose weights are all zero would otherwise get a scale of 0).
    """
    w = np.asarray(w, np.float64)
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    amax = np.abs(moved).max(axis=1) if per_channel else np.full(w.shape[axis], np.abs(w).max())
    scale = amax / 127.0
    if bias is not None and input_scale is not None:
        need = np.abs(np.asarray(bias, np.float64)) / (float(input_scale) * (INT32_MAX // 2))
        scale = np.maximum(scale, need if per_channel else need.max())
    scale = np.where(scale > 0, scale, 1.0 / 127.0).astype(np.float32)
    if not per_channel:
        scale = scale[:1]
    bshape = [1] * w.ndim
    bshape[axis] = -1
    s = scale.astype(np.float64).reshape(bshape) if per_channel else float(scale[0])
    q = np.clip(np.round(w / s), -127, 127).astype(np.int8)
    return q, scale


def quantize_bias(b, input_scale: float, weight_scales) -> tuple:
    """int32 bias at scale ``input_scale * weight_scale``: ``(int32 array, float32 scales)``."""
    scales = (np.float32(input_scale) * np.asarray(weight_scales, np.float32)).astype(np.float32)
    scales = np.broadcast_to(scales, (np.asarray(b).size,)).astype(np.float32)
    q = np.round(np.asarray(b, np.float64) / scales.astype(np.float64))
    return np.clip(q, -(2**31), INT32_MAX).astype(np.int32), scales


class _Classes:
    """Union-find over value names: values that must share one quantization."""

    def __init__(self):
        self.parent = {}

    def find(self, v):
        self.parent.setdefault(v, v)
        while self.parent[v] != v:
            self.parent[v] = self.parent[self.parent[v]]
            v = self.parent[v]
        return v

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def _fixed(layer):
    if layer.kind in ("sigmoid", "softmax"):
        return PROB_QUANT
    if layer.kind == "hardsigmoid" or layer.attrs.get("clip") == (0.0, 1.0):
        return UNIT_QUANT
    return None


def assign_quants(fg, ranges: dict) -> dict:
    """``{value name: Quant}`` for the graph input and every layer output."""
    classes = _Classes()
    classes.find(fg.input)
    fixed = {}
    for layer in fg.layers:
        classes.find(layer.output)
        if layer.kind in _SHARED:
            for v in layer.inputs:
                classes.union(v, layer.output)
        f = _fixed(layer)
        if f is not None:
            fixed[layer.output] = (f, layer)
    members: dict = {}
    for v in classes.parent:
        members.setdefault(classes.find(v), []).append(v)
    quants = {}
    for root, vals in members.items():
        fixes = {fixed[v][0] for v in vals if v in fixed}
        if len(fixes) > 1:
            where = ", ".join(fixed[v][1].where for v in vals if v in fixed)
            raise TinyCompilerError(f"values that must share one int8 quantization (concat/pool/reshape "
                                    f"inputs and outputs) have different fixed scales: {where}")
        if fixes:
            q = quant_of(*fixes.pop())
        else:
            lo = min(ranges[v][0] for v in vals)
            hi = max(ranges[v][1] for v in vals)
            q = activation_quant(lo, hi)
        for v in vals:
            quants[v] = q
    _fit_hardswish(fg, quants, classes, members)
    return quants


def _fit_hardswish(fg, quants, classes, members) -> None:
    """TFLM refuses HARD_SWISH when ``input_scale / (128 * output_scale) >= 1``: widen the output."""
    for layer in fg.layers:
        if layer.kind != "hardswish":
            continue
        s_in = quants[layer.inputs[0]].s
        q = quants[layer.output]
        if s_in / (128.0 * q.s) >= 0.99:
            new = quant_of(float(np.float32(s_in / 120.0)), q.zp)
            for v in members[classes.find(layer.output)]:
                quants[v] = new
