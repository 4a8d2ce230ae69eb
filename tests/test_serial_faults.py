"""The harness over a serial link that lies: tinycompiler.harness.faults.FaultProxy in front of
the KWS DS-CNN firmware on QEMU mps2-an386 (its UART on TCP).

Under each fault (dropped, duplicated, flipped, delayed bytes, a dropped connection, resets of the
board by a RESET frame before INFER or READ_OUTPUT, and QEMU killed and rebooted mid-inference)
every inference either returns TFLM's exact output or fails with one TinyCompilerError line:
never another output. The acceptance runs: ``tinyc run --port`` through 0.05% flipped bytes each
way is exact in >= 80% of 25 runs and a clear error otherwise, and ``tinyc eval`` over 50 samples
through a noisy link counts every sample once (all bit-exact, top-1 against TFLM's labels 100%).
Slow variants (``-m slow``) do 200 runs and 300 samples.
"""

from __future__ import annotations

import json
import shutil
import zlib

import numpy as np
import pytest

from conftest import model_path
from tinycompiler.boards import load_board
from tinycompiler.cli import main
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model
from tinycompiler.harness import protocol as P
from tinycompiler.harness.faults import FaultProxy, Faults, QemuBoard
from tinycompiler.harness.firmware import build_firmware
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.targets.board import BoardTarget
from tinycompiler.tensor_io import random_inputs

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")

KWS = "mlperftiny_kws_dscnn_int8"
BOARD = "mps2-an386"


@pytest.fixture(scope="module")
def kws():
    """(model path, graph, built firmware): the same build `tinyc run --board mps2-an386` makes."""
    path = model_path(KWS)
    graph = load_model(path)
    return path, graph, build_firmware(graph, load_board(BOARD))


@pytest.fixture
def board(kws):
    """A fresh QEMU running the KWS harness (killed at the end of the test)."""
    with QemuBoard(load_board(BOARD), kws[2].elf) as qb:
        yield qb


def expected(path, graph, seed: int) -> np.ndarray:
    return np.asarray(run_tflm(path, random_inputs(graph, seed), preserve_all=False).outputs[0])


def infer_many(kws, url: str, seeds, timeout: float = 0.5) -> tuple:
    """(correct, errors) of one inference per seed through ``url``; fails on any wrong output."""
    path, graph, _ = kws
    target = BoardTarget(BOARD, port=url)
    target.timeout = timeout  # QEMU answers in milliseconds: resend soon after a loss
    target.collect_layers = True
    correct, errors = 0, []
    try:
        for seed in seeds:
            try:
                out = target.run(graph, random_inputs(graph, seed)).outputs[0]
            except TinyCompilerError as e:
                assert "\n" not in str(e)
                errors.append(str(e))
                continue
            want = expected(path, graph, seed).reshape(out.shape)
            assert np.array_equal(out, want), f"WRONG OUTPUT for seed {seed}: {out.tolist()} vs TFLM {want.tolist()}"
            correct += 1
    finally:
        target.close()
    return correct, errors


FAULTS = {
    "drop": dict(to_board=Faults(drop=0.002), to_host=Faults(drop=0.002)),
    "duplicate": dict(to_board=Faults(dup=0.003), to_host=Faults(dup=0.003)),
    "flip": dict(to_board=Faults(flip=0.003), to_host=Faults(flip=0.003)),
    "delay": dict(to_board=Faults(delay=0.2, delay_s=0.7), to_host=Faults(delay=0.2, delay_s=0.7)),
    "disconnect": dict(to_board=Faults(disconnect=0.15)),
    "reset before INFER": dict(reset_on={P.INFER: 0.3}),
    "reset before READ_OUTPUT": dict(reset_on={P.READ_OUTPUT: 0.3}),
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_fault_is_survived_or_reported(kws, board, fault):
    """8 inferences through the faulty link: each exact or one error line, most exact, and the
    proxy really did damage the stream."""
    with FaultProxy(lambda: board.port, seed=zlib.crc32(fault.encode()), **FAULTS[fault]) as proxy:
        correct, errors = infer_many(kws, proxy.url, range(8))
    stats = dict(proxy.stats)
    injected = sum(n for k, n in stats.items() if k.split()[-1] in ("dropped", "duplicated", "flipped", "chunks")
                   or k in ("disconnects", "resets"))
    assert injected > 0, stats
    assert correct >= 6, (correct, errors, stats)


@pytest.mark.timeout(240)
def test_qemu_killed_and_rebooted_mid_inference(kws, board):
    """A power cut while the model runs: QEMU is killed 20 ms after an INFER went through and
    booted again behind the proxy; the host notices the boot banner, uploads again and reruns."""
    with FaultProxy(lambda: board.port, reset_on={P.INFER: 0.5}, reset_mode="restart",
                    restart_board=board.restart, reset_delay=0.02, seed=3) as proxy:
        correct, errors = infer_many(kws, proxy.url, range(6), timeout=1.0)
    assert board.restarts > 0 and proxy.stats["resets"] == board.restarts
    assert correct >= 5, (correct, errors, dict(proxy.stats))


def run_cli_many(kws, url: str, n: int, capsys) -> tuple:
    """`tinyc run --port URL --seed i --json` for i < n: (correct, clear errors); fails on a
    wrong output or anything but exit 0 / exit 1 with one error line."""
    path, graph, _ = kws
    correct, errors = 0, []
    for seed in range(n):
        rc = main(["run", str(path), "--board", BOARD, "--port", url, "--seed", str(seed), "--json"])
        out, err = capsys.readouterr()
        if rc == 1:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("tinyc: error: "), err
            errors.append(lines[0])
            continue
        assert rc == 0, f"exit {rc}: {err}"
        got = np.asarray(json.loads(out.strip().splitlines()[-1])["outputs"][0], dtype=np.int8)
        want = expected(path, graph, seed).reshape(got.shape)
        assert np.array_equal(got, want), f"WRONG OUTPUT for seed {seed}: {got.tolist()} vs TFLM {want.tolist()}"
        correct += 1
    return correct, errors


def _acceptance(kws, board, capsys, n: int) -> None:
    noisy = Faults(flip=0.0005)  # 0.05% of the bytes corrupted, each way
    with FaultProxy(lambda: board.port, to_board=noisy, to_host=noisy, seed=n) as proxy:
        correct, errors = run_cli_many(kws, proxy.url, n, capsys)
    flipped = proxy.stats["up flipped"] + proxy.stats["down flipped"]
    print(f"\nfaulty-link runs: {n}, TFLM-exact: {correct}, clear errors: {len(errors)}, wrong: 0; "
          f"{flipped} bytes flipped; errors: {errors[:3]}")
    assert flipped > 0
    assert correct >= 0.8 * n, errors


@pytest.mark.timeout(300)
def test_tinyc_run_through_a_noisy_link_is_exact_or_a_clear_error(kws, board, capsys):
    _acceptance(kws, board, capsys, 25)


@pytest.mark.soak
@pytest.mark.timeout(1800)
def test_tinyc_run_through_a_noisy_link_many_runs(kws, board, capsys):
    _acceptance(kws, board, capsys, 200)


def _eval(kws, board, capsys, tmp_path, n: int) -> None:
    path, graph, _ = kws
    xs = np.stack([random_inputs(graph, 1000 + i)[0] for i in range(n)])
    # labels = TFLM's own top-1: a lost, repeated or shifted sample cannot score 100%
    ys = np.array([int(np.argmax(expected(path, graph, 1000 + i))) for i in range(n)])
    data = tmp_path / "kws.npz"
    np.savez(data, x_int8=xs, y=ys)
    noisy = Faults(flip=0.0005, drop=0.0001, dup=0.0001)
    with FaultProxy(lambda: board.port, to_board=noisy, to_host=noisy, seed=7) as proxy:
        rc = main(["eval", str(path), "--board", BOARD, "--port", proxy.url, "--data", str(data), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["samples"] == n and result["bit_exact"] == n and result["top1"] == 1.0, result
    damaged = sum(v for k, v in proxy.stats.items() if k.split()[-1] in ("flipped", "dropped", "duplicated"))
    print(f"\neval through a faulty link: {n} samples, {result['bit_exact']} bit-exact, {damaged} bytes damaged")
    assert damaged > 0


@pytest.mark.timeout(600)
def test_tinyc_eval_through_a_noisy_link_counts_every_sample_once(kws, board, capsys, tmp_path):
    _eval(kws, board, capsys, tmp_path, 50)


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_tinyc_eval_through_a_noisy_link_long(kws, board, capsys, tmp_path):
    _eval(kws, board, capsys, tmp_path, 300)


class _LoopDevice:
    """pyserial's loop:// with a scripted 'device' answering INFER: BUSY, then a reply that
    ``script`` may damage or replace by a boot banner (a reset mid-inference)."""

    def __init__(self, script: list):
        import serial

        self.port = serial.serial_for_url("loop://", timeout=0.01)
        self.script, self.requests = list(script), 0

    def __getattr__(self, name):
        return getattr(self.port, name)

    def write(self, data):
        for f in P.FrameDecoder().feed(bytes(data)):
            self.requests += 1
            step = self.script.pop(0) if self.script else "ok"
            busy = P.encode_frame(P.REPLY_BUSY, f.seq)
            reply = P.encode_frame(f.type | P.REPLY_OK, f.seq, b"done")
            if step == "damaged":
                reply = reply[:-1] + bytes([reply[-1] ^ 1])
            elif step == "headless":  # the reply lost its magic: no frame start at all
                reply = reply[1:]
            elif step == "reboot":
                reply = b"m-timestamp-mode-performance\r\nm-init-done\r\nm-ready\r\n"
            self.port.write(busy + reply)
        return len(data)


@pytest.mark.parametrize("step", ["damaged", "headless", "reboot"])
def test_after_busy_a_damaged_reply_or_a_reboot_costs_the_short_timeout(step):
    """After BUSY the host may wait minutes for a model; a damaged final reply or a boot banner
    (the board reset mid-inference) must instead lead to a resend within the short timeout; so
    must a reply whose first byte was lost, which leaves no frame start to find."""
    import time

    dev = _LoopDevice([step])
    ch = P.Channel(dev, retries=2, timeout=0.3)
    t0 = time.monotonic()
    reply = ch.request(P.INFER, b"x", busy_timeout=600)
    assert reply.payload == b"done" and dev.requests == 2 and ch.resends == 1
    assert time.monotonic() - t0 < 3
