"""Patch-based inference, planning side: receptive fields by hand, option syntax, stage rules and
the arena plan with a patch stage (tinycompiler/plan/receptive.py, patch.py, planner.py)."""

from __future__ import annotations

import numpy as np
import pytest

import builders as B
from tinycompiler.errors import TinyCompilerError
from tinycompiler.plan import plan_memory
from tinycompiler.plan.patch import (DEFAULT_MAX_EXTRA_MACS, candidate_plans, make_patch_plan,
                                     parse_patch_option, stage_candidates)
from tinycompiler.plan.receptive import Region, grid_patches, patch_pads, split_axis, stage_regions, window_span


# ------------------------------------------------------------------------------------------------
# receptive fields, hand-computed


@pytest.mark.parametrize("o0, o1, extent, stride, pad, size, want", [
    (0, 4, 3, 1, 1, 8, (0, 5, 1)),    # 3x3 SAME, top patch: one row of padding
    (4, 8, 3, 1, 1, 8, (3, 8, 0)),    # bottom patch: halo row 3, clipped at the bottom edge
    (2, 4, 3, 2, 0, 9, (4, 9, 0)),    # 3x3 stride 2 VALID
    (0, 2, 5, 1, 2, 6, (0, 4, 2)),    # 3x3 dilation 2 (extent 5) SAME
    (1, 3, 1, 1, 2, 4, (0, 1, 1)),    # PAD of 2 before: output rows 1, 2 read input row 0 only
    (0, 1, 10, 2, 4, 49, (0, 6, 4)),  # 10-tall kernel, stride 2, SAME (4 before)
])
def test_window_span(o0, o1, extent, stride, pad, size, want):
    assert window_span(o0, o1, extent, stride, pad, size) == want


def test_split_axis_and_grid():
    assert split_axis(10, 3) == [(0, 3), (3, 6), (6, 10)]
    patches = grid_patches(5, 4, (2, 2))
    assert patches == [Region(0, 2, 0, 2), Region(0, 2, 2, 4), Region(2, 5, 0, 2), Region(2, 5, 2, 4)]


def _chain(seed=0):
    """input 1x12x12x3 -> conv 3x3 s2 SAME (6x6x4) -> depthwise 3x3 s1 SAME -> conv 1x1 (split)."""
    rng = np.random.default_rng(seed)
    g, x = B.new_graph(rng, (1, 12, 12, 3))
    a = B.add_conv2d(g, rng, x, 4, 3, 3, stride=2, padding="SAME")
    b = B.add_depthwise(g, rng, a, 1, 3, 3, padding="SAME")
    c = B.add_conv2d(g, rng, b, 4, 1, 1, padding="VALID")
    d = B.add_pool(g, rng, "AVERAGE_POOL_2D", c, 6, 6)
    return B.finish(g, d), (x, a, b, c)


def test_stage_regions_by_hand():
    g, (x, a, b, c) = _chain()
    # bottom-right patch of the 6x6 split tensor: rows/cols [3, 6)
    r = stage_regions(g, [0, 1, 2], c, Region(3, 6, 3, 6))
    assert r[c] == Region(3, 6, 3, 6)
    assert r[b] == Region(3, 6, 3, 6)          # 1x1
    assert r[a] == Region(2, 6, 2, 6)          # 3x3 s1: one halo row above, clipped below
    # 3x3 s2 SAME on 12 -> 6 pads (0 before, 1 after): rows 2..5 read 4..12 (clipped to 12)
    assert r[x] == Region(4, 12, 4, 12)
    assert patch_pads(g.ops[0], g, r[x], r[a]) == (0, 0, 1, 1)
    assert patch_pads(g.ops[1], g, r[a], r[b]) == (0, 0, 1, 1)
    # top-left patch: the layer's own "before" padding
    r = stage_regions(g, [0, 1, 2], c, Region(0, 3, 0, 3))
    assert r[a] == Region(0, 4, 0, 4) and r[x] == Region(0, 9, 0, 9)  # rows 0..3 (s2) read 0..8
    assert patch_pads(g.ops[1], g, r[a], r[b]) == (1, 1, 0, 0)


def test_residual_add_hull():
    """A residual block inside the stage: the skip tensor's region is the hull of both readers,
    and the ADD reads a sub-window of it."""
    rng = np.random.default_rng(3)
    g, x = B.new_graph(rng, (1, 8, 8, 4))
    e = B.add_conv2d(g, rng, x, 8, 1, 1, padding="VALID")
    d = B.add_depthwise(g, rng, e, 1, 3, 3, padding="SAME")
    p = B.add_conv2d(g, rng, d, 4, 1, 1, padding="VALID")
    y = B.add_binary(g, rng, "ADD", x, p)
    g = B.finish(g, B.add_pool(g, rng, "MAX_POOL_2D", y, 8, 8))
    r = stage_regions(g, [0, 1, 2, 3], y, Region(2, 4, 4, 8))
    assert r[p] == Region(2, 4, 4, 8)
    assert r[e] == Region(1, 5, 3, 8)
    assert r[x] == Region(1, 5, 3, 8)          # hull of the expansion conv's and the ADD's needs


# ------------------------------------------------------------------------------------------------
# option syntax and stage rules


@pytest.mark.parametrize("text, want", [
    ("off", None), (None, None), ("auto", ("auto", DEFAULT_MAX_EXTRA_MACS)), ("AUTO:0.1", ("auto", 0.1)),
    ("2x2x5", ("grid", (2, 2), 5)), (" 3x1x12 ", ("grid", (3, 1), 12)),
])
def test_parse_patch_option(text, want):
    assert parse_patch_option(text) == want


@pytest.mark.parametrize("text", ["2x2", "axbxc", "0x2x5", "auto:", "2x2x5x1", "on"])
def test_parse_patch_option_errors(text):
    with pytest.raises(TinyCompilerError) as e:
        parse_patch_option(text)
    assert "\n" not in str(e.value) and "NxMxK" in str(e.value)


def test_stage_rules():
    g, _ = _chain()
    splits = [s[0][-1] for s in stage_candidates(g)]
    assert splits == [0, 1, 2, 3]
    with pytest.raises(TinyCompilerError, match="valid split ops: 0, 1, 2, 3"):
        make_patch_plan(g, 4, (2, 2))  # nothing after the pool: op 4 does not exist
    with pytest.raises(TinyCompilerError, match="at most 6x6"):
        make_patch_plan(g, 2, (7, 1))


def test_extra_macs():
    g, _ = _chain()
    # only a 1x1 conv in the stage: no halo, nothing recomputed
    rng = np.random.default_rng(0)
    g1, x = B.new_graph(rng, (1, 8, 8, 8))
    y = B.add_conv2d(g1, rng, x, 8, 1, 1, padding="VALID")
    g1 = B.finish(g1, B.add_pool(g1, rng, "MAX_POOL_2D", y, 8, 8))
    assert make_patch_plan(g1, 0, (4, 4)).extra_macs == 0
    # 2 rows of patches over the 6x6 split tensor: the depthwise and the 1x1 conv compute exactly
    # their patch; the depthwise's 3x3 window needs rows [0, 4) and [2, 6) of the first conv's
    # output, so that conv (3x3 on 3 channels -> 4) computes 2 rows of 6 pixels twice
    pp = make_patch_plan(g, 2, (2, 1))
    assert pp.extra_macs == 2 * 6 * 4 * (3 * 3 * 3)
    assert all(p.extra_macs <= 0.05 * p.model_macs for p in candidate_plans(g, 0.05))


def test_plan_with_patch_stage():
    """Per-patch buffers live only during the stage; the stage input and the full split tensor
    live across it; the arena shrinks on a tall chain."""
    rng = np.random.default_rng(1)
    g, x = B.new_graph(rng, (1, 32, 32, 3))
    a = B.add_conv2d(g, rng, x, 16, 3, 3, padding="SAME")
    b = B.add_depthwise(g, rng, a, 1, 3, 3, stride=2, padding="SAME")
    c = B.add_conv2d(g, rng, b, 8, 1, 1, padding="VALID")
    g = B.finish(g, B.add_pool(g, rng, "AVERAGE_POOL_2D", c, 16, 16))
    layered = plan_memory(g)
    pp = make_patch_plan(g, 2, (4, 4))
    plan = plan_memory(g, patch=pp)
    assert plan.patch.peak_bytes == plan.arena_bytes < layered.arena_bytes
    by_name = {b.name: b for b in plan.buffers}
    assert by_name["patch.input"].start == 0 and by_name["patch.input"].end == 0
    assert by_name["patch.output"].start == by_name["patch.output"].end == 2
    full_split = next(b for b in plan.buffers if c in b.tensors)
    assert (full_split.start, full_split.end, full_split.size) == (0, 3, 16 * 16 * 8)
    full_in = next(b for b in plan.buffers if x in b.tensors)
    assert full_in.end == 2
    # the largest patch of the 32x32x16 tensor: 4x4 output patch of the s2 depthwise reads 9x9
    per_patch = next(b for b in plan.buffers if a in b.tensors)
    assert per_patch.kind == "patch" and per_patch.size == 9 * 9 * 16
    # no two buffers alive at once overlap
    for i, (b1, o1) in enumerate(zip(plan.buffers, plan.offsets)):
        for b2, o2 in list(zip(plan.buffers, plan.offsets))[i + 1:]:
            if b1.overlaps_in_time(b2):
                assert o1 + b1.size <= o2 or o2 + b2.size <= o1
