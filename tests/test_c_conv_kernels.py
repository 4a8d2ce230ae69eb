"""Differential tests of the int8 conv-family C kernels against the numpy reference interpreter.

Every kernel (reference C, each fast path, the wrappers, in-place depthwise) must give exactly the
bytes ``tinycompiler.reference.run`` gives for a random single-op graph from tests/builders.py:
random shapes, kernels, strides, dilations, SAME/VALID padding, per-channel and per-tensor quant,
fused activations. Fast paths also run under ASan+UBSan in a subprocess (test_sanitizers).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import builders  # noqa: E402
from conv_kernels_ctypes import CONV_KERNELS, DW_KERNELS, applies, call, library  # noqa: E402

from tinycompiler.codegen.weights_layout import depthwise_inplace_ok, kernel_args  # noqa: E402
from tinycompiler.errors import TinyCompilerError  # noqa: E402
from tinycompiler.reference import run  # noqa: E402

SETTINGS = settings(max_examples=int(os.environ.get("TC_CONV_EXAMPLES", "100")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def lib():
    return library()


def _expected(case):
    g = case.graph
    return run(g, case.inputs)[g.outputs[0]]


def check_case(lib, case, kernels):
    """Run every applicable kernel in ``kernels`` on ``case``; assert each equals the reference."""
    g = case.graph
    args = kernel_args(g.ops[0], g)
    want = _expected(case)
    ran = []
    for name in kernels:
        if not applies(lib, name, args):
            continue
        if name.startswith("tc_depthwise_conv2d_inplace") and not depthwise_inplace_ok(args):
            continue
        st_, got = call(lib, name, args, case.inputs[0])
        assert st_ == 0, f"{name} refused {case!r}"
        got = got.reshape(want.shape)
        if not np.array_equal(got, want):
            bad = np.argwhere(got != want)
            raise AssertionError(f"{name} differs from the reference on {case!r}: {len(bad)} of {want.size} "
                                 f"bytes, first at {tuple(bad[0])}: got {got[tuple(bad[0])]} want "
                                 f"{want[tuple(bad[0])]}")
        ran.append(name)
    return ran


# ---------------------------------------------------------------------------------------------------
# strategies: builders' conv strategies, plus ones that force each fast path's predicate


@st.composite
def conv_cases(draw, kernel=None, cin=None, max_hw=12, max_channels=64):
    kh = kernel[0] if kernel else draw(st.integers(1, 7))
    kw = kernel[1] if kernel else draw(st.integers(1, 7))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = "VALID" if (kh, kw) == (1, 1) and draw(st.booleans()) else draw(builders.paddings)
    h = draw(st.integers((kh - 1) * dilation[0] + 1, max(max_hw, (kh - 1) * dilation[0] + 1)))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, max(max_hw, (kw - 1) * dilation[1] + 1)))
    ci = cin or draw(st.integers(1, max_channels))
    co = draw(st.integers(1, max_channels))
    act = draw(builders.activations)
    pc, bias = draw(st.booleans()), draw(st.booleans())
    batch = draw(st.sampled_from((1, 1, 1, 2)))
    seed = draw(builders.seeds)
    desc = (f"conv b{batch} {h}x{w}x{ci}->{co} k{kh}x{kw} s{stride} d{dilation} {padding} {act} "
            f"pc={pc} bias={bias} seed={seed}")
    g = builders.conv2d_graph(seed, h, w, ci, co, kh, kw, stride, dilation, padding, act, pc, bias, batch)
    return builders.make_case(g, seed, desc)


@st.composite
def dw_cases(draw, kernel=None, multiplier=None, dilation1=False, max_hw=12, max_channels=64):
    kh = kernel[0] if kernel else draw(st.integers(1, 7))
    kw = kernel[1] if kernel else draw(st.integers(1, 7))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (1, 1) if dilation1 else (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(builders.paddings)
    h = draw(st.integers((kh - 1) * dilation[0] + 1, max(max_hw, (kh - 1) * dilation[0] + 1)))
    w = draw(st.integers((kw - 1) * dilation[1] + 1, max(max_hw, (kw - 1) * dilation[1] + 1)))
    c = draw(st.integers(1, max_channels))
    m = multiplier or draw(st.integers(1, 2))
    act = draw(builders.activations)
    pc, bias = draw(st.booleans()), draw(st.booleans())
    batch = draw(st.sampled_from((1, 1, 1, 2)))
    seed = draw(builders.seeds)
    desc = (f"dw b{batch} {h}x{w}x{c}*{m} k{kh}x{kw} s{stride} d{dilation} {padding} {act} "
            f"pc={pc} bias={bias} seed={seed}")
    g = builders.depthwise_graph(seed, h, w, c, m, kh, kw, stride, dilation, padding, act, pc, bias, batch)
    return builders.make_case(g, seed, desc)


# ---------------------------------------------------------------------------------------------------
# CONV_2D


@SETTINGS
@given(case=conv_cases(cin=1))
def test_conv_one_channel_fast_path(lib, case):
    ran = check_case(lib, case, CONV_KERNELS)
    assert "tc_conv2d_c1_packed_s8" in ran or case.graph.ops[0].attrs.get("dilation_w", 1) != 1


@SETTINGS
@given(case=builders.st_conv2d())
def test_conv_all_paths_random(lib, case):
    ran = check_case(lib, case, CONV_KERNELS)
    assert {"tc_conv2d_s8", "tc_conv2d_im2col_s8", "tc_conv2d_wrapper_s8", "tc_conv2d_packed_s8",
            "tc_conv2d_packed_wide_s8"} <= set(ran)


@SETTINGS
@given(case=conv_cases(kernel=(1, 1)))
def test_conv_1x1_fast_path(lib, case):
    ran = check_case(lib, case, CONV_KERNELS)
    assert "tc_conv2d_1x1_s8" in ran


@SETTINGS
@given(case=conv_cases(cin=3, max_channels=32, max_hw=16))
def test_conv_rgb_fast_path(lib, case):
    ran = check_case(lib, case, CONV_KERNELS)
    assert "tc_conv2d_rgb_s8" in ran or "tc_conv2d_1x1_s8" in ran


@SETTINGS
@given(case=conv_cases(max_channels=24))
def test_conv_batched_and_any_geometry(lib, case):
    check_case(lib, case, CONV_KERNELS)


# ---------------------------------------------------------------------------------------------------
# DEPTHWISE_CONV_2D


@SETTINGS
@given(case=builders.st_depthwise(max_channels=64))
def test_depthwise_random(lib, case):
    ran = check_case(lib, case, DW_KERNELS)
    assert {"tc_depthwise_conv2d_s8", "tc_depthwise_wrapper_s8"} <= set(ran)


@SETTINGS
@given(case=dw_cases(kernel=(3, 3), multiplier=1, dilation1=True))
def test_depthwise_3x3_fast_path_and_inplace(lib, case):
    ran = check_case(lib, case, DW_KERNELS)
    assert {"tc_depthwise_conv2d_3x3_s8", "tc_depthwise_conv2d_inplace_s8", "tc_depthwise_conv2d_packed_s8"} <= set(ran)


@SETTINGS
@given(case=dw_cases(multiplier=1))
def test_depthwise_inplace_any_geometry(lib, case):
    ran = check_case(lib, case, DW_KERNELS)
    assert {"tc_depthwise_conv2d_inplace_s8", "tc_depthwise_conv2d_inplace_packed_s8"} <= set(ran)


@st.composite
def dw_inplace_fast_cases(draw, max_w=34):
    """In-place depthwise with the specialised runs: square 3 / 5 / 7 kernels, unit dilation, narrow
    (whole rows through the window buffer) to wide (interior runs, border windows, several fills per
    row), both strides and paddings, channel tails, and sometimes channels with right shift < 2."""
    k = draw(st.sampled_from((3, 5, 7)))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = draw(builders.paddings)
    lo = 1 if padding == "SAME" else k
    h = draw(st.integers(lo, k + 6))
    w = draw(st.integers(lo, max_w))
    c = draw(st.integers(1, 24))
    act = draw(builders.activations)
    pc, bias = draw(st.booleans()), draw(st.booleans())
    batch = draw(st.sampled_from((1, 1, 2)))
    target = draw(st.sampled_from((None, None, 0.3, 0.7, 1.5, 3.0)))
    seed = draw(builders.seeds)
    g = builders.depthwise_graph(seed, h, w, c, 1, k, k, stride, 1, padding, act, pc, bias, batch)
    if target is not None:
        builders.large_channel_scales(g, target)
    desc = (f"dw b{batch} {h}x{w}x{c} k{k} s{stride} {padding} {act} pc={pc} bias={bias} "
            f"target={target} seed={seed}")
    return builders.make_case(g, seed, desc)


@SETTINGS
@given(case=dw_inplace_fast_cases())
def test_depthwise_inplace_specialised_runs(lib, case):
    ran = check_case(lib, case, DW_KERNELS)
    assert "tc_depthwise_conv2d_inplace_packed_s8" in ran


@st.composite
def dw_temporal_cases(draw, max_t=40):
    """1-D depthwise as temporal models have it: input T x 1 x C (W = 1), K x 1 kernels (K 1..15),
    stride and dilation 1..4 in time, SAME / VALID, channel tails, sometimes channels with right
    shift < 2 (no tc_rq row) and batches: the column path of the in-place kernel."""
    k = draw(st.integers(1, 15))
    dil = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 4))
    padding = draw(builders.paddings)
    lo = 1 if padding == "SAME" else (k - 1) * dil + 1
    t = draw(st.integers(lo, max(lo, max_t)))
    c = draw(st.integers(1, 40))
    act = draw(builders.activations)
    pc, bias = draw(st.booleans()), draw(st.booleans())
    batch = draw(st.sampled_from((1, 1, 2)))
    target = draw(st.sampled_from((None, None, 0.3, 1.5, 3.0)))
    seed = draw(builders.seeds)
    g = builders.depthwise_graph(seed, t, 1, c, 1, k, 1, (stride, 1), (dil, 1), padding, act, pc, bias, batch)
    if target is not None:
        builders.large_channel_scales(g, target)
    desc = (f"dw b{batch} {t}x1x{c} k{k}x1 s{stride} d{dil} {padding} {act} pc={pc} bias={bias} "
            f"target={target} seed={seed}")
    return builders.make_case(g, seed, desc)


@SETTINGS
@given(case=dw_temporal_cases())
def test_depthwise_inplace_temporal_column_path(lib, case):
    ran = check_case(lib, case, ("tc_depthwise_conv2d_inplace_packed_s8", "tc_depthwise_conv2d_packed_s8"))
    assert "tc_depthwise_conv2d_inplace_packed_s8" in ran


@pytest.mark.parametrize("k", (3, 5, 7))
@pytest.mark.parametrize("stride", (1, 2))
@pytest.mark.parametrize("padding", ("SAME", "VALID"))
def test_depthwise_inplace_narrow_widths(lib, k, stride, padding):
    """Widths 1..6 (every pixel a border pixel for SAME), short and tall, four-channel groups with and
    without a tail, rq table and rq NULL with right shifts < 2 (and the one-byte ring: call() runs both)."""
    for w in range(1 if padding == "SAME" else k, 7 + (k if padding == "VALID" else 0)):
        for h in (1 if padding == "SAME" else k, k + 3, 25):
            for c, target in ((4, None), (7, 0.7), (12, 1.5), (8, 0.3)):
                seed = 1000 * k + 100 * w + 10 * h + c + stride
                g = builders.depthwise_graph(seed, h, w, c, 1, k, k, stride, 1, padding, "RELU", True, True)
                if target is not None:
                    builders.large_channel_scales(g, target)
                ran = check_case(lib, builders.make_case(g, seed, f"{h}x{w}x{c} k{k} s{stride} {padding} {target}"),
                                 ("tc_depthwise_conv2d_inplace_packed_s8",))
                assert ran == ["tc_depthwise_conv2d_inplace_packed_s8"]


@SETTINGS
@given(case=conv_cases(max_hw=10, max_channels=40))
def test_conv_packed_at_the_planned_overlap(lib, case):
    """tc_conv2d_packed_s8 and its wide twin (two pixels per pass) honour the CONV_2D overlap contract of plan/overlap.py:
    with the output placed at the lag the planner would choose over its dying input, still exact."""
    from conv_kernels_ctypes import call_packed_conv_overlapped

    from tinycompiler.plan.overlap import chosen_lag

    g = case.graph
    lag = chosen_lag(g.ops[0], g)
    assert lag is not None
    for name in ("tc_conv2d_packed_s8", "tc_conv2d_packed_wide_s8"):
        st_, got = call_packed_conv_overlapped(lib, kernel_args(g.ops[0], g), case.inputs[0], lag, name)
        assert st_ == 0
        assert np.array_equal(got.reshape(_expected(case).shape), _expected(case)), f"{name} lag {lag}: {case!r}"


@st.composite
def one_channel_dw_cases(draw, max_kw=24, max_hw=30):
    """DEPTHWISE_CONV_2D with one input channel and a depth multiplier (what codegen runs through
    tc_conv2d_c1_packed_s8): kernel rows of one to six words, channel tails, strides, dilation_h."""
    kh, kw = draw(st.integers(1, 10)), draw(st.integers(1, max_kw))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), 1)
    padding = draw(builders.paddings)
    h = draw(st.integers((kh - 1) * dilation[0] + 1, max(max_hw, (kh - 1) * dilation[0] + 1)))
    w = draw(st.integers(kw, max(max_hw, kw)))
    m = draw(st.sampled_from((2, 4, 8, 8, 12, draw(st.integers(2, 20)))))
    act = draw(st.sampled_from(("NONE", "NONE", *builders.ACTIVATIONS)))
    pc, bias = draw(st.booleans()), draw(st.booleans())
    batch = draw(st.sampled_from((1, 1, 2)))
    seed = draw(builders.seeds)
    desc = (f"dw b{batch} {h}x{w}x1*{m} k{kh}x{kw} s{stride} d{dilation} {padding} {act} "
            f"pc={pc} bias={bias} seed={seed}")
    g = builders.depthwise_graph(seed, h, w, 1, m, kh, kw, stride, dilation, padding, act, pc, bias, batch)
    return builders.make_case(g, seed, desc)


def _one_channel_args(case):
    from tinycompiler.codegen.lower.conv import one_channel_conv_args

    g = case.graph
    return one_channel_conv_args(kernel_args(g.ops[0], g))


@SETTINGS
@given(case=one_channel_dw_cases())
def test_one_channel_depthwise_packed(lib, case):
    """tc_conv2d_c1_packed_s8 on the one-channel depthwise form codegen emits (with and without rq):
    wide rows (the word-by-word border path), channel tails, border pixels of every kind."""
    st_, got = call(lib, "tc_conv2d_c1_packed_s8", _one_channel_args(case), case.inputs[0])
    want = _expected(case)
    assert st_ == 0, case
    assert np.array_equal(got.reshape(want.shape), want), case


@SETTINGS
@given(case=one_channel_dw_cases(max_kw=9, max_hw=16))
def test_one_channel_depthwise_at_the_planned_overlap(lib, case):
    """tc_conv2d_c1_packed_s8 honours the one-channel depthwise overlap rule of plan/overlap.py: with its
    output at the lag the planner would choose over the dying input, still exact (both requant paths)."""
    from conv_kernels_ctypes import call_c1_packed_overlapped

    from tinycompiler.plan.overlap import chosen_lag

    g = case.graph
    lag = chosen_lag(g.ops[0], g)
    assert lag is not None
    for use_rq in (True, False):
        st_, got = call_c1_packed_overlapped(lib, _one_channel_args(case), case.inputs[0], lag, use_rq)
        assert st_ == 0
        assert np.array_equal(got.reshape(_expected(case).shape), _expected(case)), f"lag {lag}: {case!r}"


def test_one_channel_extreme_values(lib):
    """One-channel depthwise at the offset limits (input zero point -128 / 127, inputs at the other end,
    weights +-127) on the two model layers' geometries: interior, zero-point rows, cut columns."""
    for zp in (-128, 127):
        for h, w, kh, kw, pad in ((49, 40, 10, 8, "SAME"), (12, 12, 3, 3, "SAME"), (9, 30, 2, 17, "SAME")):
            rng = np.random.default_rng(zp & 0xFF)
            g = builders.depthwise_graph(rng, h, w, 1, 8, kh, kw, 2, 1, pad)
            g.tensors[g.inputs[0]].quant.zero_point[:] = zp
            wt = g.tensors[g.ops[0].inputs[1]]
            wt.data = np.where(rng.random(wt.data.shape) < 0.5, -127, 127).astype(np.int8)
            x = np.full(g.tensors[g.inputs[0]].shape, -128 if zp == 127 else 127, np.int8)
            case = builders.Case(g, [x], f"one channel zp={zp} {h}x{w} k{kh}x{kw}")
            st_, got = call(lib, "tc_conv2d_c1_packed_s8", _one_channel_args(case), x)
            want = _expected(case)
            assert st_ == 0 and np.array_equal(got.reshape(want.shape), want), case


# ---------------------------------------------------------------------------------------------------
# FULLY_CONNECTED


@SETTINGS
@given(case=builders.st_fully_connected(max_features=300))
def test_fully_connected(lib, case):
    assert check_case(lib, case, ("tc_fully_connected_s8", "tc_fully_connected_packed_s8")) == [
        "tc_fully_connected_s8", "tc_fully_connected_packed_s8"]


@pytest.mark.parametrize("cin,kh", [(600, 1), (57, 3), (130, 3)])
def test_conv_packed_long_rows_extreme_values(lib, cin, kh):
    """CONV_2D rows longer than the packed kernel's 504-input segment (1x1 over 600 channels, 3x3 over
    57 and 130) at the limits: weights -127 / 127 sharing the inputs' sign on half the rows (256 * dot
    of a pair's high row would leave int32 without the segments: the output's sign would flip),
    random signs on the others, an odd channel count, inputs all -128 (first image) or random -128 / 127,
    both column widths."""
    rng = np.random.default_rng(cin)
    g = builders.conv2d_graph(rng, 3, 4, cin, 7, kh, kh, 1, 1, "SAME", per_channel=True, batch=2)
    wt = g.tensors[g.ops[0].inputs[1]]
    w = np.where(rng.random(wt.data.shape) < 0.5, -127, 127).astype(np.int8)
    w[0::2] = -127
    wt.data = w
    g.tensors[g.inputs[0]].quant.zero_point[:] = 0
    x = np.where(rng.random(g.tensors[g.inputs[0]].shape) < 0.5, -128, 127).astype(np.int8)
    x[0] = -128  # the first image: every window at the limit
    case = builders.Case(g, [x], f"conv {kh}x{kh} over {cin} channels, extreme values")
    ran = check_case(lib, case, ("tc_conv2d_packed_s8", "tc_conv2d_packed_wide_s8"))
    assert ran == ["tc_conv2d_packed_s8", "tc_conv2d_packed_wide_s8"]


def test_pair_lanes_refuse_minus_128():
    """A -128 weight in a pair's high row beside a negative low weight has no int16 lane: the layouts
    say so (codegen then runs the natural-weight kernels, tests/test_codegen_host.py)."""
    from tinycompiler.codegen.weights_layout import conv_packed_weights, fc_packed_weights, pair_lanes_ok

    g = builders.conv2d_graph(np.random.default_rng(0), 4, 4, 8, 4, 3, 3)
    args = kernel_args(g.ops[0], g)
    assert pair_lanes_ok(args)
    w = np.asarray(g.tensors[g.ops[0].inputs[1]].data).copy()
    w[2, 1, 1, 3], w[3, 1, 1, 3] = -128, -5  # rows 2 / 3: the second pair
    g.tensors[g.ops[0].inputs[1]].data = w
    args = kernel_args(g.ops[0], g)
    assert not pair_lanes_ok(args)
    with pytest.raises(TinyCompilerError, match="paired int16 lanes"):
        conv_packed_weights(args)
    w[3, 1, 1, 3] = 0  # beside a non-negative low weight -128 fits (-32768)
    g.tensors[g.ops[0].inputs[1]].data = w
    assert pair_lanes_ok(kernel_args(g.ops[0], g))
    g = builders.fully_connected_graph(np.random.default_rng(1), 1, 12, 5)
    w = np.asarray(g.tensors[g.ops[0].inputs[1]].data).copy()
    w[4, 0] = -128  # the last, unpaired row: plain bytes, any value
    g.tensors[g.ops[0].inputs[1]].data = w
    assert pair_lanes_ok(kernel_args(g.ops[0], g))
    w[0, 7], w[1, 7] = -128, -1
    g.tensors[g.ops[0].inputs[1]].data = w
    assert not pair_lanes_ok(kernel_args(g.ops[0], g))
    with pytest.raises(TinyCompilerError, match="paired int16 lanes"):
        fc_packed_weights(kernel_args(g.ops[0], g))


@pytest.mark.parametrize("in_features", [503, 504, 505, 1012, 1013, 1022])
def test_fully_connected_long_rows_extreme_values(lib, in_features):
    """Rows longer than the packed kernel's 504-input chunk, at the accumulator's limits: the pairs'
    high rows with weights all sharing the input's sign (x = -128, w = -127: 256 * dot would leave int32
    without the chunks, and the output's sign would flip), low rows of random +-127 and -128, and the
    pair / single-row leftovers (7 units)."""
    rng = np.random.default_rng(in_features)
    g = builders.fully_connected_graph(rng, 2, in_features, 7, per_channel=True)
    wt = g.tensors[g.ops[0].inputs[1]]
    w = np.where(rng.random(wt.data.shape) < 0.5, -128, 127).astype(np.int8)
    w[0::2] = -127
    wt.data = w
    x = np.where(rng.random((2, in_features)) < 0.5, -128, 127).astype(np.int8)
    x[0] = -128
    case = builders.Case(g, [x], f"fully connected {in_features} -> 7, extreme values")
    assert check_case(lib, case, ("tc_fully_connected_s8", "tc_fully_connected_packed_s8")) == [
        "tc_fully_connected_s8", "tc_fully_connected_packed_s8"]


# ---------------------------------------------------------------------------------------------------
# argument checks and fixed edge cases


def test_fast_paths_refuse_outside_their_predicate(lib):
    g = builders.conv2d_graph(1, 6, 6, 5, 4, 3, 3)
    case = builders.make_case(g, 1)
    args = kernel_args(g.ops[0], g)
    assert call(lib, "tc_conv2d_1x1_s8", args, case.inputs[0])[0] != 0
    assert call(lib, "tc_conv2d_rgb_s8", args, case.inputs[0])[0] != 0
    g = builders.depthwise_graph(1, 6, 6, 5, 2, 3, 3)
    args = kernel_args(g.ops[0], g)
    x = builders.make_case(g, 1).inputs[0]
    assert call(lib, "tc_depthwise_conv2d_3x3_s8", args, x)[0] != 0
    assert call(lib, "tc_depthwise_conv2d_inplace_s8", args, x)[0] != 0


def test_extreme_values(lib):
    """All-(-128) inputs with zero point -128 / +127 and weights +-127: offsets at their limits."""
    for zp in (-128, 127):
        for kind in ("conv", "dw"):
            rng = np.random.default_rng(zp & 0xFF)
            if kind == "conv":
                g = builders.conv2d_graph(rng, 5, 7, 8, 6, 3, 3, padding="SAME")
                kernels = CONV_KERNELS
            else:
                g = builders.depthwise_graph(rng, 5, 7, 8, 1, 3, 3, padding="SAME")
                kernels = DW_KERNELS
            g.tensors[g.inputs[0]].quant.zero_point[:] = zp
            w = g.tensors[g.ops[0].inputs[1]]
            w.data = np.where(rng.random(w.data.shape) < 0.5, -127, 127).astype(np.int8)
            x = np.full(g.tensors[g.inputs[0]].shape, -128 if zp == 127 else 127, np.int8)
            check_case(lib, builders.Case(g, [x], f"{kind} zp={zp}"), kernels)


def _sanitizer_main(n_examples: int):  # pragma: no cover - runs in a subprocess
    """Run a few random cases of every kernel with the ASan/UBSan build (called by test_sanitizers)."""
    from c_harness import SANITIZE_FLAGS

    slib = library(extra_flags=SANITIZE_FLAGS)
    rng = np.random.default_rng(7)
    for i in range(n_examples):
        seed = int(rng.integers(0, 2**31 - 1))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        if i % 4 == 0:
            kh = kw = 1
        if i % 4 == 1:
            kh = kw = 3
        s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        d = (1, 1) if i % 2 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pad = "SAME" if i % 3 else "VALID"
        h, w = (kh - 1) * d[0] + int(rng.integers(1, 8)), (kw - 1) * d[1] + int(rng.integers(1, 8))
        cin = 3 if i % 5 == 0 else int(rng.integers(1, 20))
        g = builders.conv2d_graph(seed, h, w, cin, int(rng.integers(1, 9)), kh, kw, s, d, pad, batch=1 + i % 2)
        check_case(slib, builders.make_case(g, seed), CONV_KERNELS)
        g = builders.depthwise_graph(seed, h, w, cin, 1 + (i % 3 == 0), kh, kw, s, d, pad, batch=1 + i % 2)
        check_case(slib, builders.make_case(g, seed), DW_KERNELS)
        kw1 = int(rng.integers(1, 22))  # one-channel depthwise as tc_conv2d_c1_packed_s8 runs it
        # every third one wide enough for interior columns next to padded rows (rows > 16 taps included)
        w1 = kw1 + int(rng.integers(0, 30 if i % 3 == 0 else 8))
        g = builders.depthwise_graph(seed, h, w1, 1, 2 + i % 9, kh, kw1, s, (d[0], 1),
                                     pad, batch=1 + i % 2)
        case = builders.make_case(g, seed)
        st1, got1 = call(slib, "tc_conv2d_c1_packed_s8", _one_channel_args(case), case.inputs[0])
        assert st1 == 0 and np.array_equal(got1.reshape(_expected(case).shape), _expected(case)), case
        g = builders.fully_connected_graph(seed, 1 + i % 3, int(rng.integers(1, 70)), int(rng.integers(1, 9)),
                                           per_channel=bool(i % 2))
        check_case(slib, builders.make_case(g, seed), ("tc_fully_connected_s8", "tc_fully_connected_packed_s8"))
        # 1-D (T x 1 x C, K x 1): the in-place column path, borders and dilation included
        k1, d1 = int(rng.integers(1, 16)), int(rng.integers(1, 4))
        g = builders.depthwise_graph(seed, (k1 - 1) * d1 + int(rng.integers(1, 20)), 1, int(rng.integers(1, 20)), 1,
                                     k1, 1, (int(rng.integers(1, 4)), 1), (d1, 1), pad, batch=1 + i % 2)
        check_case(slib, builders.make_case(g, seed), ("tc_depthwise_conv2d_inplace_packed_s8",))
    # one-channel rows wider than the kernel's 4-word stack row, interior columns next to padded rows
    # (once overflowed that row: found by a QEMU run, silent on the host without ASan)
    for j, (h, w, kh, kw, dil_h) in enumerate(((9, 32, 2, 22, 2), (7, 40, 3, 17, 1), (6, 30, 5, 21, 1))):
        g = builders.depthwise_graph(100 + j, h, w, 1, 8, kh, kw, (1, 1), (dil_h, 1), "SAME", batch=2)
        case = builders.make_case(g, 100 + j)
        st1, got1 = call(slib, "tc_conv2d_c1_packed_s8", _one_channel_args(case), case.inputs[0])
        assert st1 == 0 and np.array_equal(got1.reshape(_expected(case).shape), _expected(case)), case
    print("sanitized OK")


def test_sanitizers():
    """Every kernel under -fsanitize=address,undefined with exactly-sized buffers (ASan preloaded)."""
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(libasan):
        pytest.skip("libasan not available")
    env = dict(os.environ, LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    code = ("import sys; sys.path.insert(0, %r); import test_c_conv_kernels as t; t._sanitizer_main(30)"
            % str(Path(__file__).resolve().parent))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "sanitized OK" in res.stdout, res.stdout[-3000:] + res.stderr[-6000:]


def test_fast_requantize():
    """tc_requantize_fast == tc_requantize (TFLM double rounding) for every QuantizeMultiplier output."""
    import ctypes

    from c_harness import load_library, ptr

    rlib = load_library([str(Path(__file__).resolve().parent / "qemu" / "requant_check.c")])
    rng = np.random.default_rng(5)
    edge = [0, 1, -1, 2, -2, 2**30, -2**30, 2**31 - 1, -2**31, -2**31 + 1, 2**31 - 2]
    acc = np.concatenate([edge, rng.integers(-2**31, 2**31, 20000), rng.integers(-70000, 70000, 20000),
                          rng.integers(-300, 300, 600)]).astype(np.int32)
    mult = np.concatenate([[0, 2**30, 2**31 - 1, 2**30 + 1, 2**31 - 2],
                           rng.integers(2**30, 2**31, 59)]).astype(np.int32)
    shifts = np.arange(-31, 8, dtype=np.int32)
    mm = np.repeat(mult, len(shifts)).astype(np.int32)
    ss = np.tile(shifts, len(mult)).astype(np.int32)
    f = rlib.tc_test_requant_mismatches
    f.restype = ctypes.c_int32
    bad = f(ptr(acc, ctypes.c_int32), ctypes.c_int32(len(acc)), ptr(mm, ctypes.c_int32), ptr(ss, ctypes.c_int32),
            ctypes.c_int32(len(mm)))
    assert bad == 0


@SETTINGS
@given(case=dw_cases(kernel=None, multiplier=1, max_channels=40))
def test_depthwise_packed_any_geometry(lib, case):
    """Packed weights + folded bias: every kernel size (unrolled 3x3/5x5/7x7 too), padding, dilation."""
    ran = check_case(lib, case, DW_KERNELS)
    assert "tc_depthwise_conv2d_packed_s8" in ran


def test_folded_requantize():
    """tc_rq_output (folded constants of weights_layout.requant_table) == tc_requantize + zero point,
    for every shift and zero point the folded form accepts."""
    import ctypes
    from types import SimpleNamespace

    from c_harness import load_library, ptr

    from tinycompiler.codegen.weights_layout import requant_table

    rlib = load_library([str(Path(__file__).resolve().parent / "qemu" / "requant_check.c")])
    rng = np.random.default_rng(7)
    edge = [0, 1, -1, 2, -2, 2**30, -2**30, 2**31 - 1, -2**31, -2**31 + 1, 2**31 - 2]
    acc = np.concatenate([edge, rng.integers(-2**31, 2**31, 5000), rng.integers(-70000, 70000, 5000),
                          rng.integers(-300, 300, 600)]).astype(np.int32)
    rows, mults, shifts, zps = [], [], [], []
    for m in [0, 2**30, 2**31 - 1, 2**30 + 1, *rng.integers(2**30, 2**31, 12)]:
        for sh in range(-31, 2):
            for zp in (-128, -1, 0, 5, 127):
                args = SimpleNamespace(multiplier=np.array([m]), shift=np.array([sh]), params={"output_offset": zp})
                t = requant_table(args)
                if t is None:
                    assert sh > -2 or sh < -23, (m, sh, zp)
                    continue
                rows.append(t[0])
                mults.append(m)
                shifts.append(sh)
                zps.append(zp)
    assert len(rows) > 1000
    i32 = lambda a: np.ascontiguousarray(np.asarray(a, np.int32))  # noqa: E731
    rows, mults, shifts, zps = i32(rows), i32(mults), i32(shifts), i32(zps)
    f = rlib.tc_test_rq_mismatches
    f.restype = ctypes.c_int32
    bad = f(ptr(acc, ctypes.c_int32), ctypes.c_int32(len(acc)), ptr(rows, ctypes.c_int32),
            ptr(mults, ctypes.c_int32), ptr(shifts, ctypes.c_int32), ptr(zps, ctypes.c_int32),
            ctypes.c_int32(len(mults)))
    assert bad == 0


# ---------------------------------------------------------------------------------------------------
# builds with kernel variants left out (tc_config.h, as a bundle's tc_model_config.h does): the
# remaining paths stay exact, and a call that needs a missing variant is refused, never wrong

TRIMMED_DW = ("-DTC_DWIP_K3=0", "-DTC_DWIP_K5=0", "-DTC_DWIP_K7=0", "-DTC_DWIP_RUNS_FULL=0", "-DTC_DWIP_COL=0")
TRIMMED_CONV = ("-DTC_CONV_RQ_CLAMP=0", "-DTC_CONV_QUANT=0", "-DTC_CONV_WIDE=0")


@pytest.fixture(scope="module")
def trimmed_dw_lib():
    return library(TRIMMED_DW)


@pytest.fixture(scope="module")
def trimmed_conv_lib():
    return library(TRIMMED_CONV)


@SETTINGS
@given(case=dw_cases(kernel=(3, 3), multiplier=1, dilation1=True, max_hw=14, max_channels=20))
def test_depthwise_inplace_without_unrolled_runs_is_exact(trimmed_dw_lib, case):
    """No 3x3 / 5x5 / 7x7 runs compiled in: every pixel takes the checked loop, same bytes."""
    assert "tc_depthwise_conv2d_inplace_packed_s8" in check_case(trimmed_dw_lib, case,
                                                                 ("tc_depthwise_conv2d_inplace_packed_s8",))


@SETTINGS
@given(case=dw_temporal_cases(max_t=24))
def test_depthwise_inplace_without_column_path_is_exact(trimmed_dw_lib, case):
    """No column path compiled in: 1-D layers take the checked loop, same bytes."""
    assert "tc_depthwise_conv2d_inplace_packed_s8" in check_case(trimmed_dw_lib, case,
                                                                 ("tc_depthwise_conv2d_inplace_packed_s8",))


@SETTINGS
@given(case=conv_cases(max_hw=8, max_channels=12))
def test_conv_packed_without_a_variant_refuses_not_miscomputes(trimmed_conv_lib, case):
    """Only the tc_rq + SSAT variant compiled in (no wide twin): the calls it covers are exact, all others
    refused."""
    from tinycompiler.codegen.weights_layout import requant_table

    args = kernel_args(case.graph.ops[0], case.graph)
    has_rq = requant_table(args) is not None
    assert call(trimmed_conv_lib, "tc_conv2d_packed_s8", args, case.inputs[0], rq_mode="none")[0] != 0
    assert call(trimmed_conv_lib, "tc_conv2d_packed_wide_s8", args, case.inputs[0])[0] != 0  # compiled out
    if has_rq:
        st_, got = call(trimmed_conv_lib, "tc_conv2d_packed_s8", args, case.inputs[0], rq_mode="table")
        if args.params["act_max"] == 127:
            want = _expected(case)
            assert st_ == 0 and np.array_equal(got.reshape(want.shape), want)
        else:
            assert st_ != 0
