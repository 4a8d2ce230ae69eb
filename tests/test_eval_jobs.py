"""``tinyc eval --jobs N``: N emulator instances share the samples and give the same result as one.

Per sample, the outputs of parallel sessions equal those of one session (and TFLM's); the CLI's
top-1 and agreement are the same for --jobs 1 and --jobs 2; --jobs is refused where it cannot
apply. The speed-up is measured in benchmarks/README.md, not asserted here.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import data_path, model_path
from tinycompiler.cli import main
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model
from tinycompiler.oracle.tflm import run_tflm_many_isolated
from tinycompiler.targets import get_target
from tinycompiler.targets.parallel import run_many
from tinycompiler.tensor_io import random_inputs

KWS = "mlperftiny_kws_dscnn_int8"


def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_parallel_sessions_give_each_sample_its_own_output():
    """Three QEMU instances over 9 random inputs: every output is that input's, as one session's
    and TFLM's are (a mix-up between instances or a lost sample would show)."""
    graph = load_model(model_path(KWS))
    samples = [random_inputs(graph, s) for s in range(9)]
    target = get_target("mps2-an386")
    target.collect_layers = False
    try:
        target.firmware(graph)
        parallel = run_many(target.spawn, graph, samples, jobs=3)
        serial = [target.run(graph, x) for x in samples[:3]]
    finally:
        target.close()
    want = run_tflm_many_isolated(model_path(KWS), samples, preserve_all=False)
    for i, (got, ref) in enumerate(zip(parallel, want)):
        assert np.array_equal(got.outputs[0].reshape(-1), np.asarray(ref.outputs[0]).reshape(-1)), f"sample {i}"
    for i, s in enumerate(serial):
        assert np.array_equal(s.outputs[0], parallel[i].outputs[0])
    assert len({tuple(r.outputs[0].reshape(-1)) for r in parallel}) > 1  # the inputs really differ


def test_preloaded_samples_are_not_uploaded_and_others_still_are(monkeypatch):
    """After preload(), running a preloaded sample sends no input over the link (the device takes
    it from PSRAM and checks its CRC); an input that was not preloaded is uploaded as before.
    Both give TFLM's bytes."""
    from tinycompiler.harness.client import DeviceClient

    graph = load_model(model_path(KWS))
    samples = [random_inputs(graph, s) for s in range(4)]
    uploads = []
    real_set_input = DeviceClient.set_input
    monkeypatch.setattr(DeviceClient, "set_input", lambda self, data, stored=None: (
        uploads.append(len(data)), real_set_input(self, data, stored))[1])
    target = get_target("mps2-an386")
    try:
        assert target.preload(graph, samples[:3]) == 3
        got = [target.run(graph, samples[i]).outputs[0] for i in (2, 0, 3)]
    finally:
        target.close()
    assert uploads == [49 * 10]  # only sample 3
    want = run_tflm_many_isolated(model_path(KWS), [samples[i] for i in (2, 0, 3)], preserve_all=False)
    for g, w in zip(got, want):
        assert np.array_equal(g.reshape(-1), np.asarray(w.outputs[0]).reshape(-1))


def test_an_error_in_one_worker_is_raised_and_the_rest_stop():
    """A sample the target refuses (wrong shape) fails the whole run with its own error."""
    graph = load_model(model_path("tflm_hello_world_int8"))
    samples = [random_inputs(graph, s) for s in range(6)]
    samples[4] = [np.zeros((3, 3), np.int8)]
    made = []

    def make():
        made.append(get_target("reference"))
        return made[-1]

    with pytest.raises(TinyCompilerError):
        run_many(make, graph, samples, jobs=2)
    assert 1 <= len(made) <= 2


def test_order_is_kept_whatever_the_number_of_workers():
    graph = load_model(model_path("tflm_hello_world_int8"))
    samples = [random_inputs(graph, s) for s in range(12)]
    one = [r.outputs[0].item() for r in run_many(lambda: get_target("reference"), graph, samples, jobs=1)]
    for jobs in (2, 5, 40):
        many = run_many(lambda: get_target("reference"), graph, samples, jobs=jobs)
        assert [r.outputs[0].item() for r in many] == one


def test_eval_jobs_2_equals_jobs_1(capsys, tmp_path, monkeypatch):
    """The digits model on all 360 held-out digits: the same top-1 (TFLM's 93.9%) and agreement
    with 1 and 2 instances; the second run takes TFLM's outputs from the cache the first wrote."""
    monkeypatch.setenv("TINYC_CACHE", str(tmp_path))  # a cold oracle cache, then a warm one
    model, data = model_path("keras_mobilenetv2_a0.35_64_int8"), data_path("digits_64_test.npz")
    results = {}
    for jobs in (1, 2):
        assert main(["eval", str(model), "--board", "mps2-an386", "--data", str(data),
                     "--jobs", str(jobs), "--json"]) == 0
        out = _last_json(capsys)
        assert out["jobs"] == jobs and out["samples"] == 360 and out["bit_exact"] == 360
        assert round(100 * out["top1"], 1) == 93.9
        results[jobs] = {k: out[k] for k in ("top1", "top1_tflm", "bit_exact", "same_top1")}
    assert results[1] == results[2]


@pytest.mark.parametrize("argv, says", [
    (["--board", "reference", "--jobs", "2"], "not an emulated board"),
    (["--board", "mps2-an386", "--port", "socket://127.0.0.1:9", "--jobs", "2"], "one device at --port"),
    (["--board", "mps2-an386", "--jobs", "0"], ">= 1"),
    (["--board", "reference", "--limit", "0"], "no samples"),
])
def test_options_refused_where_they_cannot_apply(argv, says, capsys):
    model, data = model_path("tflm_hello_world_int8"), data_path("digits_64_test.npz")
    assert main(["eval", str(model), "--data", str(data), *argv]) == 1
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1
