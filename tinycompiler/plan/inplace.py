"""Ops that may write their output over a dying input, so both share one arena buffer.

Rules follow what the C kernels guarantee:
- DEPTHWISE_CONV_2D with depth multiplier 1 and an output no larger than its input runs the
  in-place kernel (``tc_depthwise_conv2d_inplace_s8``), which needs one output plane of scratch;
- a 1x1 CONV_2D without padding whose output has no more channels than its input: the 1x1 kernel
  copies input pixel p into its scratch before writing output pixel p, and output pixel p ends
  at or before input pixel p + 1 starts, so no unread input is overwritten;
- element-wise kernels read element i before writing element i (ADD/MUL on an operand shaped
  like the output, RELU, RELU6, LOGISTIC, HARD_SWISH, int8 or float32 -> int8 QUANTIZE), so the
  output may start where that input starts.
"""

from __future__ import annotations

from dataclasses import dataclass

_ELEMENTWISE = ("RELU", "RELU6", "LOGISTIC", "HARD_SWISH", "QUANTIZE")


@dataclass
class InplaceCandidate:
    """``op`` may write ``output`` over ``input`` if ``input`` dies at ``op``; ``scratch`` bytes extra."""

    op: int
    input: int
    output: int
    scratch: int = 0


def _depthwise(op, graph):
    x, y = op.input(graph, 0), op.output(graph)
    if op.attrs.get("depth_multiplier", 1) != 1 or x.shape[-1] != y.shape[-1] or x.shape[0] != y.shape[0]:
        return []
    if y.shape[1] * y.shape[2] > x.shape[1] * x.shape[2]:
        return []
    return [InplaceCandidate(op.index, x.index, y.index, scratch=int(y.shape[1] * y.shape[2]))]


def _pointwise_conv(op, graph):
    x, w, y = op.input(graph, 0), op.input(graph, 1), op.output(graph)
    # a 1x1 filter is never padded (SAME and VALID agree), so this is always the pointwise kernel
    if w.shape[1] != 1 or w.shape[2] != 1 or y.shape[-1] > x.shape[-1]:
        return []
    return [InplaceCandidate(op.index, x.index, y.index)]


def _elementwise(op, graph):
    y = op.output(graph)
    out = []
    for i in op.inputs:
        if i is None or graph.tensors[i].is_const:
            continue
        x = graph.tensors[i]
        if tuple(x.shape) == tuple(y.shape) and x.nbytes >= y.nbytes:
            out.append(InplaceCandidate(op.index, i, y.index))
    return out


def inplace_candidates(graph) -> list:
    """Every (op, input, output) pair whose kernel can run in place, in schedule order."""
    found = []
    for op in graph.ops:
        if op.kind == "DEPTHWISE_CONV_2D":
            found += _depthwise(op, graph)
        elif op.kind == "CONV_2D":
            found += _pointwise_conv(op, graph)
        elif op.kind in ("ADD", "MUL") or op.kind in _ELEMENTWISE:
            found += _elementwise(op, graph)
    return found
