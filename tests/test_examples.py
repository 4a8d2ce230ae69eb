"""The example scripts run end to end (each in a subprocess, as a user runs it) on the emulated
Cortex-M4 and print the numbers their READMEs quote: KWS and VWW bit-exact with TFLM on one input
(VWW with patch-based inference), the digits network within 1 point of its float accuracy on the
board over the whole 450-digit test split."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")


def run_example(script: str, *args: str, timeout: float = 300) -> str:
    """stdout of ``python examples/<script> args``; fails the test with stderr's tail on non-zero exit."""
    res = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=timeout)
    assert res.returncode == 0, f"{script} exited {res.returncode}:\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    return res.stdout


def number(pattern: str, text: str) -> float:
    """The number captured by ``pattern`` (thousands separators allowed)."""
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in:\n{text}"
    return float(m.group(1).replace(",", ""))


def test_kws_example_spots_on_bit_exact():
    out = run_example("kws/kws.py")
    # all 12 labels printed, the bundled MLPerf sample is "on" with full confidence
    for label in ("down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"):
        assert re.search(rf"^  {label}\s+-?\d+\s+[01]\.\d{{3}}$", out, re.M), label
    assert "top class: on (score 127, p=0.996)" in out
    assert "TFLM: top class on; outputs bit-exact: yes" in out
    # DS-CNN: 2,656,768 MACs (SMLAD does two per instruction at best); TFLM's activations alone take 16,000 B
    assert 2_656_768 / 2 < number(r"instructions ([\d,]+)", out) < 30e6
    assert number(r"arena ([\d,]+) B", out) <= 16000


def test_vww_example_patches_cut_the_peak_and_match_tflm():
    out = run_example("vww_patch/vww_patch.py")
    off = number(r"layer by layer : peak ([\d,]+) B", out)
    on = number(r"patch auto\s+: peak ([\d,]+) B", out)
    # the float32 input is quantized as it is written: only its int8 copy (19,200 B) is in RAM
    assert off == 89_616
    # patches cut the peak to at most 0.15x TFLM's smallest arena (224,976 B, tests/test_plan_report.py)
    assert on <= 0.15 * 224_976 and number(r"lower bound ([\d,]+) B", out) <= on
    assert re.search(r"split after op \d+ CONV_2D, grid \d+x\d+", out)
    assert number(r"arena ([\d,]+) B, firmware", out) == on  # the firmware runs the patched plan
    assert "identical: yes" in out
    assert "-> person" in out  # the synthetic scene has a standing figure in it
    # 11,578,816 MACs (SMLAD does two per instruction at best) plus the patch stage's recomputation
    assert 11_578_816 / 2 < number(r"instructions ([\d,]+)", out) < 100e6


def test_digits_example_on_device_within_1_point_of_float(tmp_path):
    # ~20 s: training (12 epochs, ~5 s), one firmware build, 450 inferences in one QEMU session
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    out = run_example("mcunet_digits/mcunet_digits.py", "--out", str(tmp_path), timeout=600)
    fa = number(r"float top-1 ([\d.]+) %", out)
    qa = number(r"int8 \(reference\) top-1 ([\d.]+) %", out)
    da = number(r"on mps2-an386 \(QEMU\): top-1 ([\d.]+) % on 450 digits", out)
    assert fa > 95.0
    assert abs(da - fa) <= 1.0
    assert da == qa  # the board is bit-exact with TFLM, so it scores what the reference scores
    assert "agreement with TFLM: 450/450 outputs bit-exact, 450/450 same top-1" in out
    assert number(r"arena ([\d,]+) B", out) < 4096
    assert 0.5e6 < number(r"instructions per inference (\d+)", out) < 5e6
    for name in ("model.pt2", "calib.npy", "model.tflite", "test.npz"):
        assert (tmp_path / name).is_file()
