"""Generated C on the host board, bit for bit.

* Every bundled model is generated, compiled (gcc -O2 -Wall -Wextra -Werror: a warning fails the
  build) and run by :class:`HostTarget`; its outputs must equal TFLM's (``run_tflm``) on 5 seeded
  random inputs and on the real samples. Each model is compiled once (one HostTarget per model).
* Hypothesis differential tests per op kind: random single-op graphs from tests/builders.py,
  generated C vs ``tinycompiler.reference.run``.
* The shared models under ASan + UBSan (``HostTarget(sanitize=True)``, arena at exactly its
  planned size, no guard bytes) on one input each.

Sample feeding follows tests/test_reference_models.py (see examples/data/NOTICE).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import builders as B
import builders_nonlinear as BNL
from conftest import MODEL_FILES, data_path, model_path
from tinycompiler.codegen.op_params import op_params
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.ir import Quant
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.reference import run
from tinycompiler.targets.host import HostTarget

try:  # the float-input-aware random inputs of the reference model tests
    from test_reference_models import random_model_inputs
except ImportError:  # pragma: no cover
    random_model_inputs = B.random_inputs

# ------------------------------------------------------------------------------------------------
# whole models vs TFLM

_graphs: dict = {}
_targets: dict = {}


def graph_of(path):
    if path not in _graphs:
        _graphs[path] = load_tflite(path)
    return _graphs[path]


def target_of(path, sanitize: bool = False, lean: bool = False) -> HostTarget:
    """One HostTarget per (model, sanitize, lean): it keeps the compiled executable for the graph."""
    key = (path, sanitize, lean)
    if key not in _targets:
        _targets[key] = HostTarget(sanitize=sanitize, lean=lean)
    return _targets[key]


def assert_model_matches_tflm(path, inputs, sanitize: bool = False, lean: bool = False) -> list:
    g = graph_of(path)
    got = target_of(path, sanitize, lean).run(g, inputs).outputs
    want = run_tflm(path, inputs, preserve_all=False).outputs
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        b = np.asarray(b).reshape(a.shape)
        assert a.dtype == b.dtype, f"{path.name} output {k}: {a.dtype} vs TFLM {b.dtype}"
        if not np.array_equal(a, b):
            bad = np.argwhere(a != b)
            pytest.fail(f"{path.name} output {k}: {len(bad)}/{a.size} differ; first at {tuple(bad[0])}: "
                        f"generated C {a[tuple(bad[0])]} vs TFLM {b[tuple(bad[0])]}")
    return got


def _sample(name: str) -> np.ndarray:
    return np.load(data_path(name))


_model = model_path


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
def test_model_random_inputs(path):
    g = graph_of(path)
    for seed in range(5):
        assert_model_matches_tflm(path, random_model_inputs(g, seed))


@pytest.mark.parametrize("image, expect_person", [("tflm_person_96x96_uint8.npy", True),
                                                  ("tflm_no_person_96x96_uint8.npy", False)])
def test_person_detect_samples(image, expect_person):
    path = _model("tflm_person_detect_mobilenetv1_96_int8")
    x = _sample(image).reshape(1, 96, 96, 1).view(np.int8)
    scores = assert_model_matches_tflm(path, [x])[0].reshape(-1)
    if expect_person:
        assert scores.tolist() == [-113, 113]
    else:
        assert scores[0] > scores[1]


def test_kws_sample():
    path = _model("mlperftiny_kws_dscnn_int8")
    assert_model_matches_tflm(path, [_sample("mlperftiny_kws_sample_int8_1x49x10x1.npy").astype(np.int8)])


def test_ic_sample():
    path = _model("mlperftiny_ic_resnet8_cifar10_int8")
    x = _sample("mlperftiny_ic_sample_uint8_1x32x32x3.npy")
    assert_model_matches_tflm(path, [(x.astype(np.int16) - 128).astype(np.int8).reshape(1, 32, 32, 3)])


def test_digits_samples():
    path = _model("keras_mobilenetv2_a0.35_64_int8")
    d = _sample("digits_64_test.npz")
    correct = 0
    for k in range(4):
        out = assert_model_matches_tflm(path, [d["x_int8"][k:k + 1]])[0]
        correct += int(np.argmax(out) == d["y"][k])
    assert correct >= 2


def test_models_under_sanitizers():
    """ASan + UBSan, arena at exactly its planned size: one input per model, bit-exact."""
    for path in MODEL_FILES:
        assert_model_matches_tflm(path, random_model_inputs(graph_of(path), 100), sanitize=True)


def test_models_with_lean_layouts_under_sanitizers():
    """The size mode's constants (5-byte CONV_2D requantization, in-place depthwise without rows): every
    model bit-exact under ASan + UBSan, and the constants smaller than the default's."""
    for path in MODEL_FILES:
        assert_model_matches_tflm(path, random_model_inputs(graph_of(path), 101), sanitize=True, lean=True)
        lean, fast = (target_of(path, True, lean).build(graph_of(path))[0].program.weight_bytes
                      for lean in (True, False))
        convs = sum(op.kind in ("CONV_2D", "DEPTHWISE_CONV_2D") for op in graph_of(path).ops)
        assert lean < fast or convs <= 1, path


# ------------------------------------------------------------------------------------------------
# single ops vs the reference interpreter

N = 12
SETTINGS = settings(max_examples=N, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SWEEP = settings(max_examples=150, deadline=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(case):
    """The generated C equals the reference on ``case`` bit for bit (or both refuse it)."""
    g = case.graph
    try:
        want = run(g, case.inputs)[g.outputs[0]]
    except TinyCompilerError:  # a quantization TFLM refuses: code generation must refuse too
        with pytest.raises(TinyCompilerError):
            HostTarget().run(g, case.inputs)
        return
    got = HostTarget().run(g, case.inputs).outputs[0]
    assert got.dtype == want.dtype and got.shape == want.shape, case.desc
    if not np.array_equal(got, want, equal_nan=got.dtype.kind == "f"):
        bad = np.argwhere(got != want)
        i = tuple(bad[0])
        pytest.fail(f"{case.desc}: {len(bad)}/{got.size} differ; first at {i}: C {got[i]} vs reference {want[i]}")


@st.composite
def st_nonlinear(draw, kind, max_rank=3, max_dim=40):
    """A one-op graph of a nonlinear kind with the output quantization TFLM requires."""
    shape = tuple(draw(st.integers(1, max_dim)) for _ in range(draw(st.integers(1, max_rank))))
    seed = draw(B.seeds)
    rng = np.random.default_rng(seed)
    in_scale = BNL.f32(10 ** rng.uniform(-3, 0))
    in_zp = int(rng.integers(-128, 128))
    out_scale = out_zp = None
    if kind in ("HARD_SWISH", "RELU"):
        out_scale = BNL.f32(in_scale * rng.uniform(0.3, 3.0))
        out_zp = int(rng.integers(-128, 128))
    attrs = {"beta": BNL.f32(rng.uniform(0.1, 2.0))} if kind == "SOFTMAX" else {}
    g = BNL.unary_graph(kind, shape, in_scale, in_zp, out_scale, out_zp, **attrs)
    x = rng.integers(-128, 128, size=shape).astype(np.int8)
    return B.Case(g, [x], f"{kind} {shape} in=({in_scale}, {in_zp}) out=({out_scale}, {out_zp}) "
                          f"{attrs} seed={seed}")


STRATEGIES = {
    "ADD": lambda: B.st_binary("ADD"),
    "MUL": lambda: B.st_binary("MUL"),
    "AVERAGE_POOL_2D": lambda: B.st_pool("AVERAGE_POOL_2D"),
    "MAX_POOL_2D": lambda: B.st_pool("MAX_POOL_2D"),
    "MEAN": B.st_mean,
    "PAD": B.st_pad,
    "CONCATENATION": B.st_concat,
    "TRANSPOSE": B.st_transpose,
    "RESIZE_NEAREST_NEIGHBOR": B.st_resize_nearest,
    "QUANTIZE": B.st_quantize,
    "DEQUANTIZE": B.st_dequantize,
    **{k: (lambda k=k: st_nonlinear(k)) for k in BNL.NONLINEAR_OPS},
}


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_op_matches_reference(kind):
    @SETTINGS
    @given(case=STRATEGIES[kind]())
    def inner(case):
        check(case)

    inner()


@pytest.mark.soak
@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_op_matches_reference_sweep(kind):
    @SWEEP
    @given(case=STRATEGIES[kind]())
    def inner(case):
        check(case)

    inner()


@pytest.mark.parametrize("kind", ["ADD", "MUL"])
def test_binary_constant_operands(kind):
    """A constant operand (either side, broadcast or full) lives in weights.c."""
    for k, (s1, s2, first) in enumerate([((1, 4, 4, 8), (8,), False), ((1, 4, 4, 8), (1, 4, 4, 8), False),
                                         ((1, 1, 1, 8), (1, 3, 5, 8), True)]):
        rng = np.random.default_rng(k)
        g, x = B.new_graph(rng, s2 if first else s1, name=kind.lower())
        c = B.add_const_activation(g, rng, s1 if first else s2)
        y = B.add_binary(g, rng, kind, c, x) if first else B.add_binary(g, rng, kind, x, c)
        check(B.make_case(B.finish(g, y), k, f"{kind} const {'first' if first else 'second'} {s1} {s2}"))


def test_small_cnn_chain():
    """conv -> depthwise -> conv -> residual ADD -> avgpool -> reshape -> FC in one program."""
    for seed in range(3):
        check(B.make_case(B.small_cnn_graph(seed), seed, f"small_cnn seed={seed}"))


def test_nonlinear_chain_all_int8():
    """Every int8 value through RELU6 -> LOGISTIC, and through HARD_SWISH -> requantize -> SOFTMAX."""
    rng = np.random.default_rng(0)
    g, x = B.new_graph(rng, (1, 256), quant=Quant(np.array([0.05], np.float32), np.array([3])))
    y = B.add_unary(g, rng, "RELU6", x, out_quant=Quant(np.array([0.05], np.float32), np.array([3])))
    y = B.add_unary(g, rng, "LOGISTIC", y, out_quant=Quant(np.array([1 / 256], np.float32), np.array([-128])))
    check(B.Case(B.finish(g, y), [BNL.all_int8().reshape(1, 256)], "relu6 -> logistic"))

    g, x = B.new_graph(rng, (4, 64), quant=Quant(np.array([0.03], np.float32), np.array([-7])))
    y = B.add_unary(g, rng, "HARD_SWISH", x, out_quant=Quant(np.array([0.02], np.float32), np.array([-20])))
    y = B.add_quantize(g, rng, y, out_quant=Quant(np.array([0.07], np.float32), np.array([5])))
    y = B.add_unary(g, rng, "SOFTMAX", y, out_quant=Quant(np.array([1 / 256], np.float32), np.array([-128])),
                    beta=1.0)
    check(B.Case(B.finish(g, y), [BNL.all_int8().reshape(4, 64)], "hard_swish -> requantize -> softmax"))


def test_float_edges_chain():
    """float32 -> QUANTIZE -> PAD -> MEAN -> DEQUANTIZE -> float32, as MCUNet's edges."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        g, x = B.new_graph(rng, (1, 6, 6, 3), dtype="float32")
        y = B.add_quantize(g, rng, x)
        y = B.add_pad(g, rng, y, [[0, 0], [0, 1], [0, 1], [0, 0]])
        y = B.add_mean(g, rng, y, axes=(1, 2), keep_dims=False)
        y = B.add_dequantize(g, rng, y)
        check(B.make_case(B.finish(g, y), seed, f"float edges seed={seed}"))


def _checked_source(g, what: str, seeds=range(3)) -> str:
    """``g`` bit-exact with the reference on a few seeds; returns its generated C (all files)."""
    import tempfile

    from tinycompiler.codegen import generate

    for seed in seeds:
        check(B.make_case(g, seed, f"{what} seed={seed}"))
    with tempfile.TemporaryDirectory() as d:
        generate(g, d)
        return "".join(p.read_text() for p in Path(d).rglob("*.c"))


def test_conv_weights_outside_the_packed_lanes():
    """A CONV_2D whose weights hold -128 beside a negative weight of the pair's other row cannot take the
    packed kernel's shared int16 lanes: codegen runs tc_conv2d_im2col_s8 on its own weights instead,
    still bit-exact with the reference; the other CONV_2D of the graph stays packed. The same for a
    FULLY_CONNECTED (tc_fully_connected_s8)."""
    rng = np.random.default_rng(3)
    g, x = B.new_graph(rng, (1, 6, 6, 8), name="minus128")
    y = B.add_conv2d(g, rng, x, 6, 3, 3, 1, 1, "SAME", "RELU", True, True)
    y = B.add_conv2d(g, rng, y, 4, 1, 1, 1, 1, "SAME", "NONE", True, True)
    g = B.finish(g, y)
    w = np.asarray(g.tensors[g.ops[0].inputs[1]].data).copy()
    w[0, 0, 0, :], w[1, 0, 0, :] = -128, -3
    g.tensors[g.ops[0].inputs[1]].data = w
    src = _checked_source(g, "-128 conv weights")
    assert "tc_conv2d_im2col_s8(&op0_params" in src and "tc_conv2d_packed" in src
    g = B.fully_connected_graph(rng, 2, 24, 6)
    w = np.asarray(g.tensors[g.ops[0].inputs[1]].data).copy()
    w[2, :], w[3, :] = -128, -7
    g.tensors[g.ops[0].inputs[1]].data = w
    src = _checked_source(g, "-128 FC weights")
    assert "tc_fully_connected_s8(&op0_params" in src and "tc_fully_connected_packed_s8(&op0" not in src


def test_concat_requantizing_inputs():
    """An input quantized unlike the output (TFLM refuses; we requantize it like int8 QUANTIZE):
    the generated C equals QUANTIZE-each-input-then-CONCATENATION in the reference."""
    for seed in range(3):
        rng = np.random.default_rng(seed)
        shapes = [(1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 1, 4)]
        g = B.concat_graph(rng, shapes, 2, same_quant=False)
        xs = B.random_inputs(g, rng)
        got = HostTarget().run(g, xs).outputs[0]
        assert op_params(g.ops[0], g)["requant"] is not None
        # the same through explicit requantizations, which the reference runs
        qo = g.tensors[g.outputs[0]].quant
        h, first = B.new_graph(rng, shapes[0], quant=g.tensors[g.inputs[0]].quant, name="requant_concat")
        ins = [first] + [h.add_tensor(f"in{i}", s, "int8", g.tensors[g.inputs[i]].quant).index
                         for i, s in enumerate(shapes[1:], 1)]
        h.inputs = list(ins)
        parts = [B.add_quantize(h, rng, t, out_quant=Quant(qo.scale.copy(), qo.zero_point.copy())) for t in ins]
        want = run(B.finish(h, B.add_concat(h, rng, parts, 2)), xs)
        assert np.array_equal(got, want[h.outputs[0]])


def test_bundles_leave_out_the_variants_their_layers_never_reach():
    """tc_model_config.h: a 3x3-only model drops the 5x5 / 7x7 depthwise runs; MCUNet (3x3, 5x5 and
    7x7 depthwise layers) keeps all three. (Every bundle the other tests build and compare with TFLM
    carries its own config, so a wrong config shows up there as an error.)"""
    from tinycompiler.codegen import plan_for_codegen
    from tinycompiler.codegen.kernel_config import kernel_config
    from tinycompiler.codegen.lowering import lower_graph
    from tinycompiler.frontends import load_model

    def cfg(name):
        return kernel_config(lower_graph(plan_for_codegen(load_model(str(model_path(name))))).calls)

    kws = cfg("mlperftiny_kws_dscnn_int8")
    assert (kws["TC_DWIP_K3"], kws["TC_DWIP_K5"], kws["TC_DWIP_K7"]) == (1, 0, 0)
    mcunet = cfg("tinyengine_mcunet_vww")
    assert (mcunet["TC_DWIP_K3"], mcunet["TC_DWIP_K5"], mcunet["TC_DWIP_K7"]) == (1, 1, 1)
