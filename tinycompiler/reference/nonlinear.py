"""Nonlinear int8 kernels of the reference interpreter: bit-exact with TFLM's reference kernels.

SOFTMAX (with beta) and LOG_SOFTMAX work along the last axis with gemmlowp fixed-point exp/log
(not a lookup table: TFLM's int8 softmax takes that path). LOGISTIC uses the fixed-point
sigmoid on a Q4.27 input, HARD_SWISH the int16 fixed-point pipeline, RELU requantizes from the
input to the output scale, RELU6 clamps the input values without requantizing (as TFLM does:
it ignores the output quantization).

Each kernel checks the quantization TFLM requires and raises :class:`TinyCompilerError` where
TFLM would refuse the model, abort, or run into undefined behaviour:

* SOFTMAX: ``beta * input_scale * 2**26 <= 1`` (TFLM aborts), and rows whose sum of exponentials
  reaches 512 (TFLM's reciprocal-exponent check aborts; e.g. 512+ lanes equal to the row max);
* SOFTMAX / LOG_SOFTMAX: rows whose sum of exponentials reaches 4096 (int32 accumulator overflow);
* LOGISTIC: input scale below 2**-28; RELU6: ``6 / input_scale`` beyond int32;
* HARD_SWISH: ``input_scale / (128 * output_scale) >= 1`` (TFLM refuses it in Prepare).

Measured against the ``tflite-micro`` wheel: RELU's multiplier is ``in_scale / out_scale`` divided
in double (the C++ source divides the float32 values in float32; the wheel does not round like
that), RELU6 computes ``6 / scale`` in float32.

Every op's compile-time constants (TFLM's Prepare) are computed once, by the public
``<op>_params(op, graph) -> dict`` functions (:func:`softmax_params`, ...). The kernels here and
the C code generator (:mod:`tinycompiler.codegen.op_params`) both use them, so the two cannot
drift apart. Their keys are the field names of the C kernels' params structs (tc_ops.h).
"""

from __future__ import annotations

import math

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.reference import fixedpoint as fp
from tinycompiler.reference.quant import (
    multiply_by_quantized_multiplier,
    multiply_by_quantized_multiplier_greater_than_one,
    quantize_multiplier,
    round_half_away,
)

#: integer bits of the scaled input differences fed to exp() (Q5.26), as in TFLM
_SCALED_DIFF_INTEGER_BITS = 5
#: integer bits of the sum of exponentials (Q12.19)
_ACCUM_INTEGER_BITS = 12
#: integer bits of LOGISTIC's rescaled input (Q4.27), as in TFLM
_LOGISTIC_INPUT_INTEGER_BITS = 4


# ------------------------------------------------------------------------------------------------
# helpers


def _tensors(op, graph):
    """The input and output tensors, checked: int8 with per-tensor quantization."""
    tin = op.input(graph, 0)
    tout = op.output(graph)
    if tin is None:
        raise TinyCompilerError(f"{op.where()}: missing input tensor")
    if tin.dtype != "int8" or tout.dtype != "int8":
        raise TinyCompilerError(
            f"{op.where()}: only int8 input and output are supported, got {tin.dtype} -> "
            f"{tout.dtype}; quantize the model to full int8")
    if tin.quant is None or tout.quant is None:
        raise TinyCompilerError(f"{op.where()}: int8 tensors need quantization parameters")
    if tin.quant.per_channel or tout.quant.per_channel:
        raise TinyCompilerError(f"{op.where()}: needs per-tensor quantization, not per-channel")
    return tin, tout


def _io(op, graph, inputs):
    """The int8 input array (as int64) and the input/output tensors, checked."""
    x = inputs[0]
    if x is None:
        raise TinyCompilerError(f"{op.where()}: missing input tensor")
    tin, tout = _tensors(op, graph)
    x = np.asarray(x)
    if x.dtype != np.int8:
        raise TinyCompilerError(f"{op.where()}: input data must be int8, got {x.dtype}")
    return x.astype(np.int64), tin, tout


def _out_shape(x, tout):
    shape = tout.shape if int(np.prod(tout.shape, dtype=np.int64)) == x.size else x.shape
    return shape


def _finish(op, values, x, tout):
    return np.clip(values, -128, 127).astype(np.int8).reshape(_out_shape(x, tout))


def _rows(x):
    """View ``x`` as (rows, depth) along the last axis (a scalar is one row of one)."""
    if x.ndim == 0:
        return x.reshape(1, 1)
    return x.reshape(-1, x.shape[-1])


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple:
    """TFLite's ``PreprocessSoftmaxScaling``: ``(multiplier, left_shift)`` of ``beta*scale`` in
    Q(input_integer_bits), capped at ``2**31 - 1``. Raises where TFLM would abort (real
    multiplier <= 1, i.e. a degenerate input scale)."""
    real = min(float(beta) * float(input_scale) * float(1 << (31 - input_integer_bits)),
               float((1 << 31) - 1))
    if not real > 1.0 or not math.isfinite(real):
        raise TinyCompilerError(
            f"softmax input scale {input_scale!r} with beta {beta!r} is degenerate "
            f"(beta*scale*2^{31 - input_integer_bits} = {real!r} must be > 1); TFLM aborts on it")
    m, shift = quantize_multiplier(real)
    if shift < 0:
        raise TinyCompilerError(f"softmax scaling {real!r} gives a negative shift")
    return m, shift


def calculate_input_radius(input_integer_bits: int, input_left_shift: int,
                           total_signed_bits: int = 31) -> int:
    """TFLite's ``CalculateInputRadius``: largest input magnitude that cannot overflow."""
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1)
                          * float(1 << (total_signed_bits - input_integer_bits))
                          / float(2.0 ** input_left_shift))
    return int(math.floor(max_input_rescaled))


def _sum_of_exps_q12(op, exps, valid):
    """Row sums of the exponentials in Q12.19, refusing rows that overflow the int32 accumulator
    (a sum of 4096 or more; TFLM's int32 additions would overflow, undefined behaviour)."""
    total = np.where(valid, fp.rescale(exps, 0, _ACCUM_INTEGER_BITS), 0).sum(axis=1, keepdims=True)
    if np.any(total > fp.INT32_MAX):
        raise TinyCompilerError(
            f"{op.where()}: a row's sum of exponentials reaches 4096 and overflows TFLM's Q12.19 "
            f"accumulator; split the last axis (it has {exps.shape[1]} elements)")
    return total


def _exp_of_diffs(diff, valid, multiplier, left_shift):
    """exp(beta * scale * diff) in Q0 for the valid lanes (others get 0, never used)."""
    safe = np.where(valid, diff, 0)
    scaled = multiply_by_quantized_multiplier_greater_than_one(safe, multiplier, left_shift)
    return fp.exp_on_negative_values(scaled, _SCALED_DIFF_INTEGER_BITS), scaled


def _row_exps(op, x, p):
    """The softmaxes' common start along the last axis, with their params ``p``: the differences
    from the row max, the lanes at or above ``diff_min``, their exponentials (Q0), the scaled
    differences (Q5.26) and the row sums of the exponentials (Q12.19)."""
    rows = _rows(x)
    diff = rows - rows.max(axis=1, keepdims=True)
    valid = diff >= p["diff_min"]
    exps, scaled = _exp_of_diffs(diff, valid, p["input_multiplier"], p["input_left_shift"])
    return diff, valid, exps, scaled, _sum_of_exps_q12(op, exps, valid)


def downscale_multiplier_to_int16(m: int) -> int:
    """TFLite's ``DownScaleInt32ToInt16Multiplier`` (round the Q31 multiplier to Q15)."""
    if m >= (1 << 31) - 1 - (1 << 15):
        return 32767
    return (m + (1 << 15)) >> 16


def _wrap_int16(v):
    return ((np.asarray(v, dtype=np.int64) + 32768) & 0xFFFF) - 32768


def _saturate_int16(v):
    return np.clip(v, -32768, 32767)


# ------------------------------------------------------------------------------------------------
# compile-time parameters (TFLM's Prepare): one home for each op's constants


def softmax_params(op, graph) -> dict:
    """SOFTMAX's constants: ``input_multiplier``, ``input_left_shift`` (beta * input scale in
    Q5.26) and ``diff_min`` (differences from the row max below it give exp = 0).

    Refuses an output that is not scale 1/256, zero point -128, and degenerate input scales.
    """
    tin, tout = _tensors(op, graph)
    if tout.quant.zp != -128 or np.float32(tout.quant.s) != np.float32(1.0 / 256):
        raise TinyCompilerError(
            f"{op.where()}: int8 softmax output must have scale 1/256 and zero point -128, got "
            f"scale {tout.quant.s!r}, zero point {tout.quant.zp}")
    beta = float(np.float32(op.attrs.get("beta", 1.0)))
    multiplier, left_shift = preprocess_softmax_scaling(beta, tin.quant.s, _SCALED_DIFF_INTEGER_BITS)
    diff_min = -calculate_input_radius(_SCALED_DIFF_INTEGER_BITS, left_shift)
    return {"input_multiplier": multiplier, "input_left_shift": left_shift, "diff_min": diff_min}


def log_softmax_params(op, graph) -> dict:
    """LOG_SOFTMAX's constants (beta = 1, as TFLM): ``input_multiplier``, ``input_left_shift``,
    ``reverse_scaling_divisor``, ``reverse_scaling_shift`` (PreprocessLogSoftmaxScalingExp: the
    inverse of the input scaling, a multiplier below one) and ``diff_min``.

    Refuses an output that is not scale 16/256, zero point 127, and degenerate input scales.
    """
    tin, tout = _tensors(op, graph)
    if tout.quant.zp != 127 or np.float32(tout.quant.s) != np.float32(16.0 / 256):
        raise TinyCompilerError(
            f"{op.where()}: int8 log_softmax output must have scale 16/256 and zero point 127, "
            f"got scale {tout.quant.s!r}, zero point {tout.quant.zp}")
    multiplier, left_shift = preprocess_softmax_scaling(1.0, tin.quant.s, _SCALED_DIFF_INTEGER_BITS)
    real_reverse = float(1 << (31 - left_shift)) / float(multiplier)
    if not 0.0 < real_reverse < 1.0:
        raise TinyCompilerError(f"{op.where()}: log_softmax input scale {tin.quant.s!r} is degenerate")
    reverse_multiplier, reverse_shift = quantize_multiplier(real_reverse)  # reverse_shift <= 0
    diff_min = -calculate_input_radius(_SCALED_DIFF_INTEGER_BITS, left_shift)
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "reverse_scaling_divisor": reverse_multiplier, "reverse_scaling_shift": reverse_shift,
            "diff_min": diff_min}


def logistic_params(op, graph) -> dict:
    """LOGISTIC's constants: ``input_zp``, ``input_range_radius`` (inputs beyond it saturate),
    ``input_multiplier`` and ``input_left_shift`` (input scale in Q4.27).

    TFLM requires output zero point -128 (and assumes scale 1/256); input scales below 2**-28
    are refused (TFLM's radius shifts by a negative amount: undefined behaviour).
    """
    tin, tout = _tensors(op, graph)
    if tout.quant.zp != -128:
        raise TinyCompilerError(
            f"{op.where()}: int8 logistic output zero point must be -128, got {tout.quant.zp}")
    real = float(tin.quant.s) * float(1 << (31 - _LOGISTIC_INPUT_INTEGER_BITS))
    if not (real > 0 and math.isfinite(real)):
        raise TinyCompilerError(f"{op.where()}: logistic input scale {tin.quant.s!r} is not positive")
    # TFLM's own frexp + TfLiteRound here, without QuantizeMultiplier's renormalisation
    q, left_shift = math.frexp(real)
    multiplier = int(round_half_away(np.float64(q * (1 << 31))))
    if left_shift < 0 or multiplier >= (1 << 31):
        raise TinyCompilerError(
            f"{op.where()}: logistic input scale {tin.quant.s!r} is too small (TFLM needs "
            f"scale >= 2^-28, about 3.7e-9)")
    radius = calculate_input_radius(_LOGISTIC_INPUT_INTEGER_BITS, left_shift, 31)
    return {"input_zp": tin.quant.zp, "input_range_radius": radius, "input_multiplier": multiplier,
            "input_left_shift": left_shift}


def hard_swish_params(op, graph) -> dict:
    """HARD_SWISH's constants, computed in float32 as TFLM's Prepare: ``input_zp``,
    ``output_zp``, the Q15 ``reluish_multiplier_fixedpoint_int16`` / ``reluish_multiplier_exponent``
    and ``output_multiplier_fixedpoint_int16`` / ``output_multiplier_exponent``.

    Refuses ``input_scale / (128 * output_scale) >= 1`` (TFLM does).
    """
    tin, tout = _tensors(op, graph)
    f32 = np.float32
    hires_input_scale = f32(1.0 / 128.0) * f32(tin.quant.s)
    reluish_scale = f32(3.0) / f32(32768.0)
    out_m32, out_exp = quantize_multiplier(float(f32(hires_input_scale / f32(tout.quant.s))))
    relu_m32, relu_exp = quantize_multiplier(float(f32(hires_input_scale / reluish_scale)))
    if out_exp > 0:
        raise TinyCompilerError(
            f"{op.where()}: hard_swish output scale {tout.quant.s!r} is too small for input scale "
            f"{tin.quant.s!r} (TFLM needs input_scale / (128 * output_scale) < 1)")
    return {"input_zp": tin.quant.zp, "output_zp": tout.quant.zp,
            "reluish_multiplier_fixedpoint_int16": downscale_multiplier_to_int16(relu_m32),
            "reluish_multiplier_exponent": relu_exp,
            "output_multiplier_fixedpoint_int16": downscale_multiplier_to_int16(out_m32),
            "output_multiplier_exponent": out_exp}


def relu_params(op, graph) -> dict:
    """RELU's constants: ``input_zp``, ``output_zp``, ``output_multiplier``/``output_shift``
    (input to output scale) and the clamp ``act_min`` (q(0) on the output scale), ``act_max``."""
    tin, tout = _tensors(op, graph)
    # the ratio in double: TFLM's source divides the float32 scales in float32, but the
    # tflite-micro wheel (the oracle) is measured to round like a double division
    multiplier, shift = quantize_multiplier(float(tin.quant.s) / float(tout.quant.s))
    act_min = max(-128, tout.quant.zp + int(round_half_away(np.float32(0.0) / np.float32(tout.quant.s))))
    return {"input_zp": tin.quant.zp, "output_zp": tout.quant.zp, "output_multiplier": multiplier,
            "output_shift": shift, "act_min": act_min, "act_max": 127}


def relu6_params(op, graph) -> dict:
    """RELU6's clamp bounds on the *input* scale: ``lower`` = q(0), ``upper`` = q(6) (TFLM
    ignores the output quantization). Refuses scales where ``6 / scale`` overflows int32."""
    tin, _ = _tensors(op, graph)
    zero = tin.quant.zp
    six_f = float(round_half_away(np.float32(6.0) / np.float32(tin.quant.s))) + zero
    if not -(2.0**31) <= six_f < 2.0**31:
        # TFLM converts this to int32 with undefined behaviour (x86 and Arm disagree)
        raise TinyCompilerError(
            f"{op.where()}: RELU6 input scale {tin.quant.s!r} is too small: 6.0 is not representable "
            f"(6 / scale overflows int32); use a scale above 3e-9")
    return {"lower": zero, "upper": min(max(int(six_f), -128), 127)}


# ------------------------------------------------------------------------------------------------
# kernels


def softmax(op, graph, inputs):
    """SOFTMAX int8 -> int8 along the last axis (output must be scale 1/256, zero point -128)."""
    x, tin, tout = _io(op, graph, inputs)
    _, valid, exps, _, sum_of_exps = _row_exps(op, x, softmax_params(op, graph))

    shifted_scale, num_bits_over_unit = fp.get_reciprocal(sum_of_exps, _ACCUM_INTEGER_BITS)
    exponent = num_bits_over_unit + 31 - 8
    if np.any((exponent < 0) | (exponent > 31)):
        # TFLM checks 0 <= exponent <= 31 and aborts: a row's sum of exponentials is 512 or more
        raise TinyCompilerError(
            f"{op.where()}: a row's sum of exponentials reaches 512 (many of its "
            f"{exps.shape[1]} values are close to the row maximum); TFLM's int8 softmax aborts on "
            f"this, split the last axis or lower beta * input scale")
    out = fp.rdbpot(fp.mul(shifted_scale, exps), exponent) - 128
    out = np.where(valid, np.clip(out, -128, 127), -128)
    return _finish(op, out, x, tout)


def log_softmax(op, graph, inputs):
    """LOG_SOFTMAX int8 -> int8 along the last axis (output scale 16/256, zero point 127).

    TFLM always uses beta = 1 here.
    """
    x, tin, tout = _io(op, graph, inputs)
    p = log_softmax_params(op, graph)
    diff_min = p["diff_min"]
    diff, _, _, diff_in_q5, sum_q12 = _row_exps(op, x, p)

    log_sum_q5 = fp.log_x_for_x_greater_than_or_equal_to_1(
        sum_q12, _ACCUM_INTEGER_BITS, _SCALED_DIFF_INTEGER_BITS)
    shifted_log_sum = fp.add(log_sum_q5, fp.INT32_MIN)
    adjusted_diff_min = np.maximum(
        diff_min - 1, multiply_by_quantized_multiplier(
            shifted_log_sum, p["reverse_scaling_divisor"], p["reverse_scaling_shift"]))

    keep = diff > adjusted_diff_min
    out_bits = 4
    out = fp.rdbpot(fp.sub(diff_in_q5, log_sum_q5), 31 - _SCALED_DIFF_INTEGER_BITS - out_bits) + 127
    out = np.where(keep, np.clip(out, -128, 127), -128)
    return _finish(op, out, x, tout)


def logistic(op, graph, inputs):
    """LOGISTIC int8 -> int8 (TFLM requires output zero point -128 and assumes scale 1/256)."""
    x, tin, tout = _io(op, graph, inputs)
    p = logistic_params(op, graph)
    radius = p["input_range_radius"]

    v = x - p["input_zp"]
    inside = (v > -radius) & (v < radius)
    safe = np.where(inside, v, 0)
    in_q4 = multiply_by_quantized_multiplier(safe, p["input_multiplier"], p["input_left_shift"])
    out_q0 = fp.logistic(in_q4, _LOGISTIC_INPUT_INTEGER_BITS)
    out = np.clip(fp.rdbpot(out_q0, 31 - 8) - 128, -128, 127)
    out = np.where(v <= -radius, -128, np.where(v >= radius, 127, out))
    return _finish(op, out, x, tout)


def hard_swish(op, graph, inputs):
    """HARD_SWISH int8 -> int8 through TFLite's int16 fixed-point pipeline."""
    x, tin, tout = _io(op, graph, inputs)
    p = hard_swish_params(op, graph)
    out_m16, out_exp = p["output_multiplier_fixedpoint_int16"], p["output_multiplier_exponent"]
    relu_m16, relu_exp = p["reluish_multiplier_fixedpoint_int16"], p["reluish_multiplier_exponent"]

    v = _wrap_int16(x - p["input_zp"])
    hires = _wrap_int16(v * 128)
    preshift_out = fp.srdhm16(hires, out_m16)

    reluish = hires
    if relu_exp > 0:
        reluish = _saturate_int16(reluish * (1 << (relu_exp - 1)))
    reluish = fp.srdhm16(reluish, relu_m16)
    if relu_exp > 0:
        reluish = _saturate_int16(reluish * 2)
    if relu_exp < 0:
        reluish = fp.rdbpot16(reluish, -relu_exp)
    reluish = (reluish + (1 << 15)) >> 1

    preshift = fp.saturating_doubling_high_mul16(reluish, preshift_out)
    out = fp.rdbpot16(preshift, -out_exp)
    out = _wrap_int16(out + p["output_zp"])  # int16 arithmetic in TFLM
    return _finish(op, out, x, tout)


def relu(op, graph, inputs):
    """RELU int8 -> int8: requantize from the input to the output scale, clamp at zero."""
    x, tin, tout = _io(op, graph, inputs)
    p = relu_params(op, graph)
    out = p["output_zp"] + multiply_by_quantized_multiplier(
        x - p["input_zp"], p["output_multiplier"], p["output_shift"])
    out = np.minimum(np.maximum(out, p["act_min"]), p["act_max"])
    return _finish(op, out, x, tout)


def relu6(op, graph, inputs):
    """RELU6 int8 -> int8: TFLM clamps the input values to [q(0), q(6)] on the *input* scale.

    The output quantization is not used (TFLM does not requantize here).
    """
    x, tin, tout = _io(op, graph, inputs)
    p = relu6_params(op, graph)
    lower, upper = p["lower"], p["upper"]
    out = np.where(x > upper, upper, np.where(x < lower, lower, x))
    return _finish(op, out, x, tout)


KERNELS = {
    "SOFTMAX": softmax,
    "LOG_SOFTMAX": log_softmax,
    "LOGISTIC": logistic,
    "HARD_SWISH": hard_swish,
    "RELU": relu,
    "RELU6": relu6,
}
