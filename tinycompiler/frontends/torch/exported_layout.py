"""The input boundary other PyTorch exporters write: an NCHW float32 input, QUANTIZE, TRANSPOSE.

``tinyc convert`` gives a converted model an NHWC input (the permutation is folded into the first
layer's weights). Exporters that keep the PyTorch signature instead (ai-edge-torch, onnx2tf
with ``-kat``) take ``[N, C, H, W]`` float32 and put a QUANTIZE and a TRANSPOSE to NHWC in front
of the first convolution. :func:`with_nchw_input` rewrites a converted graph into that form, so
the tests and benchmarks can measure what such a file costs (and check it against TFLM).
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir.graph import Graph, Op


def with_nchw_input(graph) -> Graph:
    """A copy of ``graph`` (one NHWC input, float32 or int8) taking NCHW float32 instead.

    The new ops are ``QUANTIZE`` (float32 NCHW -> int8 NCHW, the input's own quantization) and
    ``TRANSPOSE`` (perm 0, 2, 3, 1) into the old int8 NHWC tensor. A float32 input's QUANTIZE is
    absorbed into the new one. Tensor indices of the old graph are kept; ops are renumbered.
    """
    if len(graph.inputs) != 1 or len(graph.tensors[graph.inputs[0]].shape) != 4:
        raise TinyCompilerError("with_nchw_input takes a graph with one 4-D NHWC input")
    g = Graph(list(graph.tensors), [], [], list(graph.outputs), graph.name, graph.description)
    x = graph.tensors[graph.inputs[0]]
    ops = list(graph.ops)
    if x.dtype == "float32":
        q = [op for op in ops if x.index in op.inputs]
        if len(q) != 1 or q[0].kind != "QUANTIZE":
            raise TinyCompilerError("with_nchw_input: the float input must be read by one QUANTIZE")
        nhwc = q[0].outputs[0]
        ops.remove(q[0])
    else:
        nhwc = x.index
    t = graph.tensors[nhwc]
    n, h, w, c = (int(d) for d in t.shape)
    f_in = g.add_tensor(f"{x.name}.nchw", (n, c, h, w), "float32")
    q_in = g.add_tensor(f"{x.name}.nchw.int8", (n, c, h, w), "int8", t.quant)
    perm = g.add_tensor(f"{x.name}.perm", (4,), "int32", data=np.array([0, 2, 3, 1], np.int32))
    g.inputs = [f_in.index]
    g.ops = [Op(0, "QUANTIZE", [f_in.index], [q_in.index]), Op(1, "TRANSPOSE", [q_in.index, perm.index], [nhwc])]
    g.ops += [Op(k + 2, op.kind, list(op.inputs), list(op.outputs), dict(op.attrs)) for k, op in enumerate(ops)]
    return g
