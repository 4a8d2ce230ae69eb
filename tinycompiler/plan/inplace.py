"""Ops that may write their output over a dying input, so both share one arena buffer.

Rules follow what the C kernels guarantee:
- DEPTHWISE_CONV_2D with depth multiplier 1 and an output no larger than its input runs the
  in-place kernel (``tc_depthwise_conv2d_inplace_packed_s8``) at equal offsets, which needs a ring
  of R pending output pixels (:func:`ring_pixels`, about (kh / 2) * width): 4 * R bytes of scratch
  for four channels per pass, or R bytes for a slower one channel per pass (a candidate marked
  ``slow``: between merges of equal busiest step the faster one wins);
- CONV_2D, DEPTHWISE_CONV_2D (out-of-place kernels) and AVERAGE/MAX_POOL_2D may put their output
  over their input with a lag (see :mod:`tinycompiler.plan.overlap` for each kernel's loop-order
  contract): lag 0 for a 1x1 conv that does not widen, a negative lag (output starting before the
  input) for 3x3 convs, widening 1x1 convs and depthwise;
- element-wise kernels read element i before writing element i (ADD/MUL on an operand shaped
  like the output, RELU, RELU6, LOGISTIC, HARD_SWISH, int8 or float32 -> int8 QUANTIZE), so the
  output may start where that input starts.

:func:`merge_inplace` picks, op by op in schedule order, the candidate that keeps the bytes alive
at the busiest step lowest.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinycompiler.plan.allocators import lower_bound
import numpy as np

from tinycompiler.plan.overlap import chosen_lag, window_of

_ELEMENTWISE = ("RELU", "RELU6", "LOGISTIC", "HARD_SWISH", "QUANTIZE")
_LAGGED = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")


@dataclass
class InplaceCandidate:
    """``op`` may write ``output`` over ``input`` if ``input`` dies at ``op``; ``scratch`` bytes extra.

    ``delta`` is the output's start minus the input's start (bytes, a multiple of the arena
    alignment); 0 is classic in-place.
    """

    op: int
    input: int
    output: int
    scratch: int = 0
    delta: int = 0
    slow: bool = False  # a slower kernel variant: taken only when it lowers the busiest step


def ring_pixels(in_shape, out_shape, win: dict) -> int:
    """R of ``tc_depthwise_inplace_ring_pixels`` (runtime_c/src/tc_depthwise_conv2d_inplace_packed_s8.c),
    computed the same way: after output pixel q (raster order), every later pixel reads input pixels
    >= safe(q) (window origins clamped at 0), pending outputs below safe(q) are stored, and R is the
    most pixels pending at once."""
    _, ih, iw, _ = (int(d) for d in in_shape)
    _, oh, ow, _ = (int(d) for d in out_shape)
    in_hw = ih * iw
    row0 = np.maximum(np.arange(oh + 1) * win["sh"] - win["top"], 0) * iw
    col0 = np.maximum(np.arange(ow + 1) * win["sw"] - win["left"], 0)
    safe = np.full((oh, ow), in_hw, np.int64)
    safe[:, :-1] = row0[:oh, None] + col0[None, 1:ow]
    safe[:-1, :] = np.minimum(safe[:-1, :], row0[1:oh, None])
    safe = np.minimum(safe.reshape(-1), in_hw)
    q = np.arange(oh * ow, dtype=np.int64)
    flushed = np.maximum.accumulate(np.minimum(safe, q + 1))  # after pixel q
    before = np.concatenate([[0], flushed[:-1]])
    return int(np.max(q + 1 - before))


def _depthwise_inplace(op, graph):
    """In-place depthwise (tc_depthwise_conv2d_inplace_packed_s8): a four-channel ring of 4 * R bytes
    (fast), or a one-byte-per-pixel ring of R bytes (one channel per pass, slower: ``slow``)."""
    x, y = op.input(graph, 0), op.output(graph)
    if op.attrs.get("depth_multiplier", 1) != 1 or x.shape[-1] != y.shape[-1] or x.shape[0] != y.shape[0]:
        return []
    if y.shape[1] * y.shape[2] > x.shape[1] * x.shape[2]:
        return []
    win = window_of(op, graph)
    if win is None:
        return []
    r = ring_pixels(x.shape, y.shape, win)
    out = [InplaceCandidate(op.index, x.index, y.index, scratch=4 * r)]
    if int(y.shape[3]) >= 4 and 4 * r > int(y.shape[1] * y.shape[2]):
        # only where the four-channel ring is larger than the old one-plane scratch (tiny planes)
        out.append(InplaceCandidate(op.index, x.index, y.index, scratch=r, slow=True))
    return out


def _lagged(op, graph):
    delta = chosen_lag(op, graph)
    if delta is None:
        return []
    return [InplaceCandidate(op.index, op.inputs[0], op.outputs[0], delta=delta)]


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
    """Every (op, input, output, lag) whose kernel can run over its input, in schedule order."""
    found = []
    for op in graph.ops:
        if op.kind == "DEPTHWISE_CONV_2D":
            found += _depthwise_inplace(op, graph)
        if op.kind in _LAGGED:
            found += _lagged(op, graph)
        elif op.kind in ("ADD", "MUL") or op.kind in _ELEMENTWISE:
            found += _elementwise(op, graph)
    return found


def _alive_total(buffers) -> int:
    """Sum over steps of the bytes alive: the tie-break between merges of equal peak."""
    return sum(b.size * (b.end - b.start + 1) for b in buffers)


def merge_inplace(graph, groups, life, scratch, build) -> tuple:
    """(groups, scratch, in-place op indices) after taking the merges that pay.

    ``build(groups, scratch)`` lists the buffers of a grouping. A candidate is legal only when its
    input's whole group dies at that op (no later reader, not a graph output) and its output's
    group is born there. A merged buffer keeps its span for the whole life of its tensors, so a
    merge can cost more than it saves, and merges interact (along a chain, each one alone may
    raise the busiest step while all together lower it). Two searches, keeping the better
    (busiest step, then byte-steps): add merges one by one while the busiest step does not rise,
    and take every legal merge then drop merges while that lowers the busiest step; each is
    finished by another adding sweep.

    The op indices returned are those writing at their input's offset (lag 0); lagged ones show
    as overlapping tensor offsets in the plan.
    """
    state = _MergeSearch(graph, groups, life, scratch, build)
    grown = state.grow([])
    pruned = state.grow(state.prune(state.take_all()))
    merges = min((grown, pruned), key=state.key)
    groups, scratch = state.apply(merges)
    same = [c.op for c in merges if c.delta == 0 and _at_same_offset(graph, groups, c.op)]
    return groups, scratch, sorted(same)


class _MergeSearch:
    """Evaluates sets of merges (lists of candidates, at most one per op, in schedule order)."""

    def __init__(self, graph, groups, life, scratch, build):
        self.graph, self.base, self.life, self.scratch, self.build = graph, groups, life, scratch, build
        self.outputs = set(graph.outputs)
        self.by_op = {}
        for c in inplace_candidates(graph):
            self.by_op.setdefault(c.op, []).append(c)
        self._keys = {}

    def apply(self, merges) -> tuple:
        groups, scratch = self.base.copy(), dict(self.scratch)
        for c in merges:
            groups.union(c.input, c.output, c.delta)
            scratch[c.op] = max(scratch[c.op], c.scratch)
        return groups, scratch

    def key(self, merges) -> tuple:
        """(busiest step, slow kernels chosen, byte-steps): speed decides only between equal peaks."""
        ident = tuple((c.op, c.input, c.delta, c.scratch) for c in merges)
        if ident not in self._keys:
            bufs = self.build(*self.apply(merges))
            self._keys[ident] = (lower_bound(bufs), sum(c.slow for c in merges), _alive_total(bufs))
        return self._keys[ident]

    def legal(self, c, merges) -> bool:
        from tinycompiler.plan.buffers import group_lifetimes

        if any(m.op == c.op for m in merges):
            return False
        groups, _ = self.apply(merges)
        spans = group_lifetimes(groups, self.life)
        gi, go = groups.find(c.input), groups.find(c.output)
        if gi == go or spans[gi][1] != c.op or spans[go][0] != c.op:
            return False
        return not any(groups.find(t) == gi for t in self.outputs)

    @staticmethod
    def _with(merges, c) -> list:
        return sorted(merges + [c], key=lambda m: m.op)

    def grow(self, merges) -> list:
        """Add the best legal candidate of each op while the busiest step does not rise; sweep again
        until nothing changes (a merge refused now may pay once a later one lowered the peak)."""
        merges = list(merges)
        changed = True
        while changed:
            changed = False
            for cands in self.by_op.values():
                best = None
                for c in cands:
                    if not self.legal(c, merges):
                        continue
                    trial = self._with(merges, c)
                    k = self.key(trial)
                    peak = self.key(merges)[0]
                    # a slow kernel variant only where it lowers the busiest step
                    if (k[0] < peak or (k[0] == peak and not c.slow)) and (best is None or k < best[0]):
                        best = (k, trial)
                if best is not None:
                    merges, changed = best[1], True
        return merges

    def take_all(self) -> list:
        """Every op's best legal candidate, in schedule order, whatever it costs."""
        merges = []
        for cands in self.by_op.values():
            options = [self._with(merges, c) for c in cands if self.legal(c, merges)]
            if options:
                merges = min(options, key=self.key)
        return merges

    def prune(self, merges) -> list:
        """Drop the merge whose removal lowers (busiest step, byte-steps) most, while one does."""
        merges = list(merges)
        while merges:
            trials = [merges[:i] + merges[i + 1:] for i in range(len(merges))]
            best = min(trials, key=self.key)
            if self.key(best) >= self.key(merges):
                break
            merges = best
        return merges


def _at_same_offset(graph, groups, op_index) -> bool:
    op = graph.ops[op_index]
    y = op.outputs[0]
    return any(groups.find(i) == groups.find(y) and groups.offset(i) == groups.offset(y)
               for i in op.inputs if i is not None and not graph.tensors[i].is_const)
