"""MobileNetV2 at 224x224 (width 1.0, 300 M MACs) from PyTorch, patch-based, in MCUNetV2's budget.

Built in torch here (tests/torch_mobilenetv2.py: random init, BatchNorm folded by the converter,
calibrated on seeded uniform data) and exported both ways:

* ``tinyc convert``'s own .tflite (NHWC float32 input, QUANTIZE, ..., DEQUANTIZE);
* the graph other exporters write: NCHW float32 input, QUANTIZE, TRANSPOSE to NHWC
  (:func:`tinycompiler.frontends.torch.exported_layout.with_nchw_input`).

``--patch auto`` must find a plan on both (the float input quantized as written, the TRANSPOSE
fused into the patch reads) with a peak of at most 0.15x TFLM's smallest arena, and at most
256 KB with ``--io int8``; the NCHW one runs bit-exact with TFLM on the host and on the emulated
Cortex-M4.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tinycompiler.cli import main  # noqa: E402
from tinycompiler.codegen import plan_for_codegen  # noqa: E402
from tinycompiler.frontends.tflite import write_tflite  # noqa: E402
from tinycompiler.frontends.torch import convert  # noqa: E402
from tinycompiler.frontends.torch.exported_layout import with_nchw_input  # noqa: E402
from tinycompiler.oracle.tflm import min_arena_bytes, run_tflm  # noqa: E402
from tinycompiler.passes import int8_io  # noqa: E402
from tinycompiler.targets.host import HostTarget  # noqa: E402
from tinycompiler.tensor_io import random_inputs  # noqa: E402
from torch_mobilenetv2 import mobilenetv2  # noqa: E402

#: MCUNetV2's patch-based MobileNetV2 (its Table 1): 172 kB peak; ours must stay within 256 KB
INT8_BUDGET = 256 * 1024


@pytest.fixture(scope="module")
def mbv2(tmp_path_factory):
    torch.set_num_threads(2)
    calib = np.random.default_rng(0).uniform(-1, 1, (4, 3, 224, 224)).astype(np.float32)
    d = tmp_path_factory.mktemp("mbv2")
    model = mobilenetv2()
    pt2 = d / "mbv2.pt2"
    torch.export.save(torch.export.export(model, (torch.from_numpy(calib[:1]),)), str(pt2))
    np.save(d / "calib.npy", calib)
    graph = convert(model, calib, io="float", name="mobilenetv2_224")
    nchw = with_nchw_input(graph)
    path = d / "mbv2_nchw.tflite"
    path.write_bytes(write_tflite(nchw))
    return {"dir": d, "pt2": pt2, "calib": d / "calib.npy", "graph": graph, "nchw": nchw, "nchw_path": path}


@pytest.mark.slow
def test_patch_auto_on_the_nchw_export_beats_tflm_by_far(mbv2):
    nchw = mbv2["nchw"]
    assert [nchw.ops[0].kind, nchw.ops[1].kind] == ["QUANTIZE", "TRANSPOSE"]
    assert tuple(nchw.tensors[nchw.inputs[0]].shape) == (1, 3, 224, 224)
    tflm = min_arena_bytes(mbv2["nchw_path"])
    layered = plan_for_codegen(nchw)
    plan = plan_for_codegen(nchw, "auto")
    pp = plan.patch
    assert pp is not None and pp.lead_ops and pp.source_layout == "NCHW"  # the TRANSPOSE is fused
    assert plan.arena_bytes <= 0.15 * tflm, (plan.arena_bytes, tflm)
    assert plan.arena_bytes < layered.arena_bytes / 4
    front = pp.search["front"]
    assert front[0]["option"] == "off" and front[-1]["option"] == pp.option
    assert all(a["peak_bytes"] > b["peak_bytes"] and a["extra_macs"] <= b["extra_macs"] for a, b in zip(front, front[1:]))
    mbv2["option"] = pp.option
    # --io int8: the caller hands over int8, as MCUNetV2 counts it
    int8 = plan_for_codegen(int8_io(nchw), "auto")
    assert int8.arena_bytes <= INT8_BUDGET, int8.arena_bytes


@pytest.mark.slow
def test_patch_auto_on_tinyc_convert_output(mbv2, tmp_path, capsys):
    out = tmp_path / "mbv2.tflite"
    assert main(["convert", str(mbv2["pt2"]), "--calib", str(mbv2["calib"]), "--io", "float", "-o", str(out)]) == 0
    tflm = min_arena_bytes(out)
    assert main(["plan", str(out), "--patch", "auto", "--json"]) == 0
    import json

    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["patch"] is not None and d["peak_sram_bytes"] <= 0.15 * tflm
    assert d["io"]["inputs"][0]["written_from_float"]


@pytest.mark.slow
def test_nchw_export_bit_exact_on_host_and_m4(mbv2):
    from tinycompiler.targets.board import BoardTarget

    nchw = mbv2["nchw"]
    option = mbv2.get("option", "auto")
    x = random_inputs(nchw, 0)
    want = run_tflm(mbv2["nchw_path"], x, preserve_all=False).outputs[0]
    got = HostTarget(patch=option).run(nchw, x).outputs[0]
    assert np.array_equal(got, want)
    target = BoardTarget("mps2-an386", patch=option)
    try:
        got = target.run(nchw, x).outputs[0]
    finally:
        target.close()
    assert np.array_equal(got.reshape(want.shape), want)
