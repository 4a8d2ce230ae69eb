"""Nonlinear int8 reference kernels vs TFLM, bit for bit.

Every case builds a one-op graph with the IR API, writes it with ``write_tflite``, runs it in
TFLM (the PyPI ``tflite-micro`` interpreter) and in the numpy reference interpreter, and
requires identical int8 outputs. Exhaustive sweeps cover all 256 input values (elementwise ops)
and all 65,536 int8 pairs (softmaxes over a last axis of 2).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders_nonlinear import (
    FIXED_OUTPUT_QUANT,
    all_int8,
    all_int8_pairs,
    f32,
    unary_graph,
)
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite.writer import write_tflite
from tinycompiler.oracle.tflm import run_tflm, run_tflm_isolated
from tinycompiler.reference import fixedpoint as fp
from tinycompiler.reference.interpreter import run
from tinycompiler.reference.nonlinear import KERNELS

ARENA = 1 << 20


def reference(graph, x):
    return run(graph, [x])[graph.outputs[0]]


def oracle(graph, x):
    return run_tflm(write_tflite(graph), [x], preserve_all=False, arena_bytes=ARENA).outputs[0]


def assert_matches(graph, x):
    want = oracle(graph, x)
    got = reference(graph, x)
    assert got.dtype == np.int8 and got.shape == want.shape
    if not np.array_equal(got, want):
        bad = np.argwhere(got != want)
        i = tuple(bad[0])
        t_in = graph.tensors[graph.inputs[0]].quant
        t_out = graph.tensors[graph.outputs[0]].quant
        pytest.fail(
            f"{graph.ops[0].kind} {graph.ops[0].attrs} in(s={t_in.s!r}, zp={t_in.zp}) "
            f"out(s={t_out.s!r}, zp={t_out.zp}): {len(bad)}/{got.size} differ; first at {i}: "
            f"x={x[i]} tflm={want[i]} ours={got[i]}")


# ------------------------------------------------------------------------------------------------
# strategies

_scale_exponent = st.one_of(
    st.floats(-3.0, 0.0),  # 1e-3 .. 1, the usual range
    st.sampled_from([-5.0, -4.0, 0.3, 0.6, 1.0, 1.5]),  # tiny and large scales
)
scales = _scale_exponent.map(lambda e: f32(10.0 ** e))
zero_points = st.integers(-128, 127)


@st.composite
def shapes(draw):
    rank = draw(st.integers(1, 4))
    lead = [draw(st.integers(1, 3)) for _ in range(rank - 1)]
    return tuple(lead) + (draw(st.integers(1, 64)),)


@st.composite
def int8_data(draw, shape):
    """Random int8 data; ``spread`` concentrates values below a row maximum so that many lanes
    are near the max (the interesting part of a softmax), or spreads them over the full range."""
    seed = draw(st.integers(0, 2**32 - 1))
    spread = draw(st.sampled_from([256, 256, 64, 16, 4, 1]))
    rng = np.random.default_rng(seed)
    top = rng.integers(-128 + spread - 1, 128) if spread < 256 else 127
    return (top - rng.integers(0, spread, size=shape)).astype(np.int8)


HYP = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------------------
# differential property tests


@HYP
@given(st.data(), shapes(), scales, zero_points,
       st.one_of(st.just(1.0), st.sampled_from([0.5, 2.0, 0.1, 10.0, 100.0]),
                 st.floats(-2.0, 2.0).map(lambda e: 10.0 ** e)))
def test_softmax_matches_tflm(data, shape, s_in, zp_in, beta):
    g = unary_graph("SOFTMAX", shape, s_in, zp_in, beta=f32(beta))
    assert_matches(g, data.draw(int8_data(shape)))


@HYP
@given(st.data(), shapes(), scales, zero_points)
def test_log_softmax_matches_tflm(data, shape, s_in, zp_in):
    g = unary_graph("LOG_SOFTMAX", shape, s_in, zp_in)
    assert_matches(g, data.draw(int8_data(shape)))


@HYP
@given(st.data(), shapes(), scales, zero_points)
def test_logistic_matches_tflm(data, shape, s_in, zp_in):
    g = unary_graph("LOGISTIC", shape, s_in, zp_in)
    assert_matches(g, data.draw(int8_data(shape)))


@HYP
@given(st.data(), shapes(), scales, zero_points, scales, zero_points)
def test_hard_swish_matches_tflm(data, shape, s_in, zp_in, s_out, zp_out):
    # TFLM requires input_scale / (128 * output_scale) < 1; keep the output scale legal
    s_out = max(s_out, f32(s_in / 100.0))
    g = unary_graph("HARD_SWISH", shape, s_in, zp_in, s_out, zp_out)
    assert_matches(g, data.draw(int8_data(shape)))


@HYP
@given(st.data(), shapes(), st.sampled_from(["RELU", "RELU6"]), scales, zero_points, scales, zero_points)
def test_relu_matches_tflm(data, shape, kind, s_in, zp_in, s_out, zp_out):
    g = unary_graph(kind, shape, s_in, zp_in, s_out, zp_out)
    assert_matches(g, data.draw(int8_data(shape)))


# ------------------------------------------------------------------------------------------------
# exhaustive sweeps

# (in_scale, in_zp, out_scale, out_zp)
ELEMENTWISE_QUANTS = [
    (1.0 / 256, -128, 1.0 / 256, -128),
    (0.1, 0, 0.05, -10),
    (0.02352941, 3, 0.0117647, -128),
    (0.001, -100, 0.0005, 20),
    (0.5, 127, 0.1, -128),
    (1.0, -128, 2.0, 0),
    (4.0, 10, 0.2, 50),
    (1e-5, 0, 1e-5, 0),
    (0.0625, -1, 0.125, 5),
]


@pytest.mark.parametrize("kind", ["LOGISTIC", "HARD_SWISH", "RELU", "RELU6"])
@pytest.mark.parametrize("q", ELEMENTWISE_QUANTS, ids=lambda q: "in%g_%d-out%g_%d" % q)
def test_elementwise_all_int8_values(kind, q):
    s_in, zp_in, s_out, zp_out = (f32(q[0]), q[1], f32(q[2]), q[3])
    if kind == "LOGISTIC":
        s_out, zp_out = FIXED_OUTPUT_QUANT[kind]
    if kind == "HARD_SWISH" and s_in / (128 * s_out) >= 1:
        s_out = f32(s_in / 100)
    g = unary_graph(kind, (2, 128), s_in, zp_in, s_out, zp_out)
    assert_matches(g, all_int8().reshape(2, 128))


SOFTMAX_PAIR_SETTINGS = [
    ("SOFTMAX", 1.0 / 256, 1.0),
    ("SOFTMAX", 0.1, 1.0),
    ("SOFTMAX", 0.001, 1.0),
    ("SOFTMAX", 0.05, 0.3),
    ("SOFTMAX", 1.0, 40.0),  # multiplier capped at 2**31 - 1
    ("LOG_SOFTMAX", 1.0 / 256, 1.0),
    ("LOG_SOFTMAX", 0.1, 1.0),
    ("LOG_SOFTMAX", 0.0125, 1.0),
    ("LOG_SOFTMAX", 2.0, 1.0),
]


@pytest.mark.parametrize("kind,s_in,beta", SOFTMAX_PAIR_SETTINGS, ids=lambda v: str(v))
def test_softmax_all_int8_pairs(kind, s_in, beta):
    attrs = {"beta": f32(beta)} if kind == "SOFTMAX" else {}
    g = unary_graph(kind, (65536, 2), f32(s_in), 0, **attrs)
    assert_matches(g, all_int8_pairs())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["SOFTMAX", "LOG_SOFTMAX"])
def test_softmax_all_int8_pairs_scale_sweep(kind):
    for e in np.linspace(-4.0, 0.7, 25):
        for beta in ([1.0] if kind == "LOG_SOFTMAX" else [1.0, 0.37, 3.1]):
            attrs = {"beta": f32(beta)} if kind == "SOFTMAX" else {}
            g = unary_graph(kind, (65536, 2), f32(10.0 ** e), 0, **attrs)
            assert_matches(g, all_int8_pairs())


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["LOGISTIC", "HARD_SWISH", "RELU", "RELU6"])
def test_elementwise_all_int8_values_scale_sweep(kind):
    rng = np.random.default_rng(1234)
    for _ in range(150):
        s_in = f32(10.0 ** rng.uniform(-5, 1.5))
        s_out = f32(10.0 ** rng.uniform(-5, 1.5))
        zp_in, zp_out = (int(v) for v in rng.integers(-128, 128, size=2))
        if kind == "LOGISTIC":
            s_out, zp_out = FIXED_OUTPUT_QUANT[kind]
        if kind == "HARD_SWISH" and s_in / (128 * s_out) >= 1:
            s_out = f32(s_in / 100)
        g = unary_graph(kind, (256,), s_in, zp_in, s_out, zp_out)
        assert_matches(g, all_int8())


@pytest.mark.slow
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), shapes(), scales, zero_points,
       st.floats(-2.0, 2.0).map(lambda e: 10.0 ** e), st.sampled_from(["SOFTMAX", "LOG_SOFTMAX"]))
def test_softmaxes_many_examples(data, shape, s_in, zp_in, beta, kind):
    attrs = {"beta": f32(beta)} if kind == "SOFTMAX" else {}
    g = unary_graph(kind, shape, s_in, zp_in, **attrs)
    assert_matches(g, data.draw(int8_data(shape)))


# ------------------------------------------------------------------------------------------------
# edge cases


@pytest.mark.parametrize("kind", ["SOFTMAX", "LOG_SOFTMAX"])
def test_softmax_degenerate_rows(kind):
    # depth 1, constant rows, a single hot lane, extreme values
    for shape, x in [
        ((5, 1), np.array([[-128], [-1], [0], [1], [127]])),
        ((3, 7), np.array([[5] * 7, [-128] * 7, [127] * 7])),
        ((4, 9), np.array([[127] + [-128] * 8, [-128] * 8 + [127], [0, 1] * 4 + [0], [-128, 127] * 4 + [0]])),
    ]:
        for s_in in (1.0 / 256, 0.3, 0.004):
            g = unary_graph(kind, shape, f32(s_in), -7)
            assert_matches(g, x.astype(np.int8))


def test_scalar_shaped_softmax_as_one_row():
    g = unary_graph("SOFTMAX", (1,), f32(0.1), 0)
    assert_matches(g, np.array([42], dtype=np.int8))


def test_kernels_table():
    assert set(KERNELS) == {"SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6"}


# ------------------------------------------------------------------------------------------------
# refusals: where TFLM refuses a model, the reference refuses it too


def _both_refuse(graph, x, isolated=False):
    with pytest.raises(TinyCompilerError):
        reference(graph, x)
    runner = run_tflm_isolated if isolated else run_tflm
    with pytest.raises(TinyCompilerError):
        runner(write_tflite(graph), [x], preserve_all=False, arena_bytes=ARENA)


@pytest.mark.parametrize("kind,out_scale,out_zp", [
    ("SOFTMAX", 1.0 / 256, 0),
    ("SOFTMAX", 1.0 / 128, -128),
    ("LOG_SOFTMAX", 1.0 / 256, 127),
    ("LOG_SOFTMAX", 16.0 / 256, 0),
    ("LOGISTIC", 1.0 / 256, 0),
])
def test_wrong_output_quantization_is_refused(kind, out_scale, out_zp):
    g = unary_graph(kind, (2, 4), f32(0.1), 0, f32(out_scale), out_zp)
    _both_refuse(g, np.zeros((2, 4), np.int8))


def test_hard_swish_output_scale_too_small_is_refused():
    g = unary_graph("HARD_SWISH", (4,), f32(1.0), 0, f32(1.0 / 256), 0)
    _both_refuse(g, np.zeros((4,), np.int8))


@pytest.mark.slow
def test_degenerate_softmax_scale_is_refused_like_tflm_aborts():
    # beta * scale * 2**26 <= 1: TFLM aborts (TFLITE_CHECK), so it runs in a child process
    g = unary_graph("SOFTMAX", (1, 4), f32(1e-9), 0)
    _both_refuse(g, np.zeros((1, 4), np.int8), isolated=True)


def test_degenerate_softmax_scale_is_refused():
    g = unary_graph("SOFTMAX", (1, 4), f32(1e-9), 0)
    with pytest.raises(TinyCompilerError, match="degenerate"):
        reference(g, np.zeros((1, 4), np.int8))


# ------------------------------------------------------------------------------------------------
# fixed-point helpers against their real-valued meaning


def test_exp_on_negative_values_accuracy():
    a = -np.arange(0, 32 << 26, 12345, dtype=np.int64)  # Q5.26 over [-32, 0]
    got = fp.exp_on_negative_values(a, 5) / 2.0**31
    assert np.max(np.abs(got - np.exp(a / 2.0**26))) < 1e-6


def test_one_over_one_plus_x_accuracy():
    a = np.arange(0, 2**31 - 1, 987654, dtype=np.int64)
    got = fp.one_over_one_plus_x_for_x_in_0_1(a) / 2.0**31
    assert np.max(np.abs(got - 1.0 / (1.0 + a / 2.0**31))) < 1e-8


def test_logistic_and_log_accuracy():
    a = np.arange(-(8 << 27), 8 << 27, 54321, dtype=np.int64)  # Q4.27 over [-8, 8)
    got = fp.logistic(a, 4) / 2.0**31
    assert np.max(np.abs(got - 1.0 / (1.0 + np.exp(-a / 2.0**27)))) < 1e-7
    x = np.arange(1 << 19, 2**31 - 1, 76543, dtype=np.int64)  # Q12.19 over [1, 4096)
    got = fp.log_x_for_x_greater_than_or_equal_to_1(x, 12, 5) / 2.0**26
    assert np.max(np.abs(got - np.log(x / 2.0**19))) < 1e-6


def test_int32_wraparound_and_saturation():
    assert fp.add(2**31 - 1, 1) == -(2**31)
    assert fp.neg(-(2**31)) == -(2**31)
    assert fp.saturating_shift_left(1 << 29, 2) == 2**31 - 1
    assert fp.saturating_shift_left(-(1 << 29), 2) == -(2**31)
    assert fp.rescale(-(2**31), 0, 12) == -(1 << 19)
    assert fp.mul(-(2**31), -(2**31)) == 2**31 - 1
    assert list(fp.count_leading_zeros32(np.array([0, 1, 2**31 - 1, -1]))) == [32, 31, 1, 0]


@pytest.mark.parametrize("kind", ["RELU6", "LOGISTIC"])
def test_tiny_scales_with_undefined_tflm_behaviour_are_refused(kind):
    # 6 / 1e-9 overflows int32 in TFLM's RELU6 prepare, and LOGISTIC's input radius shifts by a
    # negative amount: both undefined behaviour in C++, so the reference refuses the model
    g = unary_graph(kind, (4,), f32(1e-9), 0, f32(1.0 / 256), -128)
    with pytest.raises(TinyCompilerError, match="too small"):
        reference(g, np.zeros((4,), np.int8))


@pytest.mark.parametrize("s_in,zp_in,s_out,zp_out", [
    (0.08451076596975327, -71, 0.056073494255542755, -14),
    (0.034521542489528656, -103, 0.06392878293991089, 5),
    (3.5611831261661564e-09, -65, 2.681562305539842e-09, -97),
])
def test_relu_multiplier_is_a_double_division(s_in, zp_in, s_out, zp_out):
    # scales where float32 and double division of in/out scale give different outputs: the
    # tflite-micro wheel follows the double division
    g = unary_graph("RELU", (256,), s_in, zp_in, s_out, zp_out)
    assert_matches(g, all_int8())


@pytest.mark.parametrize("kind,depth", [("SOFTMAX", 511), ("LOG_SOFTMAX", 4095)])
def test_long_rows_near_the_accumulator_limits(kind, depth):
    # all lanes equal: the sum of exponentials is `depth`, just below where TFLM breaks
    # (SOFTMAX: reciprocal exponent check at 512; LOG_SOFTMAX: Q12.19 accumulator at 4096)
    g = unary_graph(kind, (2, depth), f32(0.05), 3)
    x = np.stack([np.full(depth, 9), np.r_[np.full(depth - 1, 100), [-128]]]).astype(np.int8)
    assert_matches(g, x)


@pytest.mark.parametrize("kind,depth", [("SOFTMAX", 512), ("LOG_SOFTMAX", 4096)])
def test_long_rows_beyond_the_accumulator_limits_are_refused(kind, depth):
    g = unary_graph(kind, (1, depth), f32(0.05), 3)
    with pytest.raises(TinyCompilerError, match="sum of exponentials"):
        reference(g, np.full((1, depth), 7, np.int8))


@pytest.mark.slow
def test_softmax_row_sum_512_aborts_tflm_and_is_refused():
    g = unary_graph("SOFTMAX", (1, 600), f32(0.05), 0)
    _both_refuse(g, np.zeros((1, 600), np.int8), isolated=True)
