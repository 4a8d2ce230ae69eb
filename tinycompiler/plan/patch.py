"""Patch-based inference (MCUNetV2): run the memory-heavy first stage patch by patch.

The stage is a prefix of the schedule (after any QUANTIZE of a graph input, which runs before it)
ending at the *split op*. It may begin with a layout TRANSPOSE from NCHW (as PyTorch exporters
write it): that TRANSPOSE is fused into the stage's reads, the patch copy gathering each patch's
window straight from the NCHW tensor, so the transposed full-size copy never exists. Its output, the *split tensor*, is cut into an ``n x m`` grid; for each
patch the generated code copies the stage input's receptive field (:mod:`.receptive`) into a
dense patch buffer, runs every stage op on patch-sized tensors with the patch's own padding, and
copies the patch of the split tensor into the full tensor. Only one patch's intermediates are
alive at a time; the full stage input and the full split tensor stay alive across the stage. The
rest of the graph runs layer by layer. Overlapping receptive fields are recomputed: the extra
multiply-accumulates are the price.

Option syntax (``--patch``, ``plan_for_codegen(patch=...)``, ``HostTarget(patch=...)``):

* ``off`` (or ``None``): layer by layer.
* ``auto``: search the split op and grid for the smallest planned arena among candidates whose
  extra MACs are at most 20% of the model's MACs; ``auto:F`` sets that bound to the fraction ``F``
  (``auto:0.1``). Falls back to layer by layer when no candidate has a smaller arena. The chosen
  plan's ``search`` records the Pareto front of peak bytes against extra MACs and why it won.
* ``NxMxK``: grid of ``N`` rows by ``M`` columns of patches, split after op ``K`` (its index in
  the schedule), e.g. ``2x2x5``. No MAC bound applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Optional

from tinycompiler.analysis import op_macs
from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir.graph import Op
from tinycompiler.plan.receptive import (STAGE_OPS, Region, RegionError, grid_patches, patch_pads,
                                         stage_regions, stage_windows)

#: the default bound on recomputed MACs, as a fraction of the model's MACs
DEFAULT_MAX_EXTRA_MACS = 0.20
#: largest number of patch rows (or columns) the search tries
MAX_GRID = 8
#: most candidates the search plans fully (each runs the in-place merge and the placement)
_PLACED_CANDIDATES = 8

_SYNTAX = "use off, auto, auto:F (F = bound on extra MACs, e.g. 0.2) or NxMxK (grid NxM, split after op K, e.g. 2x2x5)"


@dataclass
class PatchPlan:
    """Where the graph splits and how the stage is tiled.

    ``stage_ops``: op indices run per patch (ending at ``split_op``); ``input_tensor``: the full
    tensor the stage reads; ``split_tensor``: the full tensor it writes; ``patches``: per patch
    (row-major over the grid), tensor index -> :class:`Region` of every stage activation;
    ``extra_macs``: MACs recomputed in overlapping halos (all patches minus the stage run once);
    ``model_macs``: MACs of the whole graph run layer by layer; ``peak_bytes``: the planned arena
    (bytes), set by the planner. ``source_tensor``: the full tensor the patch copy reads (the
    stage input, or the NCHW input of a leading TRANSPOSE, then in ``lead_ops``);
    ``source_layout``: "NHWC" or "NCHW".
    """

    split_op: int
    grid: tuple
    stage_ops: list
    input_tensor: int
    split_tensor: int
    patches: list
    extra_macs: int
    model_macs: int
    peak_bytes: int = 0
    buffer_bytes: dict = field(default_factory=dict)
    source_tensor: int = None
    source_layout: str = "NHWC"
    lead_ops: list = field(default_factory=list)
    #: what ``--patch auto`` weighed (set by :func:`search_patch_plan`): see :func:`search_report`
    search: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.source_tensor is None:
            self.source_tensor = self.input_tensor

    @property
    def body_ops(self) -> list:
        """The stage ops that run on each patch (``stage_ops`` without a fused lead TRANSPOSE)."""
        return [i for i in self.stage_ops if i not in self.lead_ops]

    @property
    def extra_macs_ratio(self) -> float:
        """Extra MACs as a fraction of the model's MACs."""
        return self.extra_macs / self.model_macs if self.model_macs else 0.0

    @property
    def option(self) -> str:
        """The option string that reproduces this plan (``NxMxK``)."""
        return f"{self.grid[0]}x{self.grid[1]}x{self.split_op}"

    def summary(self) -> dict:
        """What reports show: split op, grid, extra MACs and the planned peak (bytes)."""
        d = {"split": self.split_op, "grid": f"{self.grid[0]}x{self.grid[1]}",
             "stage_ops": [self.stage_ops[0], self.stage_ops[-1]], "extra_macs": self.extra_macs,
             "extra_macs_pct": round(100.0 * self.extra_macs_ratio, 2), "peak_bytes": self.peak_bytes,
             "fused_transpose": bool(self.lead_ops)}
        if self.search:
            d["search"] = self.search
        return d


# ------------------------------------------------------------------------------------------------
# which prefixes may be a stage


def stage_start(graph) -> int:
    """Index of the first op a stage may hold. Before it run, layer by layer: QUANTIZE ops of graph
    inputs, and RESHAPE/SQUEEZE views of those inputs (a view shares its input's bytes, so the
    whole tensor it gives costs nothing extra)."""
    from tinycompiler.ir import VIEW_OPS

    k, whole = 0, set(graph.inputs)
    while k < len(graph.ops):
        op = graph.ops[k]
        if not (op.kind == "QUANTIZE" or op.kind in VIEW_OPS) or op.inputs[0] not in whole:
            break
        whole.update(op.outputs)
        k += 1
    return k


def _spatial(t) -> bool:
    return t.dtype == "int8" and len(t.shape) == 4 and int(t.shape[0]) == 1 and t.data is None


def _op_fits(op, graph) -> bool:
    """Whether ``op`` may run on patches: spatial int8 NHWC in and out, padding only along H/W."""
    if op.kind not in STAGE_OPS or len(op.outputs) != 1 or not _spatial(op.output(graph)):
        return False
    x = op.input(graph, 0)
    if x is None or not _spatial(x):
        return False
    if op.kind == "ADD":
        y = op.input(graph, 1)
        return y is not None and _spatial(y) and tuple(x.shape) == tuple(y.shape) == tuple(op.output(graph).shape)
    if op.kind == "PAD":
        p = op.input(graph, 1)
        if p is None or p.data is None or len(op.inputs) > 2:
            return False
        p = p.data.reshape(-1, 2)
        return p.shape[0] == 4 and not p[0].any() and not p[3].any() and (p >= 0).all()
    if op.kind == "QUANTIZE" or op.kind in ("RELU", "RELU6", "LOGISTIC", "HARD_SWISH"):
        return tuple(x.shape) == tuple(op.output(graph).shape)
    return True


#: TRANSPOSE perm from NCHW to NHWC, the only one fused into a stage's reads
NCHW_TO_NHWC = (0, 2, 3, 1)


def _nchw_lead(op, graph) -> bool:
    """Whether ``op`` is a TRANSPOSE NCHW -> NHWC of an int8 activation (fusable into the reads)."""
    if op.kind != "TRANSPOSE" or len(op.outputs) != 1:
        return False
    x, perm = op.input(graph, 0), op.input(graph, 1)
    if x is None or perm is None or perm.data is None or not _spatial(x) or not _spatial(op.output(graph)):
        return False
    return tuple(int(v) for v in perm.data.reshape(-1)) == NCHW_TO_NHWC


def stage_candidates(graph) -> list:
    """Every valid stage as ``(stage_ops, input_tensor, split_tensor, lead_ops)``, shortest first.

    A stage is the schedule from :func:`stage_start` to a split op, every op of which fits
    :func:`_op_fits`, reads only the one stage input or tensors of the stage, and whose tensors
    other than the split tensor are read only inside the stage (not graph outputs). It may begin
    with a TRANSPOSE NCHW -> NHWC (``lead_ops``) whose output then is the stage input, read only
    inside the stage.
    """
    start = stage_start(graph)
    if start >= len(graph.ops):
        return []
    lead = []
    if _nchw_lead(graph.ops[start], graph) and graph.ops[start].outputs[0] not in graph.outputs:
        lead = [start]
        start += 1
        if start >= len(graph.ops):
            return []
    x = graph.ops[lead[0]].outputs[0] if lead else graph.ops[start].inputs[0]
    produced, found = set(), []
    for k in range(start, len(graph.ops)):
        op = graph.ops[k]
        if not _op_fits(op, graph):
            break
        acts = [t for t in op.inputs[: 2 if op.kind == "ADD" else 1]]
        if any(t != x and t not in produced for t in acts):
            break
        produced.add(op.outputs[0])
        stage = lead + list(range(start, k + 1))
        inner = produced - {op.outputs[0]}
        if lead:
            inner = inner | {x}
        if any(t in graph.outputs for t in inner):
            continue
        if all(c.index in stage for t in inner for c in graph.consumers(t)):
            found.append((stage, x, op.outputs[0], lead))
    return found


# ------------------------------------------------------------------------------------------------
# building one plan


def _stage_macs(graph, stage_ops, regions) -> int:
    """MACs of the stage ops on one patch's regions (per-pixel MACs times patch pixels)."""
    total = 0
    for i in stage_ops:
        op = graph.ops[i]
        y = op.output(graph)
        full = int(y.shape[1]) * int(y.shape[2])
        total += op_macs(graph, op) * regions[op.outputs[0]].pixels // max(full, 1)
    return total


def make_patch_plan(graph, split_op: int, grid: tuple, stages: Optional[list] = None) -> PatchPlan:
    """The :class:`PatchPlan` for a given split op and grid; TinyCompilerError when impossible.

    ``stages``: :func:`stage_candidates` of the graph when the caller already has them.
    """
    n, m = (int(v) for v in grid)
    stages = {s[0][-1]: s for s in (stages if stages is not None else stage_candidates(graph))}
    if split_op not in stages:
        ok = ", ".join(str(k) for k in sorted(stages)) or "none"
        raise TinyCompilerError(f"op {split_op} cannot end a patch stage; valid split ops: {ok}")
    full_ops, x, split, lead = stages[split_op]
    stage_ops = [i for i in full_ops if i not in lead]
    _, h, w, _ = graph.tensors[split].shape
    if not (1 <= n <= h and 1 <= m <= w):
        raise TinyCompilerError(f"grid {n}x{m} does not fit the {h}x{w} split tensor of op {split_op}; "
                                f"use at most {h}x{w}")
    windows = stage_windows(graph, stage_ops)
    try:
        patches = [stage_regions(graph, stage_ops, split, p, windows) for p in grid_patches(int(h), int(w), (n, m))]
        for regions in patches:  # every window op must be able to run on its region
            for i in windows:
                op = graph.ops[i]
                patch_pads(op, graph, regions[op.inputs[0]], regions[op.outputs[0]], windows[i])
    except RegionError as e:
        raise TinyCompilerError(f"patch grid {n}x{m} split after op {split_op}: {e}") from None
    model_macs = sum(op_macs(graph, op) for op in graph.ops)
    once = sum(op_macs(graph, graph.ops[i]) for i in stage_ops)
    extra = sum(_stage_macs(graph, stage_ops, r) for r in patches) - once
    sizes = {}
    for regions in patches:
        for t, r in regions.items():
            sizes[t] = max(sizes.get(t, 0), r.pixels * int(graph.tensors[t].shape[3]))
    source = graph.ops[lead[0]].inputs[0] if lead else x
    return PatchPlan(split_op, (n, m), list(full_ops), x, split, patches, extra, model_macs,
                     buffer_bytes=sizes, source_tensor=source, source_layout="NCHW" if lead else "NHWC",
                     lead_ops=list(lead))


def parse_patch_option(text) -> Optional[tuple]:
    """``None`` (off), ``("auto", bound)`` or ``("grid", (n, m), split_op)`` from an option string."""
    if text is None:
        return None
    s = str(text).strip().lower()
    if s in ("off", "none", ""):
        return None
    if s == "auto":
        return ("auto", DEFAULT_MAX_EXTRA_MACS)
    m = re.fullmatch(r"auto:([0-9]*\.?[0-9]+)", s)
    if m:
        return ("auto", float(m.group(1)))
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)", s)
    if m:
        n, c, k = (int(v) for v in m.groups())
        if n < 1 or c < 1:
            raise TinyCompilerError(f"patch grid {n}x{c} needs at least one row and column; {_SYNTAX}")
        return ("grid", (n, c), k)
    raise TinyCompilerError(f"bad patch option {text!r}; {_SYNTAX}")


# ------------------------------------------------------------------------------------------------
# the graph the arena planner sees


def planning_graph(graph, pp: PatchPlan) -> tuple:
    """(graph', patch_input, patch_output): a copy of ``graph`` whose lifetimes are the stage's.

    In graph' every stage intermediate is resized to its largest patch (bytes), the stage ops read
    a new ``patch_input`` tensor (the copied receptive field) instead of the stage input and the
    split op writes a new ``patch_output``; the full source tensor (the stage input, or the NCHW
    tensor a fused lead TRANSPOSE reads) is read by the split op (alive across the stage) and the
    full split tensor is written by the first stage op (alive from the first patch on). A fused
    lead TRANSPOSE reads the source and writes ``patch_input`` (it is the gathering copy), so its
    full-size output is never planned. Stage ops are renamed ``PATCH_<kind>`` so no in-place rule
    applies to them: those rules reason about whole tensors, not per-patch shapes.
    """
    tensors = list(graph.tensors)
    stage = set(pp.stage_ops)
    for i in pp.body_ops:
        t = graph.ops[i].outputs[0]
        if t != pp.split_tensor:
            tensors[t] = replace(tensors[t], shape=(pp.buffer_bytes[t],))
    p_in = len(tensors)
    tensors.append(replace(graph.tensors[pp.input_tensor], index=p_in, name="patch.input",
                           shape=(pp.buffer_bytes[pp.input_tensor],)))
    p_out = len(tensors)
    tensors.append(replace(graph.tensors[pp.split_tensor], index=p_out, name="patch.output",
                           shape=(pp.buffer_bytes[pp.split_tensor],)))
    ops = []
    for op in graph.ops:
        if op.index not in stage:
            ops.append(op)
            continue
        if op.index in pp.lead_ops:
            inputs, outputs = [pp.source_tensor], [p_in]
        else:
            inputs = [p_in if t == pp.input_tensor else t for t in op.inputs]
            outputs = list(op.outputs)
        if op.index == pp.split_op:
            inputs.append(pp.source_tensor)
            outputs = [p_out]
        if op.index == pp.stage_ops[0]:
            outputs.append(pp.split_tensor)
        ops.append(Op(op.index, "PATCH_" + op.kind, inputs, outputs, dict(op.attrs)))
    g = replace(graph, tensors=tensors, ops=ops)
    return g, p_in, p_out


# ------------------------------------------------------------------------------------------------
# the search


def candidate_plans(graph, max_extra_macs: float = DEFAULT_MAX_EXTRA_MACS, max_grid: int = MAX_GRID) -> list:
    """Every feasible PatchPlan (grids up to ``max_grid`` per side, not 1x1) within the MAC bound."""
    from tinycompiler.progress import Bar

    plans = []
    stages = stage_candidates(graph)
    model_macs = sum(op_macs(graph, op) for op in graph.ops)
    tries = []
    for stage_ops, _, split, _ in stages:
        _, h, w, _ = graph.tensors[split].shape
        tries += [(stage_ops[-1], (n, m)) for n in range(1, min(int(h), max_grid) + 1)
                  for m in range(1, min(int(w), max_grid) + 1) if n * m > 1]
    with Bar(len(tries), "patch search: grids tried") as bar:
        for k, (split_op, grid) in enumerate(tries):
            bar.update(k)
            try:
                pp = make_patch_plan(graph, split_op, grid, stages)
            except TinyCompilerError:
                continue
            if pp.extra_macs <= max_extra_macs * model_macs:
                plans.append(pp)
        bar.update(len(tries))
    return plans


def _busiest(buffers, lo: int, hi: int) -> int:
    """Bytes alive at the busiest step in ``[lo, hi]`` (0 for an empty range)."""
    return max((sum(b.size for b in buffers if b.start <= s <= b.end) for s in range(lo, hi + 1)), default=0)


#: most extra full plans the Pareto sweep makes (beyond the search for the smallest peak)
_FRONT_PLANS = 16
#: most finalists (lowest bytes-alive bound first) placed again with the polish
_POLISHED = 4


def _point(option, peak, macs, model_macs) -> dict:
    return {"option": option, "peak_bytes": int(peak), "extra_macs": int(macs),
            "extra_macs_pct": round(100.0 * macs / model_macs, 2) if model_macs else 0.0}


def search_patch_plan(graph, scratch_bytes=None, max_extra_macs: float = DEFAULT_MAX_EXTRA_MACS,
                      max_grid: int = MAX_GRID) -> Optional[PatchPlan]:
    """The PatchPlan with the smallest planned arena, or None when layer by layer is as small.

    A candidate's arena is at least the bytes alive at the busiest step of its stage (cheap to
    get: no in-place rule applies inside a stage), of the steps before it (the same for every
    candidate) and of the steps after its split op (the same for every grid of that split). The
    search plans candidates fully in the order of that bound, learning the two other floors from
    each full plan, and stops once no candidate can beat the best; ties go to fewer extra MACs.
    At most ``_PLACED_CANDIDATES`` full plans after the first floors are known.

    Then a sweep in order of extra MACs traces the trade-off: a candidate joins the Pareto front
    (peak bytes vs extra MACs, the layer plan at 0 MACs first) when its full plan beats every
    cheaper one; candidates whose bound cannot beat the front so far are skipped unplanned. The
    returned plan's ``search`` holds the front and why this plan was chosen.
    """
    import heapq

    from tinycompiler.plan.planner import patch_buffers, plan_memory
    from tinycompiler.progress import Bar

    if scratch_bytes is not None:  # the kernel choice behind it is costly and asked per candidate
        memo = {op.index: int(scratch_bytes(op, graph)) for op in graph.ops}
        scratch_bytes = lambda op, _g: memo[op.index]  # noqa: E731
    layered = plan_memory(graph, scratch_bytes)
    heap = []
    candidates = candidate_plans(graph, max_extra_macs, max_grid)
    with Bar(len(candidates), "patch search: candidates ranked") as bar:
        for k, pp in enumerate(candidates):
            buffers, _, _ = patch_buffers(graph, pp, scratch_bytes, inplace=False)
            heap.append((_busiest(buffers, pp.stage_ops[0], pp.split_op), pp.extra_macs, k, pp))
            bar.update(k + 1)
    bounds = {k: est for est, _, k, _ in heap}
    heapq.heapify(heap)
    peaks, lows = {}, {}  # candidate index -> planned arena, its bytes-alive bound (bytes)
    pre_floor, rest_floor, best, planned = 0, {}, None, 0

    def full(k, pp):
        """Plan candidate k fully; learn the floors before its stage and after its split."""
        nonlocal pre_floor
        plan = plan_memory(graph, scratch_bytes, patch=pp, polish=False)
        alive = plan.alive_bytes
        pre_floor = max(pre_floor, max(alive[: pp.stage_ops[0]], default=0))
        rest_floor[pp.split_op] = max(alive[pp.split_op + 1:], default=0)
        peaks[k], lows[k] = plan.arena_bytes, plan.lower_bound_bytes
        return plan

    while heap and planned < _PLACED_CANDIDATES:
        est, macs, k, pp = heapq.heappop(heap)
        if best is not None and (est, macs) >= (best.peak_bytes, best.extra_macs):
            break
        floor = max(est, pre_floor, rest_floor.get(pp.split_op, 0))
        if floor > est:  # a floor learnt since it was ranked: rank it again
            heapq.heappush(heap, (floor, macs, k, pp))
            continue
        plan = full(k, pp)
        planned += 1
        if best is None or (plan.arena_bytes, macs) < (best.peak_bytes, best.extra_macs):
            best = plan.patch
    model_macs = sum(op_macs(graph, op) for op in graph.ops)
    top, swept = layered.arena_bytes, 0
    for k in sorted(range(len(candidates)), key=lambda i: (candidates[i].extra_macs, bounds[i])):
        pp = candidates[k]
        if max(bounds[k], pre_floor, rest_floor.get(pp.split_op, 0)) >= top:
            continue
        if k not in peaks:
            if swept >= _FRONT_PLANS:
                continue
            full(k, pp)
            swept += 1
        top = min(top, peaks[k])
    if best is None:
        return None
    # the finalists get the placement polish (random restarts) the search skipped: the polish
    # can only bring a plan down towards its bytes-alive bound, so those are tried lowest bound first
    polished = {}
    for k in sorted(peaks, key=lambda k: (lows[k], peaks[k], candidates[k].extra_macs)):
        if len(polished) == _POLISHED or (polished and lows[k] >= min(polished.values())):
            break
        polished[k] = peaks[k] if peaks[k] == lows[k] else plan_memory(graph, scratch_bytes, patch=candidates[k]).arena_bytes
    peaks.update(polished)
    k_best = min(polished, key=lambda k: (polished[k], candidates[k].extra_macs))
    best = replace(candidates[k_best], peak_bytes=polished[k_best])
    if best.peak_bytes >= layered.arena_bytes:
        return None
    front = [_point("off", layered.arena_bytes, 0, model_macs)]
    for k in sorted(peaks, key=lambda i: (candidates[i].extra_macs, peaks[i])):
        if peaks[k] < front[-1]["peak_bytes"]:
            front.append(_point(candidates[k].option, peaks[k], candidates[k].extra_macs, model_macs))
    ties = any(peaks[k] == best.peak_bytes and k != k_best for k in peaks)
    why = (f"the smallest peak of {len(candidates)} candidates (split op, grid up to {max_grid}x{max_grid}) "
           f"within the extra-MAC bound of {100 * max_extra_macs:g}% of the model's MACs"
           + ("; ties go to fewer extra MACs" if ties else "")
           + f"; the {len(polished)} closest were placed again with random restarts")
    best.search = {"bound_pct": round(100 * max_extra_macs, 2), "candidates": len(candidates),
                   "planned": len(peaks), "front": front, "chosen": best.option, "why": why}
    return best


def resolve_patch(graph, patch, scratch_bytes=None) -> Optional[PatchPlan]:
    """A PatchPlan (or None) from an option string, a PatchPlan, or None."""
    if patch is None or isinstance(patch, PatchPlan):
        return patch
    parsed = parse_patch_option(patch)
    if parsed is None:
        return None
    if parsed[0] == "auto":
        return cached_search(graph, scratch_bytes, parsed[1])
    return make_patch_plan(graph, parsed[2], parsed[1])


def cached_search(graph, scratch_bytes=None, max_extra_macs: float = DEFAULT_MAX_EXTRA_MACS,
                  max_grid: int = MAX_GRID) -> Optional[PatchPlan]:
    """:func:`search_patch_plan`, answered from the disk cache when this very search ran before
    (:mod:`tinycompiler.plan.search_cache`); the plan is rebuilt from the kept option."""
    from tinycompiler.plan import search_cache

    scratch = {op.index: int(scratch_bytes(op, graph)) if scratch_bytes is not None else 0 for op in graph.ops}
    key = search_cache.search_key(graph, scratch, (max_extra_macs, max_grid, _PLACED_CANDIDATES, _FRONT_PLANS,
                                                   _POLISHED))
    hit = search_cache.load(key)
    if hit is not None:
        option, search = hit
        if option is None:
            return None
        parsed = parse_patch_option(option)
        try:
            pp = make_patch_plan(graph, parsed[2], parsed[1])
        except TinyCompilerError:
            pp = None  # an entry that no longer fits this graph: search again
        if pp is not None:
            pp.search = search
            return pp
    best = search_patch_plan(graph, lambda op, _g: scratch[op.index], max_extra_macs, max_grid)
    search_cache.store(key, None if best is None else best.option, {} if best is None else best.search)
    return best


__all__ = ["DEFAULT_MAX_EXTRA_MACS", "PatchPlan", "Region", "candidate_plans", "make_patch_plan",
           "parse_patch_option", "planning_graph", "resolve_patch", "search_patch_plan", "stage_candidates"]
