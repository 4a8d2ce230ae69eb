"""Run a float :class:`~.layers.FloatGraph` with torch (NCHW, float32), batch by batch.

This is the float model after folding: calibration records its activations, and tests compare it
with the original nn.Module to check that lowering and folding kept the maths.
"""

from __future__ import annotations

import numpy as np


def _t(a):
    import torch

    return None if a is None else torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))


def _act(y, act):
    import torch

    if act == "RELU":
        return torch.relu(y)
    if act == "RELU6":
        return torch.clamp(y, 0.0, 6.0)
    return y


def _run_layer(layer, xs, shape):
    import torch
    import torch.nn.functional as F

    a = layer.attrs
    x = xs[0]
    k = layer.kind
    if k == "conv":
        y = F.conv2d(x, _t(a["weight"]), _t(a["bias"]), a["stride"], a["padding"], a["dilation"], a["groups"])
        return _act(y, a["act"]).clamp(*a["clip"]) if "clip" in a else _act(y, a["act"])
    if k == "batchnorm":
        view = (1, -1) + (1,) * (x.dim() - 2)
        return x * _t(a["scale"]).view(view) + _t(a["shift"]).view(view)
    if k == "linear":
        y = F.linear(x, _t(a["weight"]), _t(a["bias"]))
        return _act(y, a["act"]).clamp(*a["clip"]) if "clip" in a else _act(y, a["act"])
    if k in ("add", "mul"):
        other = _t(a["const"]) if "const" in a else xs[1]
        return _act(x + other if k == "add" else x * other, a["act"])
    if k == "mean":
        return x.mean(dim=a["dims"], keepdim=a["keepdim"])
    if k == "maxpool":
        return F.max_pool2d(x, a["kernel"], a["stride"], a["padding"], ceil_mode=a["ceil_mode"])
    if k == "avgpool":
        return F.avg_pool2d(x, a["kernel"], a["stride"], a["padding"], ceil_mode=a["ceil_mode"],
                            count_include_pad=a["count_include_pad"])
    if k == "pad":
        top, bottom, left, right = a["pads"]
        return F.pad(x, (left, right, top, bottom))
    if k == "relu":
        return torch.relu(x)
    if k == "relu6":
        return torch.clamp(x, 0.0, 6.0)
    if k == "hardswish":
        return F.hardswish(x)
    if k == "hardsigmoid":
        return F.hardsigmoid(x)
    if k == "sigmoid":
        return torch.sigmoid(x)
    if k == "softmax":
        return torch.softmax(x, dim=a["dim"])
    if k == "reshape":
        return x.reshape((x.shape[0],) + tuple(shape[1:]))
    if k == "concat":
        return torch.cat(xs, dim=a["dim"])
    raise AssertionError(f"unknown layer kind {k}")


def run_float(fg, x, observe=None) -> list:
    """Outputs (numpy float32) of ``fg`` on the NCHW batch ``x``.

    ``observe(value_name, tensor)`` is called for the input and every layer output (calibration).
    """
    import torch

    with torch.no_grad():
        env = {fg.input: torch.as_tensor(np.asarray(x, dtype=np.float32))}
        if observe:
            observe(fg.input, env[fg.input])
        for layer in fg.layers:
            y = _run_layer(layer, [env[v] for v in layer.inputs], fg.shapes[layer.output])
            env[layer.output] = y
            if observe:
                observe(layer.output, y)
        return [env[v].numpy().copy() for v in fg.outputs]
