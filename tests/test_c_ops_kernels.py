"""Differential tests of the non-conv int8 C kernels (runtime_c/include/tc_ops.h) against the numpy
reference interpreter, bit for bit.

Each test builds a random single-op graph with tests/builders.py, computes the kernel's constants
with tinycompiler/codegen/op_params.py (so the parameter derivation is tested too), calls the C
kernel through ctypes and compares with ``tinycompiler.reference.run``. Unary ops are also swept
over all 256 input values for many random quantizations, ADD/MUL over all 65,536 input pairs.
A subprocess reruns a fixed set of cases under ASan+UBSan, and the sources are compiled for
Cortex-M4 with arm-none-eabi-gcc -Werror.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

import builders  # noqa: E402
import builders_nonlinear as bnl  # noqa: E402
from c_harness import RUNTIME, SANITIZE_FLAGS, load_library, ptr  # noqa: E402

from tinycompiler.codegen.op_params import op_params  # noqa: E402
from tinycompiler.errors import TinyCompilerError  # noqa: E402
from tinycompiler.ir import Graph, Quant  # noqa: E402
from tinycompiler.reference import run  # noqa: E402

SOURCES = [
    "tc_add_s8.c", "tc_mul_s8.c", "tc_avgpool_s8.c", "tc_maxpool_s8.c", "tc_mean_s8.c", "tc_pad_s8.c",
    "tc_concat_s8.c", "tc_transpose_s8.c", "tc_resize_nearest_s8.c", "tc_copy_s8.c", "tc_softmax_s8.c",
    "tc_log_softmax_s8.c", "tc_logistic_s8.c", "tc_hard_swish_s8.c", "tc_relu_s8.c",
    "tc_quantize_f32_s8.c", "tc_dequantize_s8_f32.c", "tc_requantize_s8.c",
]

SETTINGS = settings(max_examples=int(os.environ.get("TC_OPS_EXAMPLES", "150")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def library(extra_flags=()):
    return load_library(SOURCES, extra_flags)


@pytest.fixture(scope="module")
def lib():
    return library()


# ------------------------------------------------------------------------------------------------
# ctypes glue: structs are built from op_params' dicts, whose key order is the C field order


class Dims(ctypes.Structure):
    _fields_ = [("n", ctypes.c_int32), ("h", ctypes.c_int32), ("w", ctypes.c_int32), ("c", ctypes.c_int32)]


class Requant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.c_int32), ("shift", ctypes.c_int32), ("input_zp", ctypes.c_int32),
                ("output_zp", ctypes.c_int32)]


class ConcatParams(ctypes.Structure):
    _fields_ = [("num_inputs", ctypes.c_int32), ("outer_size", ctypes.c_int32),
                ("copy_sizes", ctypes.POINTER(ctypes.c_int32)), ("requant", ctypes.POINTER(Requant))]


_STRUCTS: dict = {}


def struct_of(values: dict):
    """A ctypes struct instance whose fields are ``values`` in order (int32, int32[6] or float)."""
    fields = []
    for k, v in values.items():
        if isinstance(v, list):
            fields.append((k, ctypes.c_int32 * len(v)))
        elif isinstance(v, float):
            fields.append((k, ctypes.c_float))
        else:
            fields.append((k, ctypes.c_int32))
    key = tuple((k, t) for k, t in fields)
    cls = _STRUCTS.get(key)
    if cls is None:
        cls = type("S%d" % len(_STRUCTS), (ctypes.Structure,), {"_fields_": fields})
        _STRUCTS[key] = cls
    s = cls()
    for k, v in values.items():
        if isinstance(v, list):
            getattr(s, k)[:] = [int(x) for x in v]
        elif isinstance(v, float):
            setattr(s, k, v)
        else:
            setattr(s, k, int(v))
    return s


def _values(graph: Graph, inputs) -> dict:
    vals = {i: np.ascontiguousarray(x) for i, x in zip(graph.inputs, inputs)}
    for t in graph.tensors:
        if t.data is not None:
            vals[t.index] = np.ascontiguousarray(np.asarray(t.data).reshape(t.shape))
    return vals


def run_kernel(lib, graph: Graph, inputs, op=None) -> np.ndarray:
    """Run ``op`` (default: the graph's only op) with the C kernel op_params chooses."""
    op = op or graph.ops[0]
    p = op_params(op, graph)
    vals = _values(graph, inputs)
    x = vals[op.inputs[0]]
    out_t = op.output(graph)
    out = np.zeros(out_t.shape, np.float32 if out_t.dtype == "float32" else np.int8)
    name = p["kernel"]
    fn = getattr(lib, name)
    fn.restype = ctypes.c_int if name == "tc_avgpool_s8" else None
    params = struct_of(p["params"]) if "params" in p else None
    if name in ("tc_add_s8", "tc_mul_s8"):
        b = vals[op.inputs[1]]
        fn(ctypes.byref(params), ctypes.byref(struct_of(p["broadcast"])), ptr(x), ptr(b), ptr(out))
    elif name in ("tc_avgpool_s8", "tc_maxpool_s8", "tc_resize_nearest_s8"):
        r = fn(ctypes.byref(params), ctypes.byref(Dims(**p["in_dims"])), ptr(x),
               ctypes.byref(Dims(**p["out_dims"])), ptr(out))
        assert name != "tc_avgpool_s8" or r == 0, f"{name} refused its arguments"
    elif name in ("tc_mean_s8", "tc_pad_s8", "tc_transpose_s8"):
        fn(ctypes.byref(params), ptr(x), ptr(out))
    elif name == "tc_concat_s8":
        ins = [vals[i] for i in op.inputs]
        sizes = np.asarray(p["copy_sizes"], np.int32)
        rq = None
        if p["requant"] is not None:
            rq = (Requant * len(ins))(*[Requant(**r) for r in p["requant"]])
        cp = ConcatParams(p["num_inputs"], p["outer_size"], ptr(sizes, ctypes.c_int32),
                          ctypes.cast(rq, ctypes.POINTER(Requant)) if rq is not None else None)
        arr = (ctypes.POINTER(ctypes.c_int8) * len(ins))(*[ptr(a) for a in ins])
        fn(ctypes.byref(cp), arr, ptr(out))
    elif name == "tc_copy_s8":
        fn(ctypes.c_int32(p["size"]), ptr(x), ptr(out))
    elif name in ("tc_softmax_s8", "tc_log_softmax_s8"):
        fn(ctypes.byref(params), ctypes.c_int32(p["outer"]), ctypes.c_int32(p["depth"]), ptr(x), ptr(out))
    elif name == "tc_quantize_f32_s8":
        fn(ctypes.byref(params), ctypes.c_int32(p["size"]), ptr(x, ctypes.c_float), ptr(out))
    elif name == "tc_dequantize_s8_f32":
        fn(ctypes.byref(params), ctypes.c_int32(p["size"]), ptr(x), ptr(out, ctypes.c_float))
    else:  # elementwise unary: (params, size, in, out)
        fn(ctypes.byref(params), ctypes.c_int32(p["size"]), ptr(x), ptr(out))
    return out


def check(lib, case_or_graph, inputs=None, desc=""):
    """Assert the C kernel equals the reference interpreter bit for bit on a single-op graph."""
    if isinstance(case_or_graph, Graph):
        graph = case_or_graph
    else:
        graph, inputs, desc = case_or_graph.graph, case_or_graph.inputs, repr(case_or_graph)
    want = run(graph, inputs)[graph.outputs[0]]
    got = run_kernel(lib, graph, inputs).reshape(want.shape)
    if want.dtype == np.float32:
        same = np.array_equal(got.view(np.uint32), want.view(np.uint32))
    else:
        same = np.array_equal(got, want)
    if not same:
        bad = np.argwhere(got != want)
        pos = tuple(bad[0]) if len(bad) else ()
        x = np.asarray(inputs[0])
        raise AssertionError(
            f"{graph.ops[0].kind} C kernel differs from the reference on {desc or graph.name}: {len(bad)} of "
            f"{want.size} elements; first at {pos}: got {got[pos]} want {want[pos]}"
            + (f" (input {x.reshape(want.shape)[pos]})" if x.size == want.size else "")
            + f"\nparams: {op_params(graph.ops[0], graph)}")
    return want


# ------------------------------------------------------------------------------------------------
# strategies for the nonlinear ops (their output quantization is fixed by TFLM for some)


@st.composite
def st_nonlinear(draw, kind, max_rank=3, max_dim=40):
    shape = tuple(draw(st.integers(1, max_dim)) for _ in range(draw(st.integers(1, max_rank))))
    seed = draw(builders.seeds)
    rng = np.random.default_rng(seed)
    in_scale = bnl.f32(10 ** rng.uniform(-3, 0))
    in_zp = int(rng.integers(-128, 128))
    out_scale = out_zp = None
    if kind in ("HARD_SWISH", "RELU"):
        out_scale = bnl.f32(in_scale * rng.uniform(0.3, 3.0))
        out_zp = int(rng.integers(-128, 128))
    attrs = {"beta": bnl.f32(rng.uniform(0.1, 2.0))} if kind == "SOFTMAX" else {}
    g = bnl.unary_graph(kind, shape, in_scale, in_zp, out_scale, out_zp, **attrs)
    x = rng.integers(-128, 128, size=shape).astype(np.int8)
    if kind in ("SOFTMAX", "LOG_SOFTMAX") and draw(st.booleans()):
        # narrow rows: many values near the max, the regime where rounding decides
        x = (rng.integers(-6, 1, size=shape) + int(rng.integers(-120, 127))).clip(-128, 127).astype(np.int8)
    return builders.Case(g, [x], f"{kind} {shape} in=({in_scale}, {in_zp}) out=({out_scale}, {out_zp}) "
                                 f"{attrs} seed={seed}")


# ------------------------------------------------------------------------------------------------
# ADD / MUL


@SETTINGS
@given(case=builders.st_binary())
def test_add_mul_broadcast(lib, case):
    check(lib, case)


@pytest.mark.parametrize("kind", ["ADD", "MUL"])
@pytest.mark.parametrize("seed", range(6))
def test_add_mul_all_pairs(lib, kind, seed):
    act = builders.ACTIVATIONS[seed % 4]
    g = builders.binary_graph(seed, kind, (65536,), (65536,), activation=act)
    pairs = bnl.all_int8_pairs()
    check(lib, g, [np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])],
          f"{kind} all pairs seed={seed} {act}")


def test_broadcast_rank6_and_scalar(lib):
    for s1, s2 in [((2, 1, 3, 1, 2, 2), (1, 4, 1, 5, 1, 2)), ((1,), (3, 1, 4)), ((), (2, 3)),
                   ((5, 1, 1, 1, 1, 1), (1, 1, 1, 1, 1, 7))]:
        for kind in ("ADD", "MUL"):
            g = builders.binary_graph(len(s1) + len(s2), kind, s1, s2, activation="RELU")
            check(lib, builders.make_case(g, 3, f"{kind} {s1} {s2}"))


# ------------------------------------------------------------------------------------------------
# pooling, mean


@SETTINGS
@given(case=builders.st_pool())
def test_pool(lib, case):
    check(lib, case)


@settings(SETTINGS, max_examples=max(10, SETTINGS.max_examples // 2))
@given(kind=st.sampled_from(("AVERAGE_POOL_2D", "MAX_POOL_2D")), h=st.integers(1, 9), w=st.integers(1, 9),
       fh=st.integers(1, 6), fw=st.integers(1, 6), sh=st.integers(1, 3), sw=st.integers(1, 3),
       batch=st.integers(1, 3), act=builders.activations, seed=builders.seeds)
def test_pool_same_windows_larger_than_input(lib, kind, h, w, fh, fw, sh, sw, batch, act, seed):
    """SAME padding with filters wider than the input: windows clipped on both sides."""
    g = builders.pool_graph(seed, kind, h, w, 3, fh, fw, (sh, sw), "SAME", act, batch=batch)
    check(lib, builders.make_case(g, seed, f"{kind} {h}x{w} f{fh}x{fw} s{sh}x{sw} b{batch} {act}"))


@SETTINGS
@given(case=builders.st_mean())
def test_mean(lib, case):
    check(lib, case)


@settings(SETTINGS, max_examples=max(10, SETTINGS.max_examples // 2))
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=5), data=st.data(), keep=st.booleans(),
       same=st.booleans(), seed=builders.seeds)
def test_mean_any_axes(lib, shape, data, keep, same, seed):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(-rank, rank - 1), min_size=1, max_size=rank))
    g = builders.mean_graph(seed, tuple(shape), tuple(axes), keep, same)
    check(lib, builders.make_case(g, seed, f"MEAN {shape} axes={axes} keep={keep} same={same}"))


def test_mean_large_count(lib):
    """A 64x64 spatial mean: the 1/count folding clamps the shift; extreme zero points."""
    for zp in (-128, 127, 0):
        g = builders.mean_graph(zp & 0xFF, (1, 64, 64, 3), (1, 2), True)
        g.tensors[g.inputs[0]].quant = Quant([0.02], [zp])
        x = np.full((1, 64, 64, 3), -128 if zp > 0 else 127, np.int8)
        check(lib, g, [x], f"MEAN 64x64 zp={zp}")
        check(lib, builders.make_case(g, zp & 0xFF))


# ------------------------------------------------------------------------------------------------
# data movement


@SETTINGS
@given(case=builders.st_pad())
def test_pad(lib, case):
    check(lib, case)


@SETTINGS
@given(case=builders.st_transpose())
def test_transpose(lib, case):
    check(lib, case)


@SETTINGS
@given(case=builders.st_concat())
def test_concat(lib, case):
    check(lib, case)


@settings(SETTINGS, max_examples=max(10, SETTINGS.max_examples // 2))
@given(case=builders.st_concat())
def test_concat_requantizing_inputs(lib, case):
    """Inputs with their own quantization (TFLM refuses these; we requantize as int8 QUANTIZE)."""
    from tinycompiler.reference.quantize import requantize

    g = case.graph
    rng = np.random.default_rng(len(g.tensors))
    for i in g.inputs[1:]:
        g.tensors[i].quant = builders.act_quant(rng)
    op = g.ops[0]
    out_q = op.output(g).quant
    axis = op.attrs["axis"] % len(op.output(g).shape)
    want = np.concatenate([
        requantize(x, g.tensors[i].quant.s, g.tensors[i].quant.zp, out_q.s, out_q.zp, "int8")
        for i, x in zip(g.inputs, case.inputs)], axis=axis)
    assert np.array_equal(run_kernel(lib, g, case.inputs), want), repr(case)


@SETTINGS
@given(case=builders.st_resize_nearest())
def test_resize_nearest(lib, case):
    check(lib, case)


def test_resize_nearest_exhaustive_sizes(lib):
    """Every in/out size pair up to 13 for the three index modes (float rounding at the edges)."""
    for ac, hp in ((False, False), (True, False), (False, True)):
        for h in range(1, 14):
            for oh in range(1, 14):
                g = builders.resize_nearest_graph(h * 31 + oh, h, 2, 1, oh, 3, ac, hp, batch=2)
                check(lib, builders.make_case(g, oh, f"resize {h}->{oh} ac={ac} hp={hp}"))


@pytest.mark.parametrize("kind", ["RESHAPE", "SQUEEZE"])
def test_views_copy(lib, kind):
    g = builders.reshape_graph(1, (1, 4, 5, 1), (20, 1)) if kind == "RESHAPE" else \
        builders.squeeze_graph(1, (1, 4, 5, 1), [0, 3])
    assert op_params(g.ops[0], g)["view"]
    check(lib, builders.make_case(g, 1))


# ------------------------------------------------------------------------------------------------
# nonlinear


@pytest.mark.parametrize("kind", ["SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6"])
def test_nonlinear_random(lib, kind):
    @SETTINGS
    @given(case=st_nonlinear(kind))
    def inner(case):
        try:
            op_params(case.graph.ops[0], case.graph)
        except TinyCompilerError:  # a quantization TFLM refuses too: the reference must refuse
            with pytest.raises(TinyCompilerError):
                run(case.graph, case.inputs)
            return
        check(lib, case)

    inner()


def _unary_sweep(lib, kind, n, seed0=0):
    """All 256 input values for ``n`` random quantizations."""
    rng = np.random.default_rng(1000 + seed0)
    checked = 0
    for i in range(n):
        in_scale = bnl.f32(10 ** rng.uniform(-3.5, 0.5))
        in_zp = int(rng.integers(-128, 128))
        out_scale = out_zp = None
        if kind in ("HARD_SWISH", "RELU"):
            out_scale = bnl.f32(in_scale * 10 ** rng.uniform(-1, 1))
            out_zp = int(rng.integers(-128, 128))
        attrs = {"beta": bnl.f32(rng.uniform(0.05, 3.0))} if kind == "SOFTMAX" else {}
        shape = (1, 256) if kind in ("SOFTMAX", "LOG_SOFTMAX") else (256,)
        g = bnl.unary_graph(kind, shape, in_scale, in_zp, out_scale, out_zp, **attrs)
        try:
            op_params(g.ops[0], g)
        except TinyCompilerError:
            continue
        check(lib, g, [bnl.all_int8().reshape(shape)], f"{kind} all int8 in=({in_scale}, {in_zp}) "
                                                  f"out=({out_scale}, {out_zp}) {attrs}")
        checked += 1
    assert checked >= n // 2


@pytest.mark.parametrize("kind", ["SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6"])
def test_nonlinear_all_int8(lib, kind):
    _unary_sweep(lib, kind, 300)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "HARD_SWISH", "RELU", "RELU6"])
def test_nonlinear_all_int8_sweep(lib, kind):
    _unary_sweep(lib, kind, 20000, seed0=7)


def test_hard_swish_extreme_scales(lib):
    """Scales that push the int16 pipeline's exponents to their ends (saturation, shifts > 15)."""
    for in_scale, out_scale in [(1.0, 0.05), (0.9, 0.9), (1e-5, 1e-3), (1e-4, 0.2), (0.3, 0.002),
                                (4.0, 0.5), (0.05, 0.0005)]:
        for zp in (-128, 0, 127):
            g = bnl.unary_graph("HARD_SWISH", (256,), bnl.f32(in_scale), zp, bnl.f32(out_scale), -zp // 2)
            try:
                op_params(g.ops[0], g)
            except TinyCompilerError:
                continue
            check(lib, g, [bnl.all_int8()], f"hard_swish {in_scale} {out_scale} zp={zp}")


# ------------------------------------------------------------------------------------------------
# (de)quantization


@SETTINGS
@given(case=builders.st_quantize())
def test_quantize(lib, case):
    check(lib, case)


@SETTINGS
@given(case=builders.st_dequantize())
def test_dequantize(lib, case):
    check(lib, case)


@pytest.mark.parametrize("seed", range(40))
def test_requantize_and_dequantize_all_int8(lib, seed):
    rng = np.random.default_rng(seed)
    g = builders.quantize_graph(rng, (256,), from_float=False)
    check(lib, g, [bnl.all_int8()], f"requantize all int8 seed={seed}")
    g = builders.dequantize_graph(rng, (256,))
    check(lib, g, [bnl.all_int8()], f"dequantize all int8 seed={seed}")


def test_quantize_float_edges(lib):
    """Ties at .5, values just around them, and NaN / inf / beyond-int32 quotients (x86 TFLM's wrap)."""
    rng = np.random.default_rng(5)
    for _ in range(30):
        g = builders.quantize_graph(rng, (400,), from_float=True)
        s = np.float32(g.ops[0].output(g).quant.s)
        k = np.arange(-200, 200, dtype=np.float32)
        x = ((k + np.float32(0.5)) * s).astype(np.float32)
        x[::7] = np.nextafter(x[::7], np.float32(np.inf))
        x[1::7] = np.nextafter(x[1::7], np.float32(-np.inf))
        x[5], x[6], x[7], x[8], x[9] = np.nan, -np.inf, np.float32(-1e30), np.float32(0.0), np.inf
        x[10], x[11] = np.float32(3e9) * s, np.float32(-2**31) * s
        check(lib, g, [x], f"quantize edges scale={s}")


# ------------------------------------------------------------------------------------------------
# straight against the oracle: C kernel vs the tflite-micro interpreter (no reference in between)


def _oracle_cases():
    rng = np.random.default_rng(2024)
    cases = []
    for i in range(4):
        seed = int(rng.integers(0, 2**31 - 1))
        cases += [
            builders.binary_graph(seed, "ADD", (1, 3, 4, 5), (5,), builders.ACTIVATIONS[i]),
            builders.binary_graph(seed, "MUL", (2, 1, 4, 1), (1, 3, 1, 6), builders.ACTIVATIONS[i]),
            builders.pool_graph(seed, "AVERAGE_POOL_2D", 7, 6, 3, 3, 4, (2, 2), "SAME", builders.ACTIVATIONS[i]),
            builders.pool_graph(seed, "MAX_POOL_2D", 7, 6, 3, 3, 2, (2, 1), "SAME", builders.ACTIVATIONS[i]),
            builders.mean_graph(seed, (1, 5, 7, 8), [(1, 2), (3,), (1, 2, 3), (-3,)][i], i % 2 == 0),
            builders.pad_graph(seed, (1, 4, 5, 3), [[0, 0], [1, 2], [2, 1], [0, i]]),
            builders.transpose_graph(seed, (2, 3, 4, 5), [(0, 3, 1, 2), (3, 2, 1, 0), (1, 0, 2, 3), (0, 2, 3, 1)][i]),
            builders.concat_graph(seed, [(1, 3, 2, 4), (1, 3, 5, 4)], 2),
            builders.resize_nearest_graph(seed, 5, 3, 2, 9, 7, i == 1, i == 2),
            builders.quantize_graph(seed, (4, 9), from_float=True),
            builders.quantize_graph(seed, (4, 9), from_float=False),
            builders.dequantize_graph(seed, (4, 9)),
        ]
        for kind in bnl.NONLINEAR_OPS:
            out_q = (bnl.f32(0.02 + 0.01 * i), 3 * i - 7) if kind in ("HARD_SWISH", "RELU") else (None, None)
            cases.append(bnl.unary_graph(kind, (2, 256), bnl.f32(0.004 + 0.03 * i), 40 * i - 90, *out_q))
    return cases


def test_against_tflm(lib):
    from tinycompiler.frontends.tflite import write_tflite
    from tinycompiler.oracle.tflm import run_tflm

    for k, g in enumerate(_oracle_cases()):
        inputs = builders.random_inputs(g, k)
        if g.ops[0].kind in bnl.NONLINEAR_OPS:
            inputs = [np.tile(bnl.all_int8(), 2).reshape(2, 256)]
        got = run_kernel(lib, g, inputs)
        want = np.asarray(run_tflm(write_tflite(g), inputs).tensors[g.outputs[0]]).reshape(got.shape)
        if got.dtype == np.float32:
            got, want = got.view(np.uint32), want.astype(np.float32).view(np.uint32)
        assert np.array_equal(got, want), f"case {k} {g.ops[0].kind}: C kernel differs from TFLM"


# ------------------------------------------------------------------------------------------------
# builds: sanitizers and the Cortex-M4 cross compiler


def _sanitizer_cases():
    rng = np.random.default_rng(11)
    cases = []
    for i in range(12):
        seed = int(rng.integers(0, 2**31 - 1))
        s1 = tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 5))))
        s2 = tuple(d if rng.random() < 0.5 else 1 for d in s1)[int(rng.integers(0, len(s1))):]
        cases.append(builders.binary_graph(seed, ("ADD", "MUL")[i % 2], s1, s2, builders.ACTIVATIONS[i % 4]))
        h, w = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        cases.append(builders.pool_graph(seed, ("AVERAGE_POOL_2D", "MAX_POOL_2D")[i % 2], h, w, 3,
                                         int(rng.integers(1, 5)), int(rng.integers(1, 5)),
                                         (1 + i % 2, 1 + (i // 2) % 2), "SAME" if i % 3 else "VALID",
                                         batch=1 + i % 2))
        cases.append(builders.mean_graph(seed, (2, h, w, 5), [(1, 2), (3,), (0, 1, 2, 3), (-1, 1)][i % 4], i % 2 == 0))
        cases.append(builders.pad_graph(seed, (2, h, w), [[i % 2, 1], [0, i % 3], [2, 0]]))
        cases.append(builders.transpose_graph(seed, (2, h, 3, w), [(3, 1, 0, 2), (0, 2, 1, 3), (1, 0, 3, 2)][i % 3]))
        cases.append(builders.concat_graph(seed, [(2, h, 2), (2, h, 3), (2, h, 1)], (-1, 2)[i % 2]))
        cases.append(builders.concat_graph(seed, [(1, h, 2), (2, h, 2)], 0))
        cases.append(builders.resize_nearest_graph(seed, h, w, 2, int(rng.integers(1, 12)), int(rng.integers(1, 12)),
                                                   i % 3 == 1, i % 3 == 2))
        cases.append(builders.quantize_graph(seed, (3, 7), from_float=bool(i % 2)))
        cases.append(builders.dequantize_graph(seed, (3, 7)))
        for kind in bnl.NONLINEAR_OPS:
            out_q = (bnl.f32(0.03 + 0.01 * i), 5 - i) if kind in ("HARD_SWISH", "RELU") else (None, None)
            cases.append(bnl.unary_graph(kind, (3, 40), bnl.f32(0.01 + 0.05 * i), i * 20 - 120, *out_q))
    return cases


def _sanitizer_main():  # pragma: no cover - runs in a subprocess with ASan preloaded
    slib = library(SANITIZE_FLAGS)
    for seed, g in enumerate(_sanitizer_cases()):
        check(slib, builders.make_case(g, seed))
    print("sanitized OK")


def test_sanitizers():
    """Every kernel under -fsanitize=address,undefined with exactly sized numpy buffers."""
    libasan = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    if not os.path.isabs(libasan):
        pytest.skip("libasan not available")
    env = dict(os.environ, LD_PRELOAD=libasan, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    code = ("import sys; sys.path.insert(0, %r); import test_c_ops_kernels as t; t._sanitizer_main()"
            % str(Path(__file__).resolve().parent))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "sanitized OK" in res.stdout, res.stdout[-3000:] + res.stderr[-6000:]


def test_cortex_m4_build(tmp_path):
    """The kernels compile warning-free for Cortex-M4 hard-float (what the boards build)."""
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    for src in SOURCES:
        cmd = [cc, "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2", "-std=c99",
               "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wconversion", "-Wno-sign-conversion",
               "-I", str(RUNTIME / "include"), "-c", str(RUNTIME / "src" / src), "-o", str(tmp_path / "k.o")]
        res = subprocess.run(cmd, capture_output=True, text=True)
        assert res.returncode == 0, f"{src}:\n{res.stderr}"
