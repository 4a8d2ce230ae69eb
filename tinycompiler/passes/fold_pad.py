"""Fold a PAD into the convolution that consumes it, so the padded tensor never exists.

TFLM's int8 PAD fills with its output zero point, which is the convolution's input zero point; a
padded tap then contributes ``(zp - zp) * w = 0``, exactly what the conv kernels do for taps
outside the input. So ``PAD -> CONV_2D/DEPTHWISE_CONV_2D`` equals the conv alone reading the PAD's
input with ``explicit_pads`` = the PAD's amounts (plus the conv's own SAME padding, computed on the
padded size), bit for bit, when:

- the PAD output feeds exactly one op, as that conv's data input, and is not a graph output;
- only H and W are padded (N and C pads are 0), all amounts >= 0;
- the pad value (constant_values, or the output zero point) equals the output zero point, and the
  PAD's input and output have the same int8 quantization (scale and zero point), so the conv may
  read the input with the quantization it was compiled for.

Pools are left alone: AVERAGE_POOL_2D divides by the taps inside the input and MAX_POOL_2D ignores
outside taps, whereas a PAD makes the padded taps count, so folding would change results.
"""

from __future__ import annotations

import numpy as np

from dataclasses import replace

from tinycompiler.ir import Graph
from tinycompiler.ir.graph import Op
from tinycompiler.ir.shapes import conv_pads

_CONVS = ("CONV_2D", "DEPTHWISE_CONV_2D")


def _same_quant(a, b) -> bool:
    return (a is not None and b is not None and np.array_equal(a.scale, b.scale)
            and np.array_equal(a.zero_point, b.zero_point))


def _pad_amounts(pad, graph):
    """(top, bottom, left, right) when ``pad`` may be folded into a consumer, else None."""
    x, y = pad.input(graph, 0), pad.output(graph)
    p = pad.input(graph, 1)
    if p is None or p.data is None or len(x.shape) != 4 or x.dtype != "int8" or y.dtype != "int8":
        return None
    rows = np.asarray(p.data).astype(np.int64).reshape(-1, 2)
    if rows.shape[0] != 4 or np.any(rows < 0) or np.any(rows[0] != 0) or np.any(rows[3] != 0):
        return None
    if not _same_quant(x.quant, y.quant):
        return None
    value = pad.input(graph, 2)
    if value is not None and int(np.asarray(value.data).reshape(-1)[0]) != y.quant.zp:
        return None
    return int(rows[1, 0]), int(rows[1, 1]), int(rows[2, 0]), int(rows[2, 1])


def _conv_pads(conv, graph) -> tuple:
    """The consumer's own (top, bottom, left, right), on its (padded) input."""
    if conv.attrs.get("explicit_pads") is not None:
        return tuple(int(v) for v in conv.attrs["explicit_pads"])
    x, w = conv.input(graph, 0), conv.input(graph, 1)
    a = conv.attrs
    return conv_pads(x.shape[1:3], (int(w.shape[1]), int(w.shape[2])),
                     (int(a.get("stride_h", 1)), int(a.get("stride_w", 1))),
                     (int(a.get("dilation_h", 1)), int(a.get("dilation_w", 1))), a.get("padding", "VALID"))


def fold_pads(graph) -> Graph:
    """A copy of ``graph`` without the PADs that fold into their conv (see the module docstring).

    Tensor indices are kept (the PAD outputs are simply no longer used); ops are renumbered.
    Returns ``graph`` itself when nothing folds.
    """
    replaced = {}  # conv op index -> new conv Op
    dropped = set()
    for pad in graph.ops:
        if pad.kind != "PAD" or pad.outputs[0] in graph.outputs:
            continue
        amounts = _pad_amounts(pad, graph)
        readers = graph.consumers(pad.outputs[0])
        if amounts is None or len(readers) != 1:
            continue
        conv = replaced.get(readers[0].index, readers[0])
        if conv.kind not in _CONVS or conv.inputs[0] != pad.outputs[0] or pad.outputs[0] in conv.inputs[1:]:
            continue
        own = _conv_pads(conv, graph)
        total = tuple(a + b for a, b in zip(amounts, own))
        inputs = [pad.inputs[0]] + list(conv.inputs[1:])
        replaced[conv.index] = Op(conv.index, conv.kind, inputs, list(conv.outputs),
                                  {**conv.attrs, "explicit_pads": total})
        dropped.add(pad.index)
    if not dropped:
        return graph
    ops = []
    for op in graph.ops:
        if op.index in dropped:
            continue
        src = replaced.get(op.index, op)
        ops.append(Op(len(ops), src.kind, list(src.inputs), list(src.outputs), dict(src.attrs)))
    return replace(graph, tensors=list(graph.tensors), ops=ops)
