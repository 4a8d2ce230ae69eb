"""Every reference model: the numpy reference matches TFLM layer by layer, bit for bit.

Each bundled model (examples/models) is imported with load_tflite and run by the reference and by
the tflite-micro interpreter (kPreserveAllTensors); every op output is compared by tensor index
on 5 seeded random inputs and on the real samples. Ops the reference cannot run yet (e.g. the
nonlinear ones before tinycompiler/reference/nonlinear.py exists) end the comparison early: only
the ops before the first such op are compared.

Sample feeding (see examples/models/NOTICE and examples/data/NOTICE):
* person_detect: the uint8 image bytes reinterpreted as int8 (``x.view(np.int8)``), as TFLM's own
  test does; person.bmp must score [no, person] = [-113, 113].
* MLPerf Tiny IC: the input is int8 with scale 1.0 and zero point -128, so a uint8 pixel p is the
  int8 value p - 128 (value-preserving); that is what we feed.
* MLPerf Tiny KWS: the sample is already int8.
* Keras MobileNetV2 digits: ``x_int8`` (already quantized with the model's input quantization).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from builders import first_mismatch
from conftest import MODEL_FILES, data_path, model_path
from tinycompiler.frontends.tflite import load_tflite
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.reference import run, supported_kinds

_graphs: dict = {}


def graph_of(path: Path):
    if path not in _graphs:
        _graphs[path] = load_tflite(path)
    return _graphs[path]


def random_model_inputs(graph, seed: int) -> list:
    rng = np.random.default_rng(seed)
    xs = []
    for i in graph.inputs:
        t = graph.tensors[i]
        if t.dtype == "float32":
            # cover the range of the QUANTIZE that consumes it, with some saturation
            q = next((op.output(graph).quant for op in graph.consumers(i) if op.kind == "QUANTIZE"), None)
            lo, hi = ((-128 - q.zp) * q.s, (127 - q.zp) * q.s) if q is not None else (-1.0, 1.0)
            span = hi - lo
            xs.append(rng.uniform(lo - 0.05 * span, hi + 0.05 * span, size=t.shape).astype(np.float32))
        else:
            info = np.iinfo(np.dtype(t.dtype))
            xs.append(rng.integers(info.min, int(info.max) + 1, size=t.shape).astype(t.dtype))
    return xs


def compare_model(path: Path, inputs: list) -> dict:
    """Run both and assert equality op by op; returns the reference tensors."""
    g = graph_of(path)
    kinds = supported_kinds()
    runnable = []
    for op in g.ops:
        if op.kind not in kinds:
            break
        runnable.append(op)
    if len(runnable) < len(g.ops):
        # a kernel has not landed yet: run and compare only the prefix of the schedule
        stop = g.ops[len(runnable)]
        g = type(g)(g.tensors, runnable, g.inputs, [runnable[-1].outputs[0]] if runnable else [], g.name)
        print(f"{path.name}: comparing up to op {stop.index} ({stop.kind}), no reference kernel yet")
    ref = run(g, inputs)
    res = run_tflm(path, inputs)
    msg = first_mismatch(g, ref, res.tensors)
    assert msg is None, f"{path.name}: {msg}"
    if len(g.ops) == len(graph_of(path).ops):
        for k, o in enumerate(g.outputs):
            assert np.array_equal(ref[o], res.outputs[k]), f"{path.name}: graph output {k} differs"
    return ref


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("seed", range(5))
def test_model_random_inputs(path, seed):
    compare_model(path, random_model_inputs(graph_of(path), seed))


def _model(name: str) -> Path:
    return model_path(name)


def _sample(name: str) -> np.ndarray:
    return np.load(data_path(name))


def _full_model_compared(path: Path) -> bool:
    return all(op.kind in supported_kinds() for op in graph_of(path).ops)


@pytest.mark.parametrize("image, expect_person", [("tflm_person_96x96_uint8.npy", True),
                                                  ("tflm_no_person_96x96_uint8.npy", False)])
def test_person_detect_samples(image, expect_person):
    path = _model("tflm_person_detect_mobilenetv1_96_int8.tflite")
    x = _sample(image).reshape(1, 96, 96, 1).view(np.int8)
    ref = compare_model(path, [x])
    if _full_model_compared(path):
        g = graph_of(path)
        scores = ref[g.outputs[0]].reshape(-1)
        if expect_person:
            assert scores.tolist() == [-113, 113]
        else:
            assert scores[0] > scores[1]


def test_kws_sample():
    path = _model("mlperftiny_kws_dscnn_int8.tflite")
    compare_model(path, [_sample("mlperftiny_kws_sample_int8_1x49x10x1.npy").astype(np.int8)])


def test_ic_sample():
    path = _model("mlperftiny_ic_resnet8_cifar10_int8.tflite")
    x = _sample("mlperftiny_ic_sample_uint8_1x32x32x3.npy")
    q = graph_of(path).tensors[graph_of(path).inputs[0]].quant
    assert (q.s, q.zp) == (1.0, -128), "the uint8 - 128 feed assumes scale 1, zero point -128"
    compare_model(path, [(x.astype(np.int16) - 128).astype(np.int8)])


@pytest.mark.parametrize("k", range(4))
def test_digits_samples(k):
    path = _model("keras_mobilenetv2_a0.35_64_int8.tflite")
    d = _sample("digits_64_test.npz")
    compare_model(path, [d["x_int8"][k:k + 1]])


def test_mcunet_reference_is_fast():
    """The 11.6 M-MAC MCUNet runs in well under 2 s in the reference."""
    import time

    path = _model("tinyengine_mcunet_vww.tflite")
    g = graph_of(path)
    xs = random_model_inputs(g, 0)
    t0 = time.perf_counter()
    run(g, xs)
    assert time.perf_counter() - t0 < 2.0
