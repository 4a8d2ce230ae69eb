"""Float graph rewrites before calibration: BatchNorm folding and activation fusion.

* BatchNorm after a convolution (or BatchNorm1d after a Linear) whose output only it reads is
  folded into the weights and bias; any other 4-D BatchNorm becomes a depthwise 1x1 convolution.
* ReLU/ReLU6 after a conv/linear/add/mul whose output only it reads becomes that op's fused
  activation (TFLite's fused_activation_function): no extra op and no extra int8 rounding.
* Hardsigmoid after a conv/linear that only it reads is folded too: ``relu6(z + 3) / 6`` equals
  ``clamp(z / 6 + 0.5, 0, 1)``, so the weights and bias are scaled by 1/6, 0.5 is added to the bias,
  the op gets a fused RELU, and its int8 output uses the fixed range [0, 1] (scale 1/255, zero point
  -128), whose top code 127 is exactly 1.0: the int8 saturation is the upper clamp.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError

#: ops that can carry a fused RELU/RELU6
_FUSE_INTO = ("conv", "linear", "add", "mul")


def _sole_reader(fg, value, layer) -> bool:
    """True if ``layer`` is the only reader of ``value`` and it is no graph output."""
    readers = fg.consumers(value)
    return value not in fg.outputs and len(readers) == 1 and readers[0] is layer


def _remove(fg, layer, producer) -> None:
    """Drop ``layer`` (now merged into ``producer``): its readers read the producer's output."""
    fg.layers.remove(layer)
    old = producer.output
    producer.output = layer.output
    del fg.shapes[old]


def _fold_batchnorm(fg, bn) -> None:
    prod = fg.producer(bn.inputs[0])
    scale, shift = bn.attrs["scale"], bn.attrs["shift"]
    if prod is not None and prod.kind in ("conv", "linear") and prod.attrs["act"] == "NONE" \
            and _sole_reader(fg, prod.output, bn):
        w = prod.attrs["weight"].astype(np.float64)
        b = prod.attrs["bias"]
        b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
        shape = (-1,) + (1,) * (w.ndim - 1)
        prod.attrs["weight"] = (w * scale.reshape(shape)).astype(np.float32)
        prod.attrs["bias"] = (b * scale + shift).astype(np.float32)
        _remove(fg, bn, prod)
        return
    if len(fg.shapes[bn.inputs[0]]) != 4:
        raise TinyCompilerError(f"BatchNorm at {bn.where} does not follow a Linear/Conv2d it can be "
                                f"folded into; supported: BatchNorm after Conv2d/Linear, or on NCHW tensors")
    c = scale.size
    bn.kind = "conv"
    bn.attrs = {"weight": scale.reshape(c, 1, 1, 1).astype(np.float32), "bias": shift.astype(np.float32),
                "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": c, "act": "NONE"}


def _fuse_activation(fg, act) -> None:
    prod = fg.producer(act.inputs[0])
    if prod is None or prod.kind not in _FUSE_INTO or prod.attrs.get("act") != "NONE" \
            or "clip" in prod.attrs or not _sole_reader(fg, prod.output, act):
        return
    prod.attrs["act"] = act.kind.upper()
    _remove(fg, act, prod)


def _fold_hardsigmoid(fg, hs) -> None:
    prod = fg.producer(hs.inputs[0])
    if prod is None or prod.kind not in ("conv", "linear") or prod.attrs["act"] != "NONE" \
            or not _sole_reader(fg, prod.output, hs):
        return  # stays a layer; to_ir expresses it as ADD(+3, fused RELU6) and MUL(1/6)
    w = prod.attrs["weight"].astype(np.float64)
    b = prod.attrs["bias"]
    b = np.zeros(w.shape[0]) if b is None else b.astype(np.float64)
    prod.attrs["weight"] = (w / 6.0).astype(np.float32)
    prod.attrs["bias"] = (b / 6.0 + 0.5).astype(np.float32)
    prod.attrs["act"] = "RELU"
    prod.attrs["clip"] = (0.0, 1.0)  # the int8 saturation at 1.0; also used by the float executor
    _remove(fg, hs, prod)


def fold(fg):
    """Apply the rewrites in place (BN first, so that activations fuse into the folded conv)."""
    for layer in [x for x in fg.layers if x.kind == "batchnorm"]:
        _fold_batchnorm(fg, layer)
    for layer in [x for x in fg.layers if x.kind == "hardsigmoid"]:
        _fold_hardsigmoid(fg, layer)
    for layer in [x for x in fg.layers if x.kind in ("relu", "relu6")]:
        _fuse_activation(fg, layer)
    return fg
