"""The numpy reference interpreter against TFLM, op by op, bit for bit (property-based).

Each property draws a random single-op graph (tests/builders.py), writes it with write_tflite,
runs it in the tflite-micro interpreter and in ``tinycompiler.reference.run`` and requires
identical outputs. Plus hand-computed checks of the fixed-point helpers in reference/quant.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import builders as B
from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference import quant as q
from tinycompiler.reference import run

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
N = 100


def check(case):
    B.assert_matches_tflm(case.graph, case.inputs, desc=case.desc)


# ------------------------------------------------------------------------------------------------
# quant.py against hand-computed values


@pytest.mark.parametrize(
    "m, expected",
    [
        (0.0, (0, 0)),
        (0.5, (1 << 30, 0)),
        (1.0, (1 << 30, 1)),
        (0.25, (1 << 30, -1)),
        (0.75, (3 << 29, 0)),
        (3.0, (3 << 29, 2)),
        (-0.5, (-(1 << 30), 0)),
        (1 - 2**-40, (1 << 30, 1)),  # significand rounds up to 2**31: renormalised
        (2**-40, (0, 0)),  # shift below -31 flushes to zero
        (0.0039215686, (1077952569, -7)),  # 0.50196078 * 2**31 = 1077952568.9
        (1 / 3, (1431655765, -1)),  # 0.6666... * 2**31 = 1431655765.33
    ],
)
def test_quantize_multiplier_known_values(m, expected):
    assert q.quantize_multiplier(m) == expected


def test_quantize_multiplier_array_matches_scalar():
    vals = [0.001, 0.5, 0.9999999, 1.7, 123.0]
    ms, ss = q.quantize_multiplier_array(vals)
    assert [(int(a), int(b)) for a, b in zip(ms, ss)] == [q.quantize_multiplier(v) for v in vals]


def test_saturating_rounding_doubling_high_mul_known_values():
    a = np.array([q.INT32_MIN, 1 << 30, 7, -7, 5, -5, 0, q.INT32_MAX])
    b = np.array([q.INT32_MIN, 1 << 30, 1 << 30, 1 << 30, 1 << 29, 1 << 29, 123, q.INT32_MAX])
    # 7 * 2**30 / 2**31 = 3.5 -> 4; -3.5 -> -3 (gemmlowp's nudge rounds negative ties toward zero)
    # 5 * 2**29 / 2**31 = 1.25 -> 1; -1.25 -> -1; MAX*MAX/2**31 = 2**31 - 2 + tiny -> 2147483646
    expected = [q.INT32_MAX, 1 << 29, 4, -3, 1, -1, 0, 2147483646]
    assert q.saturating_rounding_doubling_high_mul(a, b).tolist() == expected


def test_rounding_divide_by_pot_known_values():
    x = np.array([5, -5, 6, -6, 7, -7, 4, -4, 0, 1, -1])
    assert q.rounding_divide_by_pot(x, 1).tolist() == [3, -3, 3, -3, 4, -4, 2, -2, 0, 1, -1]
    assert q.rounding_divide_by_pot(x, 0).tolist() == x.tolist()
    assert q.rounding_divide_by_pot(np.array([10, -10, 11, -11]), 2).tolist() == [3, -3, 3, -3]
    # per-element exponents
    assert q.rounding_divide_by_pot(np.array([10, 10]), np.array([1, 2])).tolist() == [5, 3]


def test_multiply_by_quantized_multiplier_known_values():
    x = np.array([100, -100, 3, 12345, -7])
    # multiplier 0.5 * 2**-1 = 0.25 with double rounding: 12345 -> 6173 (3086.5 after the high mul)... -> 3087
    assert q.multiply_by_quantized_multiplier(x, 1 << 30, -1).tolist() == [25, -25, 1, 3087, -2]
    # left shift: 3 << 2 = 12, times 0.5 = 6
    assert q.multiply_by_quantized_multiplier(np.array([3]), 1 << 30, 2).tolist() == [6]
    # per-channel broadcast over the last axis
    acc = np.array([[8, 8], [-8, -8]])
    assert q.multiply_by_quantized_multiplier(acc, np.array([1 << 30, 1 << 30]), np.array([0, -2])).tolist() == [
        [4, 1], [-4, -1]]


def test_round_half_away_and_wrap():
    r = q.round_half_away(np.array([0.5, -0.5, 1.5, 2.5, -2.5, 0.49999999999999994, 2.4999]))
    assert r.tolist() == [1, -1, 2, 3, -3, 0, 2]
    assert q.round_half_away(np.float32(2.5)).dtype == np.float32
    assert q.wrap_int32(np.array([2**31, -(2**31) - 1, 5])).tolist() == [-(2**31), 2**31 - 1, 5]


@pytest.mark.parametrize(
    "act, scale, zp, expected",
    [
        ("NONE", 0.1, 3, (-128, 127)),
        ("RELU", 0.1, -5, (-5, 127)),
        ("RELU", 0.1, -128, (-128, 127)),
        ("RELU6", 0.05, -128, (-128, -8)),  # 6 / 0.05 = 120 -> -8
        ("RELU6", 6 / 255, -128, (-128, 127)),
        ("RELU6", 0.01, 0, (0, 127)),  # 600 clamps to 127
        ("RELU_N1_TO_1", 0.01, 0, (-100, 100)),
        ("RELU_N1_TO_1", 0.004, 10, (-128, 127)),
        ("RELU", 0.02, 127, (127, 127)),
    ],
)
def test_activation_range_known_values(act, scale, zp, expected):
    assert q.activation_range(act, scale, zp) == expected


def test_activation_range_rounds_in_float32():
    # 6 / 0.0235294122 (float32 of 6/255) = 255.0000... in float32; TFLite gets zp + 255
    s = float(np.float32(6 / 255))
    assert q.quantize_value(s, -128, 6.0) == -128 + int(np.round(np.float32(6.0) / np.float32(s)))


def test_unknown_activation_is_a_user_error():
    with pytest.raises(TinyCompilerError):
        q.activation_range("TANH", 0.1, 0)


# ------------------------------------------------------------------------------------------------
# ops against TFLM


@settings(max_examples=150, **SETTINGS)
@given(B.st_conv2d(max_hw=10, max_channels=24))
def test_conv2d(case):
    check(case)


@settings(max_examples=25, **SETTINGS)
@given(B.st_conv2d(max_hw=6, max_channels=64, max_kernel=3))
def test_conv2d_wide_channels(case):
    check(case)


@settings(max_examples=150, **SETTINGS)
@given(B.st_depthwise(max_hw=10, max_channels=24))
def test_depthwise_conv2d(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_fully_connected())
def test_fully_connected(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_binary("ADD"))
def test_add(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_binary("MUL"))
def test_mul(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_pool("AVERAGE_POOL_2D"))
def test_average_pool(case):
    check(case)


@settings(max_examples=60, **SETTINGS)
@given(B.st_pool("MAX_POOL_2D"))
def test_max_pool(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_mean())
def test_mean(case):
    check(case)


@settings(max_examples=60, **SETTINGS)
@given(B.st_pad())
def test_pad(case):
    check(case)


@settings(max_examples=60, **SETTINGS)
@given(B.st_concat())
def test_concatenation(case):
    check(case)


@settings(max_examples=60, **SETTINGS)
@given(B.st_transpose())
def test_transpose(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_resize_nearest())
def test_resize_nearest_neighbor(case):
    check(case)


@settings(max_examples=N, **SETTINGS)
@given(B.st_quantize())
def test_quantize(case):
    check(case)


@settings(max_examples=60, **SETTINGS)
@given(B.st_dequantize())
def test_dequantize(case):
    check(case)


@settings(max_examples=10, **SETTINGS)
@given(st.integers(0, 2**31 - 1))
def test_small_cnn_chain(seed):
    g = B.small_cnn_graph(seed)
    check(B.make_case(g, seed, f"small_cnn seed={seed}"))


# ------------------------------------------------------------------------------------------------
# targeted cases


def test_kws_style_asymmetric_same_padding():
    """10x4 kernel, stride 2, SAME: TFLite pads more at the bottom/right."""
    for seed in range(3):
        g = B.conv2d_graph(seed, 49, 10, 1, 8, 10, 4, stride=2, padding="SAME", activation="RELU")
        check(B.make_case(g, seed))


def test_reshape_and_squeeze():
    for seed in range(3):
        check(B.make_case(B.reshape_graph(seed, (1, 2, 3, 4), (1, 24)), seed))
        check(B.make_case(B.squeeze_graph(seed, (1, 1, 5, 1), [1, 3]), seed))


def test_fully_connected_keep_num_dims():
    g = B.fully_connected_graph(3, 0, 0, 5, input_shape=(2, 3, 7), keep_num_dims=True)
    check(B.make_case(g, 3))


def test_fully_connected_flattens_4d_input():
    rng = np.random.default_rng(5)
    g, x = B.new_graph(rng, (1, 2, 2, 6))
    y = B.add_fully_connected(g, rng, x, 4, per_channel=True, bias=False)
    check(B.make_case(B.finish(g, y), 5))


def test_mean_spatial_large():
    """The global-average-pool MEAN of real models (many elements: multiplier folding)."""
    for seed, shape in enumerate([(1, 7, 7, 64), (1, 20, 20, 8), (1, 3, 3, 1280)]):
        check(B.make_case(B.mean_graph(seed, shape, (1, 2), keep_dims=seed % 2 == 0), seed))


def test_quantize_out_of_range_floats():
    """Huge, tiny and half-way floats (rounding ties away from zero) quantize as TFLM does."""
    g = B.quantize_graph(7, (1, 16))
    s, zp = g.tensors[g.outputs[0]].quant.s, g.tensors[g.outputs[0]].quant.zp
    vals = np.array([0.5 * s, -0.5 * s, 1.5 * s, -2.5 * s, 1e6, -1e6, 127.5 * s, -128.5 * s,
                     0.0, -0.0, 3e9 * s, -3e9 * s, 1e-30, 200 * s, -200 * s, 2.5 * s], np.float32)
    B.assert_matches_tflm(g, [vals.reshape(1, 16)])


def test_requantize_int8_same_and_scaled():
    rng = np.random.default_rng(0)
    for zp_out in (-128, 0, 5):
        for ratio in (1.0, 0.5, 3.7, 0.01):
            g, x = B.new_graph(rng, (4, 8))
            qi = g.tensors[x].quant
            y = B.add_quantize(g, rng, x, B.act_quant(rng, scale=float(np.float32(qi.s * ratio)), zero_point=zp_out))
            B.finish(g, y)
            check(B.make_case(g, 1))


def test_concatenation_with_differing_quant_is_refused_like_tflm():
    """TFLM's int8 CONCATENATION requires every input to share the output's scale and zero point;
    the reference refuses such a graph too rather than invent semantics TFLM does not have."""
    g = B.concat_graph(1, [(1, 2, 3), (1, 2, 3)], axis=1, same_quant=False)
    xs = B.random_inputs(g, 0)
    with pytest.raises(TinyCompilerError, match="quantized differently"):
        run(g, xs)
    from tinycompiler.frontends.tflite import write_tflite
    from tinycompiler.oracle.tflm import run_tflm

    with pytest.raises(TinyCompilerError):
        run_tflm(write_tflite(g), xs)


def test_depthwise_with_absent_bias_slot_runs_in_tflm():
    from tinycompiler.frontends.tflite import write_tflite
    from tinycompiler.oracle.tflm import run_tflm_isolated

    g = B.depthwise_graph(7, 7, 6, 5, 1, 3, 3, bias=False)
    g.ops[0].inputs = g.ops[0].inputs[:2] + [None]
    case = B.make_case(g, 7)
    ref = run(g, case.inputs)
    res = run_tflm_isolated(write_tflite(g), case.inputs)
    assert B.first_mismatch(g, ref, res.tensors) is None


def test_interpreter_validates_inputs():
    g = B.conv2d_graph(0, 5, 5, 2, 3, 3, 3)
    good = B.random_inputs(g, 0)
    with pytest.raises(TinyCompilerError, match="shape"):
        run(g, [good[0][:, :4]])
    with pytest.raises(TinyCompilerError, match="int8"):
        run(g, [good[0].astype(np.int16)])
    with pytest.raises(TinyCompilerError, match="input"):
        run(g, [])
    out = run(g, good)
    assert set(out) == {g.inputs[0], g.outputs[0]}


def test_interpreter_rejects_unknown_op():
    g = B.conv2d_graph(0, 5, 5, 2, 3, 3, 3)
    g.ops[0].kind = "LSTM"
    with pytest.raises(TinyCompilerError, match="LSTM"):
        run(g, B.random_inputs(g, 0))


# ------------------------------------------------------------------------------------------------
# bigger sweeps


@pytest.mark.slow
@settings(max_examples=2000, **SETTINGS)
@given(B.st_conv2d(max_hw=16, max_channels=64))
def test_conv2d_sweep(case):
    check(case)


@pytest.mark.slow
@settings(max_examples=2000, **SETTINGS)
@given(B.st_depthwise(max_hw=16, max_channels=64))
def test_depthwise_sweep(case):
    check(case)


@pytest.mark.slow
@settings(max_examples=2000, **SETTINGS)
@given(st.one_of(B.st_binary(), B.st_pool(), B.st_mean(), B.st_fully_connected(), B.st_quantize(),
                 B.st_resize_nearest()))
def test_misc_sweep(case):
    check(case)


def test_mean_extreme_scale_ratios():
    """MEAN whose multiplier folding hits the ``31 + shift`` and ``32`` caps."""
    from tinycompiler.ir import Quant

    rng = np.random.default_rng(0)
    for ratio in (1e-6, 1e-4, 0.01, 1.0, 100.0, 3e4):
        for shape in [(1, 64, 64, 2), (1, 3, 3, 5), (2, 16, 16, 3)]:
            g, x = B.new_graph(rng, shape)
            y = B.add_mean(g, rng, x, (1, 2), True)
            s = g.tensors[x].quant.s
            g.tensors[y].quant = Quant(np.array([s * ratio], np.float32), np.array([3]))
            check(B.make_case(B.finish(g, y), 1, f"mean ratio={ratio} {shape}"))


def test_add_mul_extreme_input_scale_ratios():
    rng = np.random.default_rng(1)
    for r in (1e-3, 1.0, 700.0):
        for kind in ("ADD", "MUL"):
            g, a = B.new_graph(rng, (1, 4, 4, 8))
            b = g.add_tensor("in2", (1, 4, 4, 8), "int8",
                             B.act_quant(rng, scale=float(np.float32(g.tensors[a].quant.s * r)))).index
            g.inputs.append(b)
            check(B.make_case(B.finish(g, B.add_binary(g, rng, kind, a, b, "RELU")), 2, f"{kind} ratio={r}"))
