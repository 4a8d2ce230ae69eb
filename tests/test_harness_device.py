"""The harness firmware itself on QEMU mps2-an386: driven exactly as the MLPerf Tiny runner does,
and fed garbage and damaged frames over the real serial link."""

from __future__ import annotations

import re
import shutil
import struct

import numpy as np
import pytest

from conftest import model_path
from tinycompiler.boards import load_board
from tinycompiler.boards.qemu import start
from tinycompiler.frontends import load_model
from tinycompiler.harness import protocol as P
from tinycompiler.harness.client import DeviceClient
from tinycompiler.harness.firmware import build_firmware
from tinycompiler.oracle.tflm import run_tflm

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")

KWS = "mlperftiny_kws_dscnn_int8"


@pytest.fixture(scope="module")
def kws_device():
    """(graph, firmware, DeviceClient) with the KWS DS-CNN harness running in QEMU (TCP serial,
    as the MLPerf runner would reach a board's port)."""
    graph = load_model(model_path(KWS))
    board = load_board("mps2-an386")
    fw = build_firmware(graph, board, debug=True)
    with start(board, fw.elf, serial="tcp") as session, DeviceClient(session.url, timeout=2.0) as client:
        yield graph, fw, client


def test_mlperf_runner_sequence(kws_device):
    graph, fw, client = kws_device
    x = np.random.default_rng(7).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    raw = x.tobytes()
    client.wait_ready(timeout=5.0)  # the boot banner ends with its own m-ready: consume it first
    assert any(re.fullmatch(r"m-name-dut-\[tinycompiler\]", ln) for ln in client.text("name"))
    profile = client.text("profile")
    assert profile[0].startswith("m-profile-[") and profile[1] == f"m-model-[{graph.name}]"
    assert client.text(f"db load {len(raw)}") == [f"m-[Expecting {len(raw)} bytes]"]
    replies = []
    for i in range(0, len(raw), 31):  # the runner's chunking: 31 bytes per db command
        replies += client.text("db " + raw[i:i + 31].hex())
    assert replies == ["m-load-done"]  # silent until the last byte, as EEMBC's reference
    lines = client.text("infer 1 0")
    assert lines[:3] == ["m-warmup-start-0", "m-warmup-done", "m-infer-start-1"]
    t0, t1 = (int(ln.split("-")[-1]) for ln in lines[3:5])
    assert lines[3].startswith("m-lap-us-") and t1 > t0
    assert lines[5] == "m-infer-done"
    results = client.text("results")
    assert results == [lines[6]]
    got = np.array([float(v) for v in re.fullmatch(r"m-results-\[(.*)\]", results[0]).group(1).split(",")])
    out = run_tflm(model_path(KWS), [x], preserve_all=False).outputs[0].reshape(-1)
    io = fw.bundle.program.outputs[0]
    expected = np.float32(io.scale) * (out.astype(np.float32) - np.float32(io.zero_point))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1.5e-6)  # 6 printed decimals
    # the input lives in the arena (no staging copy): the plan says whether the inference reuses
    # its bytes, and the harness refuses to run on (or report results from) an overwritten input
    overwritten = _input_overwritten(fw.bundle.program.plan, graph.inputs[0])
    assert overwritten  # KWS reuses them: this test covers the refusal
    assert client.text("infer 1 0") == ["e-[The input changed since db load (an inference overwrote it): load it again]"]
    client.text(f"db load {len(raw)}")
    for i in range(0, len(raw), 31):
        client.text("db " + raw[i:i + 31].hex())
    lines = client.text("infer 3 2")
    assert lines[-2] == "m-infer-done" and lines[-1].startswith("e-[Results withheld")
    assert client.text("results")[0].startswith("e-[Results withheld")
    client.text(f"db load {len(raw)}")
    for i in range(0, len(raw), 31):
        client.text("db " + raw[i:i + 31].hex())
    assert client.text("infer 1 0")[-1] == results[0]  # loaded again: the same results
    assert client.text("bogus") == ["e-[Unknown command: bogus]"]


def _input_overwritten(plan, tensor: int) -> bool:
    """True when some other buffer of ``plan`` reuses bytes of input ``tensor`` (by construction
    later in time, since the input is alive from the start)."""
    lo = plan.tensor_offsets[tensor]
    hi = lo + plan.graph.tensors[tensor].nbytes
    own = next(i for i, b in enumerate(plan.buffers) if tensor in b.tensors)
    if len(plan.buffers[own].tensors) > 1:  # an in-place op writes its output over it
        return True
    return any(i != own and off < hi and lo < off + b.size for i, (b, off) in enumerate(zip(plan.buffers, plan.offsets)))


def test_hello_reports_the_model(kws_device):
    graph, fw, client = kws_device
    info = client.hello()
    program = fw.bundle.program
    assert info.model_id == fw.model_id and info.name == graph.name
    assert info.arena_bytes == program.arena_bytes and info.num_layers == len(program.calls)
    assert info.input_bytes == [490] and info.output_bytes == [12] and info.output_dtypes == ["int8"]
    assert info.output_scales[0] == pytest.approx(program.outputs[0].scale, rel=1e-7)
    assert info.counter == "timer" and info.tick_hz == 25_000_000 and info.guard


def test_garbage_and_damaged_frames_never_run_a_wrong_input(kws_device):
    graph, fw, client = kws_device
    port = client.port
    x = np.random.default_rng(8).integers(-128, 128, 490, dtype=np.int8).tobytes()
    client.set_input(x)
    good = client.infer(layers=False)
    # line noise, a stray magic byte and a half frame: the device resynchronises
    port.write(b"\x00\xff garbage \xa5\x13" + P.encode_frame(P.HELLO, 9)[:5])
    # a WRITE_INPUT whose payload is damaged in transit: NAK, the staged bytes untouched
    bad = bytearray(P.encode_frame(P.WRITE_INPUT, 10, struct.pack("<I", 0) + bytes(64)))
    bad[20] ^= 0xFF
    port.write(bytes(bad))
    assert client.hello().model_id == fw.model_id  # the Channel flushes and retries past all of it
    # the device holds bytes other than the host's (here: the host lies about the CRC): not run
    with pytest.raises(P.DeviceError, match="input CRC mismatch"):
        client.channel.request(P.INFER, struct.pack("<IIBI", 490, P.crc32(x) ^ 1, 0, 0))
    # a chunk that never arrived is noticed by the CRC check; the client uploads again and runs
    client.channel.request(P.WRITE_INPUT, struct.pack("<I", 100) + bytes(50))
    again = client.infer(layers=False)
    assert again.outputs == good.outputs and again.status == 0
    assert client.channel.resends >= 1


def test_mlperf_text_commands_on_the_stm32f405_port():
    """The same text protocol through the STM32F405's USART1 port (netduinoplus2): load an input
    the runner's way, infer, and the results are TFLM's."""
    graph = load_model(model_path(KWS))
    board = load_board("netduinoplus2")
    fw = build_firmware(graph, board)
    x = np.random.default_rng(9).integers(-128, 128, (1, 49, 10, 1), dtype=np.int8)
    raw = x.tobytes()
    with start(board, fw.elf, serial="pty") as session, DeviceClient(session.url, timeout=2.0) as client:
        client.wait_ready(timeout=5.0)
        assert client.text("profile")[1] == f"m-model-[{graph.name}]"
        assert client.text(f"db load {len(raw)}") == [f"m-[Expecting {len(raw)} bytes]"]
        replies = []
        for i in range(0, len(raw), 31):
            replies += client.text("db " + raw[i:i + 31].hex())
        assert replies == ["m-load-done"]
        lines = client.text("infer 1 0")
        assert lines[5] == "m-infer-done"
        got = np.array([float(v) for v in re.fullmatch(r"m-results-\[(.*)\]", lines[6]).group(1).split(",")])
        assert client.hello().counter == "timer"  # TIM2 under QEMU (DWT does not count there)
    out = run_tflm(model_path(KWS), [x], preserve_all=False).outputs[0].reshape(-1)
    io = fw.bundle.program.outputs[0]
    expected = np.float32(io.scale) * (out.astype(np.float32) - np.float32(io.zero_point))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1.5e-6)
