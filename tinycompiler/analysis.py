"""Per-layer statistics of a graph, for ``tinyc inspect`` and reports.

Definitions (they reproduce the MACs and weight bytes listed for the reference models):

- **MACs** (multiply-accumulates of one inference):
  CONV_2D ``out_h * out_w * out_c * kh * kw * in_c_per_group`` (times batch);
  DEPTHWISE_CONV_2D ``out_h * out_w * out_c * kh * kw`` (times batch);
  FULLY_CONNECTED ``rows * units * inputs``. Every other op counts 0: their work (adds, pooling,
  softmax, requantization) is small next to the layers above and not multiply-accumulate work.
- **weight bytes**: bytes of the constant tensors an op reads (filters, biases and constant
  parameters such as PAD's paddings). The model total counts each constant tensor once.
- **activation bytes**: bytes of the op's non-constant inputs plus its outputs: what must be live
  in RAM while the op runs (before any in-place trick), so the largest value is a lower bound on
  the activation arena.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tinycompiler.ir import Graph, Op, Quant

#: ops with multiply-accumulate work counted in MACs
MAC_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass
class LayerStats:
    """Statistics of one op."""

    index: int
    kind: str
    input_shapes: list
    output_shapes: list
    macs: int
    weight_bytes: int
    activation_bytes: int
    quant: str


@dataclass
class ModelStats:
    """Statistics of a whole graph: per-layer rows and totals."""

    name: str
    layers: list = field(default_factory=list)
    macs: int = 0
    weight_bytes: int = 0
    peak_activation_bytes: int = 0
    peak_layer: int = -1
    op_counts: dict = field(default_factory=dict)


def op_macs(graph: Graph, op: Op) -> int:
    """Multiply-accumulates of one op (see the module docstring for the definitions)."""
    if op.kind not in MAC_OPS:
        return 0
    x = op.input(graph, 0)
    w = op.input(graph, 1)
    out = op.output(graph, 0)
    if op.kind == "FULLY_CONNECTED":
        units, inputs = w.shape
        rows = x.size // inputs if inputs else 0
        return rows * units * inputs
    n, oh, ow, oc = out.shape
    _, kh, kw, wc = w.shape
    if op.kind == "CONV_2D":
        return n * oh * ow * oc * kh * kw * wc  # wc is the input channels per group
    return n * oh * ow * oc * kh * kw


def op_weight_bytes(graph: Graph, op: Op) -> int:
    """Bytes of the constant tensors an op reads."""
    return sum(graph.tensors[i].nbytes for i in set(op.inputs) if i is not None and graph.tensors[i].is_const)


def op_activation_bytes(graph: Graph, op: Op) -> int:
    """Bytes of an op's non-constant inputs plus its outputs."""
    ins = {i for i in op.inputs if i is not None and not graph.tensors[i].is_const}
    return sum(graph.tensors[i].nbytes for i in ins | set(op.outputs))


def _fmt_scale(s: float) -> str:
    return f"{s:.3g}"


def quant_text(q: Quant, dtype: str) -> str:
    """Short quantization text: ``s=0.0235 zp=-128``, ``per-channel x64 @0``, or the dtype."""
    if q is None:
        return dtype if dtype != "int8" else "unquantized"
    if q.per_channel:
        return f"per-channel x{q.scale.size} @{q.axis}"
    return f"s={_fmt_scale(q.s)} zp={q.zp}"


def op_quant_summary(graph: Graph, op: Op) -> str:
    """Output quantization, plus the filter's for conv/depthwise/FC: ``s=0.02 zp=-128; w per-channel x16``."""
    out = op.output(graph, 0)
    text = quant_text(out.quant, out.dtype)
    if op.kind == "QUANTIZE":
        text = f"{op.input(graph, 0).dtype} -> {text}"
    if op.kind in MAC_OPS:
        w = op.input(graph, 1)
        if w.quant is not None and w.quant.per_channel:
            text += f"; w per-channel x{w.quant.scale.size}"
        else:
            text += f"; w {quant_text(w.quant, w.dtype)}"
    return text


def analyze(graph: Graph) -> ModelStats:
    """Per-layer statistics and totals of a graph."""
    stats = ModelStats(name=graph.name)
    const_used = set()
    for op in graph.ops:
        row = LayerStats(
            index=op.index,
            kind=op.kind,
            input_shapes=[tuple(graph.tensors[i].shape) for i in op.inputs if i is not None],
            output_shapes=[tuple(graph.tensors[i].shape) for i in op.outputs],
            macs=op_macs(graph, op),
            weight_bytes=op_weight_bytes(graph, op),
            activation_bytes=op_activation_bytes(graph, op),
            quant=op_quant_summary(graph, op),
        )
        stats.layers.append(row)
        stats.macs += row.macs
        const_used.update(i for i in op.inputs if i is not None and graph.tensors[i].is_const)
        if row.activation_bytes > stats.peak_activation_bytes:
            stats.peak_activation_bytes = row.activation_bytes
            stats.peak_layer = op.index
    stats.weight_bytes = sum(graph.tensors[i].nbytes for i in const_used)
    stats.op_counts = dict(Counter(op.kind for op in graph.ops))
    return stats


def _shape_text(shape) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def _tensor_text(graph: Graph, i: int) -> str:
    t = graph.tensors[i]
    if t.quant is None and t.dtype != "int8":
        return f"{_shape_text(t.shape)} {t.dtype}"
    return f"{_shape_text(t.shape)} {t.dtype} ({quant_text(t.quant, t.dtype)})"


def op_counts_text(graph: Graph) -> str:
    """``CONV_2D 5, DEPTHWISE_CONV_2D 4, SOFTMAX`` in first-appearance order."""
    counts = Counter(op.kind for op in graph.ops)
    order = list(dict.fromkeys(op.kind for op in graph.ops))
    return ", ".join(k if counts[k] == 1 else f"{k} {counts[k]}" for k in order)


def format_inspect(graph: Graph) -> str:
    """A plain-text table of the layers with shapes, quantization, MACs, weight and activation bytes."""
    st = analyze(graph)
    header = ("#", "op", "output", "MACs", "weights B", "act B", "quantization (out; filter)")
    rows = [
        (
            str(r.index),
            r.kind,
            ", ".join(_shape_text(s) for s in r.output_shapes),
            f"{r.macs:,}" if r.macs else "-",
            f"{r.weight_bytes:,}" if r.weight_bytes else "-",
            f"{r.activation_bytes:,}",
            r.quant,
        )
        for r in st.layers
    ]
    total = ("", "total", "", f"{st.macs:,}", f"{st.weight_bytes:,}", f"{st.peak_activation_bytes:,} peak", "")
    widths = [max(len(row[c]) for row in [header, total] + rows) for c in range(len(header))]
    right = {0, 3, 4, 5}

    def line(row):
        cells = [row[c].rjust(widths[c]) if c in right else row[c].ljust(widths[c]) for c in range(len(row))]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [f"model: {graph.name}" + (f"  ({graph.description})" if graph.description else "")]
    out += [f"input  {i}: {_tensor_text(graph, i)}" for i in graph.inputs]
    out += [f"output {i}: {_tensor_text(graph, i)}" for i in graph.outputs]
    out += [f"ops: {len(graph.ops)}  ({op_counts_text(graph)})", "", line(header), rule]
    out += [line(r) for r in rows]
    out += [rule, line(total), ""]
    peak = f" (op {st.peak_layer})" if st.peak_layer >= 0 else ""
    out.append(
        f"MACs {st.macs:,}  |  weights {st.weight_bytes:,} B  |  largest layer activations "
        f"{st.peak_activation_bytes:,} B{peak} (a lower bound on the arena)"
    )
    return "\n".join(out)
