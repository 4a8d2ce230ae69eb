"""Data-movement ops: PAD, RESHAPE, SQUEEZE, CONCATENATION, TRANSPOSE, RESIZE_NEAREST_NEIGHBOR."""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference.quant import round_half_away


def pad(op, graph, inputs):
    x, paddings = inputs[0], np.asarray(inputs[1]).reshape(-1, 2)
    out = op.output(graph)
    if paddings.shape[0] != x.ndim:
        raise TinyCompilerError(f"{op.where()}: paddings has {paddings.shape[0]} rows for a rank-{x.ndim} input")
    if np.any(paddings < 0):
        raise TinyCompilerError(f"{op.where()}: negative paddings are not supported")
    value = 0
    if len(op.inputs) > 2 and inputs[2] is not None:
        value = np.asarray(inputs[2]).reshape(-1)[0]
    elif out.quant is not None and out.dtype != "float32":
        value = out.quant.zp  # TFLM pads quantized tensors with the output zero point
    y = np.pad(x, [tuple(int(v) for v in r) for r in paddings], constant_values=value)
    return y.astype(x.dtype, copy=False)


def reshape(op, graph, inputs):
    out = op.output(graph)
    if inputs[0].size != out.size:
        raise TinyCompilerError(f"{op.where()}: cannot reshape {inputs[0].shape} to {out.shape}")
    return inputs[0].reshape(out.shape).copy()


def concatenation(op, graph, inputs):
    out = op.output(graph)
    axis = int(op.attrs.get("axis", 0))
    if axis < 0:
        axis += len(out.shape)
    if op.attrs.get("activation", "NONE") not in (None, "NONE"):
        raise TinyCompilerError(f"{op.where()}: a fused activation on CONCATENATION is not supported")
    if out.quant is not None and out.dtype == "int8":
        for i in range(len(op.inputs)):
            q = op.input(graph, i).quant
            if q is None or float(np.float32(q.s)) != float(np.float32(out.quant.s)) or q.zp != out.quant.zp:
                raise TinyCompilerError(
                    f"{op.where()}: input {i} is quantized differently from the output; TFLM's int8 "
                    f"CONCATENATION requires identical scale and zero point (requantize the inputs first)")
    return np.concatenate([np.asarray(a) for a in inputs], axis=axis).astype(inputs[0].dtype, copy=False)


def transpose(op, graph, inputs):
    perm = [int(p) for p in np.asarray(inputs[1]).reshape(-1)]
    return np.ascontiguousarray(np.transpose(inputs[0], perm))


def nearest_index(out_size: int, in_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """TFLite's GetNearestNeighbor for every output coordinate, computed in float32."""
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5) if half_pixel_centers else np.float32(0.0)
    pos = (np.arange(out_size, dtype=np.float32) + offset) * scale
    if align_corners:
        idx = round_half_away(pos).astype(np.int64)
    else:
        idx = np.floor(pos).astype(np.int64)
    idx = np.minimum(idx, in_size - 1)
    if half_pixel_centers:
        idx = np.maximum(idx, 0)
    return idx


def resize_nearest_neighbor(op, graph, inputs):
    x = inputs[0]
    out = op.output(graph)
    oh, ow = int(out.shape[1]), int(out.shape[2])
    ac = bool(op.attrs.get("align_corners", False))
    hp = bool(op.attrs.get("half_pixel_centers", False))
    iy = nearest_index(oh, x.shape[1], ac, hp)
    ix = nearest_index(ow, x.shape[2], ac, hp)
    return np.ascontiguousarray(x[:, iy][:, :, ix])


KERNELS = {
    "PAD": pad,
    "RESHAPE": reshape,
    "SQUEEZE": reshape,
    "CONCATENATION": concatenation,
    "TRANSPOSE": transpose,
    "RESIZE_NEAREST_NEIGHBOR": resize_nearest_neighbor,
}
