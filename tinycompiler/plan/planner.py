"""The memory plan: every activation and scratch buffer of a model placed in one arena."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Optional

from tinycompiler.plan.allocators import arena_size, best_placement, crowding, lower_bound, past_seams
from tinycompiler.plan.buffers import Buffer, TensorGroups, align_up, group_buffers, group_lifetimes
from tinycompiler.plan.inplace import merge_inplace
from tinycompiler.plan.lifetimes import tensor_lifetimes, view_roots


@dataclass
class MemoryPlan:
    """Where everything lives in the arena.

    ``arena_bytes`` is the whole arena (activations, scratch, I/O): the number compiled into the
    firmware. ``tensor_offsets`` maps tensor index -> byte offset; ``scratch`` maps op index ->
    (offset, bytes); ``inplace`` lists the op indices that write over their input.
    """

    arena_bytes: int
    tensor_offsets: dict
    scratch: dict
    buffers: list
    offsets: list
    algorithm: str
    lower_bound_bytes: int
    steps: int = 0
    alive_bytes: list = field(default_factory=list)
    inplace: list = field(default_factory=list)
    #: the PatchPlan when the first stage runs patch by patch (see :mod:`tinycompiler.plan.patch`)
    patch: object = None
    #: "input"/"output" -> (offset, bytes) of the dense patch buffers the stage copies into/out of
    patch_buffers: dict = field(default_factory=dict)
    #: the graph this plan was made for (its op indices are the plan's steps): after codegen
    #: passes such as PAD folding, it may differ from the model as loaded
    graph: object = None
    #: arena offsets where the arena continues in the next RAM region (no buffer straddles one)
    seams: tuple = ()

    def parts(self) -> list:
        """(start offset, bytes) of the arena's share in each region, split at the seams: the
        bytes up to the end of the last buffer before each seam, then the rest."""
        bounds = [0, *self.seams, None]
        out = []
        for lo, hi in zip(bounds, bounds[1:]):
            ends = [o + b.size for b, o in zip(self.buffers, self.offsets) if o >= lo and (hi is None or o < hi)]
            out.append((lo, max(ends, default=lo) - lo))
        return out

    def alive_at(self, step: int) -> list:
        """(buffer, offset) pairs alive at ``step``."""
        return [(b, o) for b, o in zip(self.buffers, self.offsets) if b.start <= step <= b.end]

    @property
    def peak_step(self) -> int:
        """The op index at which the most bytes are alive."""
        return max(range(len(self.alive_bytes)), key=lambda s: self.alive_bytes[s]) if self.alive_bytes else 0


#: union of tensors that share one buffer (views, in-place and lagged outputs, at relative offsets)
_Groups = TensorGroups
_group_lifetimes = group_lifetimes


def _buffers(graph, groups, life, scratch) -> list:
    return group_buffers(graph, groups, life, scratch)


def collect_buffers(graph, scratch_bytes: Optional[Callable] = None, inplace: bool = True,
                    refine: Optional[Callable] = None) -> tuple:
    """(buffers, in-place op indices): one buffer per group of tensors sharing bytes, plus scratch.

    An in-place candidate is taken only when its input's whole group dies at that op (no later
    reader, not a graph output), so overwriting it loses nothing, and only when it does not raise
    the bytes alive at the busiest step (the merged buffer keeps the larger of the two sizes for
    the output's whole life, which can cost more than it saves). ``refine(buffers) -> buffers``
    rewrites every buffer list before it is judged (the patch planner frees dead tails).
    """
    life = tensor_lifetimes(graph)
    groups = _Groups()
    for t, r in view_roots(graph).items():
        groups.union(r, t)
    scratch = {op.index: int(scratch_bytes(op, graph)) if scratch_bytes is not None else 0 for op in graph.ops}
    inplace_ops = []
    if inplace:
        groups, scratch, inplace_ops = merge_inplace(
            graph, groups, life, scratch, lambda g, sc: (refine or list)(_buffers(graph, g, life, sc)))
    return _buffers(graph, groups, life, scratch), inplace_ops


def plan_memory(graph, scratch_bytes: Optional[Callable] = None, algorithms=None, inplace: bool = True,
                patch=None, seams=(), polish: bool = True) -> MemoryPlan:
    """Plan one arena for ``graph``; ``scratch_bytes(op, graph)`` gives each op's scratch (bytes).

    Tries every registered placement algorithm (or ``algorithms``) and keeps the smallest arena.
    ``patch`` (a :class:`~tinycompiler.plan.patch.PatchPlan`) plans the stage's per-patch buffers
    (sized for the largest patch, alive only during the stage) instead of its full tensors.
    ``seams``: arena offsets no buffer may straddle, where the arena continues in another SRAM
    region (one arena per region, addressed as one offset range). ``polish``: for a patch plan,
    spend :data:`POLISH_BUDGET` on random placement restarts (the patch search ranks its
    candidates without them, then polishes the one it keeps).
    """
    seams = tuple(sorted(seams))
    if patch is not None:
        return _plan_patched(graph, scratch_bytes, algorithms, inplace, patch, seams, polish)
    buffers, inplace_ops = collect_buffers(graph, scratch_bytes, inplace)
    name, offsets = best_placement(buffers, algorithms, seams)
    return _assemble(graph, buffers, offsets, name, inplace_ops, seams=seams)


def _assemble(graph, buffers, offsets, algorithm, inplace_ops, patch=None, seams=()) -> MemoryPlan:
    """The MemoryPlan of placed ``buffers``: absolute tensor offsets, scratch, bytes alive per step."""
    tensor_offsets, scratch, special = {}, {}, {}
    for b, off in zip(buffers, offsets):
        for t in b.tensors:
            tensor_offsets[t] = off + b.offset_of(t)
        if b.kind == "scratch":
            scratch[int(b.name[2:].split(".")[0])] = (off, b.size)
        if b.name in ("patch.input", "patch.output"):
            special[b.name.split(".")[1]] = (off, b.size)
    steps = len(graph.ops)
    arena = arena_size(buffers, offsets)
    return MemoryPlan(
        arena_bytes=arena,
        tensor_offsets=tensor_offsets,
        scratch=scratch,
        buffers=buffers,
        offsets=offsets,
        algorithm=algorithm,
        lower_bound_bytes=lower_bound(buffers),
        steps=steps,
        alive_bytes=[sum(b.size for b in buffers if b.start <= s <= b.end) for s in range(steps)],
        inplace=inplace_ops,
        patch=None if patch is None else replace(patch, peak_bytes=arena),
        patch_buffers=special,
        graph=graph,
        seams=tuple(seams),
    )


# ------------------------------------------------------------------------------------------------
# patch-based stage (tinycompiler/plan/patch.py)


def patch_buffers(graph, patch, scratch_bytes: Optional[Callable] = None, inplace: bool = True) -> tuple:
    """(buffers, in-place op indices, tails) of ``graph`` with ``patch``'s stage run per patch.

    Buffers come from :func:`collect_buffers` on :func:`~tinycompiler.plan.patch.planning_graph`;
    the two dense patch copies are named ``patch.input``/``patch.output`` and every per-patch
    buffer has kind ``patch``. ``tails``: buffer index -> index of its dead tail (see
    :func:`_split_dead_tails`).
    """
    from tinycompiler.plan.patch import planning_graph

    pg, p_in, p_out = planning_graph(graph, patch)
    per_patch = {graph.ops[i].outputs[0] for i in patch.stage_ops} - {patch.split_tensor}
    sb = None if scratch_bytes is None else (lambda op, _g: scratch_bytes(graph.ops[op.index], graph))
    buffers, inplace_ops = collect_buffers(pg, sb, inplace, refine=lambda bs: _split_dead_tails(pg, bs)[0])
    for b in buffers:
        for t, name in ((p_in, "patch.input"), (p_out, "patch.output")):
            if t in b.tensors:
                b.name, b.tensors, b.kind = name, [x for x in b.tensors if x != t], "patch"
        if per_patch & set(b.tensors):
            b.kind = "patch"
    buffers, tails = _split_dead_tails(pg, buffers)
    return buffers, inplace_ops, tails


def _split_dead_tails(graph, buffers) -> tuple:
    """Free the bytes of a shared buffer that only its early-dying members used.

    An in-place QUANTIZE of a float32 graph input leaves the int8 result in the first quarter of
    the float buffer; the other three quarters are dead after that op, but one Buffer keeps its
    size for the group's whole life, which would pin the float input's bytes across the patch
    stage. Such a buffer becomes a head (the bytes members still alive need) plus a tail buffer
    that dies with the larger member and must sit right after the head.
    """
    life = tensor_lifetimes(graph)
    out, tails = [], {}
    for b in buffers:
        out.append(b)
        if len(b.tensors) < 2:
            continue
        ends = sorted({life[t][1] for t in b.tensors if t in life})
        for d in ends[:-1]:
            keep = max(b.offset_of(t) + graph.tensors[t].nbytes for t in b.tensors if life[t][1] > d)
            keep = align_up(keep)
            if keep < b.size:
                tail = Buffer(b.name + ".tail", b.size - keep, b.start, d, [], "tail")
                b.size = keep
                tails[len(out) - 1] = len(out)
                out.append(tail)
                break
    return out, tails


def _place_with_tails(buffers, tails, order, seams=()) -> list:
    """Place buffers in ``order`` at the lowest offset free of every conflicting placed buffer; a
    head and its tail are placed together, the tail right after the head."""
    offsets = [None] * len(buffers)
    placed = []
    tail_set = set(tails.values())

    def fits(i, off):
        lo, hi = off, off + buffers[i].size
        return all(not (buffers[i].overlaps_in_time(buffers[j]) and lo < offsets[j] + buffers[j].size
                        and offsets[j] < hi) for j in placed)

    for i in order:
        if i in tail_set:
            continue
        parts = [(i, 0)] + ([(tails[i], buffers[i].size)] if i in tails else [])
        cands = {0}
        for j in placed:
            for _, delta in parts:
                cands.add(align_up(offsets[j] + buffers[j].size) - delta)
        cands.update(seam - delta for seam in seams for _, delta in parts)
        for off in sorted(c for c in cands if c >= 0):
            if any(past_seams(off + delta, buffers[k].size, seams) != off + delta for k, delta in parts):
                continue
            if all(fits(k, off + delta) for k, delta in parts):
                for k, delta in parts:
                    offsets[k] = off + delta
                    placed.append(k)
                break
    return offsets


def _tail_placement(buffers, tails, seams=(), restarts: int = 0, seed: int = 0) -> tuple:
    """(name, offsets) of the best of a few greedy orders, heads weighed with their tails, then of
    ``restarts`` seeded random orders (a head's tail must sit right after it, which the greedy
    orders often pack badly; random restarts found MCUNet VWW's 33,600 B where the best greedy
    order gives 38,280 B). Stops early at the bytes-alive bound."""
    import random

    size = [b.size + (buffers[tails[i]].size if i in tails else 0) for i, b in enumerate(buffers)]
    idx = range(len(buffers))
    crowd = crowding(buffers)
    orders = {
        "greedy_by_size+tails": sorted(idx, key=lambda i: (-size[i], buffers[i].start)),
        "greedy_by_start+tails": sorted(idx, key=lambda i: (buffers[i].start, -size[i])),
        "greedy_by_end+tails": sorted(idx, key=lambda i: (-buffers[i].end, -size[i])),
        "greedy_by_conflict+tails": sorted(idx, key=lambda i: (-crowd[i], -size[i])),
    }
    bound = lower_bound(buffers)
    best = None
    for name, order in orders.items():
        offsets = _place_with_tails(buffers, tails, order, seams)
        total = arena_size(buffers, offsets)
        if best is None or total < best[0]:
            best = (total, name, offsets)
    rng = random.Random(seed)
    order = list(idx)
    for _ in range(restarts):
        if best[0] <= bound:
            break
        rng.shuffle(order)
        offsets = _place_with_tails(buffers, tails, order, seams)
        total = arena_size(buffers, offsets)
        if total < best[0]:
            best = (total, "random_restarts+tails", offsets)
    return best[1], best[2]


#: work budget of the random restarts that polish a patch plan: restarts * buffers (each restart
#: places every buffer against the placed ones)
POLISH_BUDGET = 40_000


def _plan_patched(graph, scratch_bytes, algorithms, inplace, patch, seams=(), polish=True) -> MemoryPlan:
    buffers, inplace_ops, tails = patch_buffers(graph, patch, scratch_bytes, inplace)
    if tails:
        restarts = min(500, POLISH_BUDGET // max(len(buffers), 1)) if polish else 0
        name, offsets = _tail_placement(buffers, tails, seams, restarts)
    else:
        name, offsets = best_placement(buffers, algorithms, seams)
    return _assemble(graph, buffers, offsets, name, inplace_ops, patch, seams)
