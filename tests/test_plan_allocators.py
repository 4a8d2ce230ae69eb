"""Placement algorithms: no two buffers alive at the same step may share bytes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinycompiler.plan import ALGORITHMS, Buffer, arena_size, best_placement
from tinycompiler.plan.allocators import lower_bound


@st.composite
def buffer_sets(draw):
    steps = draw(st.integers(1, 12))
    n = draw(st.integers(1, 14))
    bufs = []
    for i in range(n):
        s = draw(st.integers(0, steps - 1))
        e = draw(st.integers(s, steps - 1))
        size = draw(st.integers(1, 64)) * 4
        bufs.append(Buffer(f"b{i}", size, s, e))
    return bufs


def assert_no_overlap(buffers, offsets):
    for i, a in enumerate(buffers):
        assert offsets[i] % 4 == 0
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if a.overlaps_in_time(b):
                disjoint = offsets[i] + a.size <= offsets[j] or offsets[j] + b.size <= offsets[i]
                assert disjoint, f"{a} at {offsets[i]} overlaps {b} at {offsets[j]}"


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
@settings(max_examples=60, deadline=None)
@given(buffers=buffer_sets())
def test_algorithm_never_overlaps_live_buffers(name, buffers):
    offsets = ALGORITHMS[name](buffers)
    assert_no_overlap(buffers, offsets)
    assert arena_size(buffers, offsets) >= lower_bound(buffers)


@settings(max_examples=60, deadline=None)
@given(buffers=buffer_sets())
def test_best_placement_is_no_worse_than_tflm_greedy(buffers):
    name, offsets = best_placement(buffers)
    assert_no_overlap(buffers, offsets)
    greedy = arena_size(buffers, ALGORITHMS["greedy_by_size"](buffers))
    assert arena_size(buffers, offsets) <= greedy


def test_disjoint_lifetimes_share_the_same_bytes():
    bufs = [Buffer("a", 100, 0, 0), Buffer("b", 100, 1, 1), Buffer("c", 100, 2, 2)]
    _, offsets = best_placement(bufs)
    assert offsets == [0, 0, 0]
    assert arena_size(bufs, offsets) == 100


def test_chain_needs_two_buffers_at_each_step():
    # a -> b -> c: each op reads one buffer while writing the next
    bufs = [Buffer("a", 400, 0, 0), Buffer("b", 200, 0, 1), Buffer("c", 400, 1, 1)]
    _, offsets = best_placement(bufs)
    assert arena_size(bufs, offsets) == 600


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
@settings(max_examples=60, deadline=None)
@given(buffers=buffer_sets(), seam=st.integers(1, 256).map(lambda k: 16 * k))  # seams are 16-aligned
def test_no_buffer_straddles_a_seam(name, buffers, seam):
    """A seam is where the arena continues in another RAM region: every algorithm keeps each
    buffer wholly on one side of it, still without overlaps."""
    offsets = ALGORITHMS[name](buffers, (seam,))
    assert_no_overlap(buffers, offsets)
    for b, off in zip(buffers, offsets):
        assert off + b.size <= seam or off >= seam, (off, b.size, seam)
    name_best, best = best_placement(buffers, seams=(seam,))
    assert_no_overlap(buffers, best)
    assert all(off + b.size <= seam or off >= seam for b, off in zip(buffers, best))
