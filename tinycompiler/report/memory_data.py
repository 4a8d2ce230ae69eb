"""The facts every memory report shows, gathered once from the graph and its memory plan.

The text table, the JSON object and the HTML page all format a :class:`MemoryReport`; none of them
looks at the plan directly, so they cannot disagree. All sizes are bytes; steps are op indices.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Optional

from tinycompiler.analysis import analyze

#: buffer kinds as reports colour them ("patch": per-patch buffers of a patch-based stage)
KINDS = ("activation", "scratch", "io", "patch")


@dataclass
class BufferUse:
    """One placed buffer: ``name`` is compact (``t22``, ``op7.scratch``), ``full_name`` the model's.

    ``tensors`` are (tensor index, absolute offset) of the tensors sharing it: views, and outputs
    written over a dying input, possibly shifted from the buffer's start.
    """

    name: str
    full_name: str
    kind: str
    offset: int
    bytes: int
    start: int
    end: int
    tensors: list = field(default_factory=list)


@dataclass
class LayerRow:
    """One op: what it computes and which buffers are alive (placed) while it runs."""

    index: int
    op: str
    output_shape: tuple
    macs: int
    alive_bytes: int
    buffers: list
    is_peak: bool = False
    in_patch_stage: bool = False


@dataclass
class PatchSummary:
    """Patch-based inference, when the plan uses it: ``split`` is the op where patches end."""

    split: Optional[int]
    grid: object
    stage_ops: list
    extra_macs: int
    option: Optional[str] = None  # the --patch value that reproduces it, e.g. "2x4x5"
    details: dict = field(default_factory=dict)


@dataclass
class MemoryReport:
    """Everything ``tinyc plan`` reports. ``code_bytes`` is an estimate (see ``code_note``)."""

    model: str
    model_ops: int  # ops in the model file; ``layers`` are the scheduled ops (codegen passes fold some)
    arena_bytes: int
    lower_bound_bytes: int
    algorithm: str
    macs: int
    weight_bytes: int
    layers: list
    buffers: list
    peak_layer: int
    inplace: list
    patch: Optional[PatchSummary] = None
    code_bytes: Optional[int] = None
    code_note: str = ""
    tflm_arena_bytes: Optional[int] = None
    fit: object = None  # board_fit.Fit when a board was given
    #: the model's inputs and outputs as the generated code takes them: see :func:`io_specs`
    io: dict = field(default_factory=dict)

    @property
    def peak_row(self) -> LayerRow:
        return self.layers[self.peak_layer]

    @property
    def flash_bytes(self) -> int:
        """Weights plus the code estimate (bytes); weights alone when code was not estimated."""
        return self.weight_bytes + (self.code_bytes or 0)

    @property
    def tflm_ratio(self) -> Optional[float]:
        """Our arena / TFLM's smallest arena (below 1 means we need less)."""
        if not self.tflm_arena_bytes:
            return None
        return self.arena_bytes / self.tflm_arena_bytes


def _kind(buffer, io_tensors) -> str:
    if buffer.kind in ("scratch", "patch"):
        return buffer.kind
    # a buffer the input merely starts in (the chain then overwrites it in place) is an activation one
    return "io" if buffer.tensors and all(t in io_tensors for t in buffer.tensors) else "activation"


def _compact_name(buffer) -> str:
    # tflite names are whole op chains (200+ characters); the tensor index is unique and short
    if not buffer.tensors:
        return buffer.name
    return f"t{min(buffer.tensors)}" + (".patch" if buffer.kind == "patch" else "")


def buffer_uses(graph, plan) -> list:
    """Every buffer of ``plan`` with its offset and kind, in the plan's order.

    A ``tail`` buffer (the part of a tensor's bytes freed early, patch plans) is named and
    coloured after the buffer it was cut from: ``t12.tail``.
    """
    io_tensors = set(graph.inputs) | set(graph.outputs)
    heads = {b.name: (_compact_name(b), _kind(b, io_tensors)) for b in plan.buffers if b.tensors}
    uses = []
    for b, off in zip(plan.buffers, plan.offsets):
        name, kind = _compact_name(b), _kind(b, io_tensors)
        if b.kind == "tail" and b.name.endswith(".tail") and b.name[:-5] in heads:
            name, kind = heads[b.name[:-5]][0] + ".tail", heads[b.name[:-5]][1]
        rel = getattr(b, "offsets", None) or {}  # per-tensor offsets inside the buffer, when the planner has them
        tensors = [(int(t), int(off) + int(rel.get(t, 0))) for t in b.tensors]
        uses.append(BufferUse(name, b.name, kind, int(off), int(b.size), int(b.start), int(b.end), tensors))
    return uses


def _attr(obj, *names, default=None):
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def _op_index(x):
    return int(getattr(x, "index", x))


_SKIP = object()


def _jsonable(v):
    """``v`` as plain JSON data (ints, strings, lists), or ``_SKIP`` for anything richer."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if hasattr(v, "__int__") and not isinstance(v, (list, tuple)):  # numpy integers
        return int(v)
    if isinstance(v, (list, tuple)):
        items = [_jsonable(x) for x in v]
        return _SKIP if any(x is _SKIP for x in items) else items
    if isinstance(v, dict):
        items = {str(k): _jsonable(x) for k, x in v.items()}
        return _SKIP if any(x is _SKIP for x in items.values()) else items
    return _SKIP


def _grid(g):
    v = _jsonable(g)
    return str(g) if v is _SKIP else v


def patch_summary(patch) -> Optional[PatchSummary]:
    """The report's view of ``plan.patch``, read defensively: the patch planner is young."""
    if patch is None:
        return None
    split = _attr(patch, "split_op", "split", "split_layer")
    stage = _attr(patch, "stage_ops", "stage", "ops", default=[]) or []
    details = {}
    if callable(getattr(patch, "summary", None)):  # the patch planner's own report fields
        details = {k: v for k, v in patch.summary().items() if _jsonable(v) is not _SKIP}
    elif is_dataclass(patch):
        for f in fields(patch):
            v = _jsonable(getattr(patch, f.name))
            if v is not _SKIP and v is not None:
                details[f.name] = v
    return PatchSummary(
        split=None if split is None else _op_index(split),
        grid=_grid(_attr(patch, "grid", "grid_size", "patches")),
        stage_ops=sorted(_op_index(o) for o in stage),
        extra_macs=int(_attr(patch, "extra_macs", "recompute_macs", default=0) or 0),
        option=_attr(patch, "option"),
        details=details,
    )


def _shape(graph, op) -> tuple:
    return tuple(int(d) for d in graph.tensors[op.outputs[0]].shape) if op.outputs else ()


def scheduled_graph(graph, plan):
    """The graph whose op indices ``plan`` counts (after the codegen passes, e.g. PADs folded into
    convolutions): the one the plan remembers, else ``graph`` itself."""
    return getattr(plan, "graph", None) or graph


def io_specs(plan) -> dict:
    """``{"inputs": [...], "outputs": [...]}``: per tensor its name, dtype, shape, scale and zero
    point as the generated code takes it; ``from_float`` when it stands for a float32 tensor of the
    model file (``--io int8``), ``written_from_float`` when the caller writes float32 that is
    quantized as it is written (:mod:`tinycompiler.passes.boundary_io`)."""
    g = plan.graph
    out = {}
    for what, tensors in (("inputs", g.inputs), ("outputs", g.outputs)):
        rows = []
        for pos, t in enumerate(tensors):
            tensor = g.tensors[t]
            q = tensor.quant
            rows.append({"name": tensor.name, "dtype": tensor.dtype, "shape": [int(d) for d in tensor.shape],
                         "scale": float(q.s) if q is not None else None, "zero_point": q.zp if q is not None else None,
                         "from_float": pos in g.source_io.get(what, {}),
                         "written_from_float": what == "inputs" and pos in g.written_inputs})
        out[what] = rows
    return out


def build_memory_report(graph, plan, *, code=None, tflm_arena_bytes=None, board=None) -> MemoryReport:
    """Gather the report of ``plan`` (a MemoryPlan of ``graph``, the model as loaded).

    Totals (MACs, weight bytes) are the model's; the per-layer rows follow the schedule the plan
    counts. ``code`` is a :class:`~tinycompiler.report.code_size.CodeEstimate` (or None), ``board``
    a :class:`~tinycompiler.report.board_fit.BoardBudget` to check the fit against.
    """
    totals = analyze(graph)
    model = graph
    graph = scheduled_graph(model, plan)
    if plan.alive_bytes and len(plan.alive_bytes) != len(graph.ops):
        raise RuntimeError(f"the plan counts {len(plan.alive_bytes)} steps, the scheduled graph has {len(graph.ops)} ops")
    stats = analyze(graph)
    uses = buffer_uses(graph, plan)
    patch = patch_summary(getattr(plan, "patch", None))
    stage = set(patch.stage_ops) if patch else set()
    alive = list(plan.alive_bytes)
    peak = plan.peak_step if alive else 0
    layers = []
    for op, st in zip(graph.ops, stats.layers):
        here = [u for u in uses if u.start <= op.index <= u.end]
        here.sort(key=lambda u: u.offset)
        n_alive = alive[op.index] if op.index < len(alive) else sum(u.bytes for u in here)
        layers.append(LayerRow(op.index, op.kind, _shape(graph, op), st.macs, n_alive, here,
                               op.index == peak, op.index in stage))
    report = MemoryReport(
        model=model.name,
        model_ops=len(model.ops),
        arena_bytes=int(plan.arena_bytes),
        lower_bound_bytes=int(plan.lower_bound_bytes),
        algorithm=str(plan.algorithm),
        macs=totals.macs,
        weight_bytes=totals.weight_bytes,
        layers=layers,
        buffers=uses,
        peak_layer=peak,
        inplace=list(plan.inplace),
        patch=patch,
        code_bytes=code.bytes if code else None,
        code_note=code.note if code else "code size not estimated",
        tflm_arena_bytes=tflm_arena_bytes,
        io=io_specs(plan) if getattr(plan, "graph", None) is not None else {},
    )
    if board is not None:
        from tinycompiler.report.board_fit import check_fit

        report.fit = check_fit(report, board)
    return report
