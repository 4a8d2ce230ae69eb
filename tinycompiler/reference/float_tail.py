"""The float32 tail after a DEQUANTIZE, as TFLM's float reference kernels compute it.

Exporters often leave the last nonlinearity in float (DEQUANTIZE -> LOG_SOFTMAX). These kernels
follow TFLM's float code operation by operation in float32: sums run in order (no pairwise
summation), products are rounded before they are added (no fused multiply-add), and exp / log /
tanh are the C library's ``expf`` / ``logf`` / ``tanhf``, called through ctypes, because the host
build of TFLM calls them too; numpy's own float32 exp may differ in the last bit. On a device
the C library differs, so device results are bounded in ulps, not bit-exact (tests say how many).

* SOFTMAX: ``e = expf((x - max) * beta)``, ``sum += e`` in order, ``e / sum``.
* LOG_SOFTMAX: ``sum += expf(x - max)`` in order, ``(x - max) - logf(sum)``.
* LOGISTIC: 1 above 16.619047, ``expf(x)`` below -9, else ``1 / (1 + expf(-x))``.
* TANH: ``tanhf``. RELU: ``max(x, 0)``.
* ADD, MUL (broadcasting), FULLY_CONNECTED (``total += x * w`` in order, then ``+ bias``): fused
  activation clamps afterwards (to +-FLT_MAX with none, as TFLM). MEAN: the in-order sum over the reduced axes divided by their count.
* RESHAPE, SQUEEZE: views; CONCATENATION: copies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

import numpy as np

from tinycompiler.errors import TinyCompilerError

F32 = np.float32
#: LOGISTIC's cut-offs in TFLM's float kernel
LOGISTIC_UPPER = F32(16.619047164916992188)
LOGISTIC_LOWER = F32(-9.0)


@lru_cache(maxsize=None)
def _libm(name: str):
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return fn


def libm_f32(name: str, x) -> np.ndarray:
    """``name`` (expf, logf, tanhf) of the C library applied to each float32 of ``x``."""
    fn = _libm(name)
    x = np.asarray(x, F32)
    return np.array([fn(float(v)) for v in x.reshape(-1)], F32).reshape(x.shape)


def in_order_sum(x, axis: int = -1) -> np.ndarray:
    """float32 sum along ``axis`` adding one element at a time, first to last (C's loop)."""
    return np.cumsum(np.asarray(x, F32), axis=axis, dtype=F32).take(-1, axis=axis)


def _clamp(x, activation) -> np.ndarray:
    """TFLM's ActivationFunctionWithMinMax: with no activation the bounds are the largest finite
    floats, so an infinity becomes FLT_MAX; NaN passes."""
    big = np.finfo(F32).max
    lo, hi = {None: (-big, big), "NONE": (-big, big), "RELU": (0.0, big), "RELU6": (0.0, 6.0),
              "RELU_N1_TO_1": (-1.0, 1.0)}[activation]
    x = np.asarray(x, F32)
    x = np.where(x < F32(lo), F32(lo), x)
    return np.where(x > F32(hi), F32(hi), x).astype(F32)


def softmax(op, graph, inputs):
    x = inputs[0].astype(F32)
    beta = F32(op.attrs.get("beta", 1.0))
    m = x.max(axis=-1, keepdims=True)
    e = libm_f32("expf", (x - m) * beta)
    return (e / in_order_sum(e)[..., None]).astype(F32)


def log_softmax(op, graph, inputs):
    x = inputs[0].astype(F32)
    m = x.max(axis=-1, keepdims=True)
    s = in_order_sum(libm_f32("expf", x - m))
    return ((x - m) - libm_f32("logf", s)[..., None]).astype(F32)


def logistic(op, graph, inputs):
    x = inputs[0].astype(F32)
    mid = F32(1.0) / (F32(1.0) + libm_f32("expf", -x))
    return np.where(x > LOGISTIC_UPPER, F32(1.0), np.where(x < LOGISTIC_LOWER, libm_f32("expf", x), mid)).astype(F32)


def tanh(op, graph, inputs):
    return libm_f32("tanhf", inputs[0])


def relu(op, graph, inputs):
    return np.maximum(inputs[0].astype(F32), F32(0.0))


def _binary(fn):
    def kernel(op, graph, inputs):
        a, b = (np.asarray(v, F32) for v in inputs[:2])
        out = op.output(graph)
        return _clamp(fn(a, b).astype(F32), op.attrs.get("activation")).reshape(out.shape)
    return kernel


def fully_connected(op, graph, inputs):
    x, w = np.asarray(inputs[0], F32), np.asarray(inputs[1], F32)
    bias = inputs[2] if len(inputs) > 2 else None
    depth = w.shape[1]
    rows = x.reshape(-1, depth)
    total = in_order_sum(rows[:, None, :] * w[None, :, :])  # products rounded, then summed in order
    if bias is not None:
        total = total + np.asarray(bias, F32)
    out = op.output(graph)
    return _clamp(total.astype(F32), op.attrs.get("activation")).reshape(out.shape)


def mean(op, graph, inputs):
    x = np.asarray(inputs[0], F32)
    axes = sorted({int(a) % x.ndim for a in np.asarray(inputs[1]).reshape(-1)})
    kept = [d for d in range(x.ndim) if d not in axes]
    flat = np.transpose(x, kept + axes).reshape([x.shape[d] for d in kept] + [-1])
    count = int(np.prod([x.shape[d] for d in axes]))
    return (in_order_sum(flat) / F32(count)).astype(F32).reshape(op.output(graph).shape)


def concatenation(op, graph, inputs):
    out = op.output(graph)
    axis = int(op.attrs.get("axis", 0)) % len(out.shape)
    return np.concatenate([np.asarray(v, F32) for v in inputs], axis=axis)


def _view(op, graph, inputs):
    return np.asarray(inputs[0], F32).reshape(op.output(graph).shape)


#: op kind -> float32 kernel, used for the ops of a float tail (output float32, not DEQUANTIZE)
KERNELS_F32 = {
    "SOFTMAX": softmax, "LOG_SOFTMAX": log_softmax, "LOGISTIC": logistic, "TANH": tanh, "RELU": relu,
    "ADD": _binary(np.add), "MUL": _binary(np.multiply), "FULLY_CONNECTED": fully_connected, "MEAN": mean,
    "CONCATENATION": concatenation, "RESHAPE": _view, "SQUEEZE": _view,
}


def is_float_op(op, graph) -> bool:
    """Whether ``op`` runs in float32 (a float tail op; DEQUANTIZE itself is int8 -> float)."""
    return op.kind != "DEQUANTIZE" and any(graph.tensors[t].dtype == "float32" for t in op.outputs)


def float_kernel(op):
    """The float32 kernel of ``op``; TinyCompilerError when its kind has none."""
    fn = KERNELS_F32.get(op.kind)
    if fn is None:
        raise TinyCompilerError(f"{op.where()}: no float32 kernel; a float tail may hold {', '.join(KERNELS_F32)}")
    return fn
