"""One byte past the arena is caught: by ASan on the host (the arena has no slack at all), and by
the guard bytes (TC_ARENA_GUARD) on the host and on the device, where ``tinyc run`` reports it.

The overflow is real: hello_world's layer 1 (a FULLY_CONNECTED writing 16 bytes at offset 16 of
its 32-byte arena) gets its output pointer moved one byte up, so the real kernel writes byte 32.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import model_path
from tinycompiler.codegen import generate
from tinycompiler.frontends import load_model
from tinycompiler.targets.host import SANITIZE_FLAGS, compile_bundle
from tinycompiler.tensor_io import random_inputs

HELLO = "tflm_hello_world_int8"
#: layer 1's output argument and its error return in model.c (see the module docstring)
LAYER1_OUT = re.compile(r"\(int8_t \*\)AT\(16\)\) != TC_OK\) \{\s*return 2;")


def corrupted_bundle(tmp: Path, graph=None):
    """hello_world's bundle with layer 1 writing one byte past the arena; (bundle, graph)."""
    graph = graph or load_model(model_path(HELLO))
    bundle = generate(graph, tmp / "bundle")
    assert bundle.program.arena_bytes == 32  # the overflow below is exactly one byte
    src = (bundle.root / "model.c").read_text()
    assert len(LAYER1_OUT.findall(src)) == 1, "model.c changed shape: update LAYER1_OUT"
    (bundle.root / "model.c").write_text(LAYER1_OUT.sub(lambda m: m.group(0).replace("AT(16)", "AT(17)"), src))
    return bundle, graph


def run_host(bundle, graph, tmp: Path, sanitize: bool) -> subprocess.CompletedProcess:
    exe = compile_bundle(bundle, tmp / ("asan" if sanitize else "plain"), sanitize=sanitize)
    fin = tmp / "in.bin"
    fin.write_bytes(b"".join(x.tobytes() for x in random_inputs(graph, 0)))
    return subprocess.run([str(exe), str(fin), str(tmp / "out.bin")], capture_output=True, text=True, timeout=60)


def test_sanitized_build_declares_exactly_the_planned_arena(tmp_path):
    """The ASan build has no guard bytes: model_arena is MODEL_ARENA_BYTES long (the object's
    size in the symbol table, before ASan's own redzone), and the pristine model runs clean."""
    graph = load_model(model_path(HELLO))
    bundle = generate(graph, tmp_path / "bundle")
    assert re.search(rf"#define MODEL_ARENA_BYTES {bundle.program.arena_bytes}u?\b", (bundle.root / "model.h").read_text())
    assert "-DTC_ARENA_GUARD" not in SANITIZE_FLAGS
    res = run_host(bundle, graph, tmp_path, sanitize=True)
    assert res.returncode == 0, res.stderr
    # the same sources without ASan: the arena object is exactly the planned size
    obj = tmp_path / "model.o"
    subprocess.run(["gcc", "-std=c99", "-O2", "-c", "-I", str(bundle.root), str(bundle.root / "model.c"), "-o",
                    str(obj)], check=True)
    sym = [ln.split() for ln in subprocess.run(["nm", "-S", str(obj)], capture_output=True, text=True,
                                                check=True).stdout.splitlines() if ln.endswith(" model_arena")]
    assert len(sym) == 1 and int(sym[0][1], 16) == bundle.program.arena_bytes, sym


def test_asan_catches_one_byte_past_the_arena(tmp_path):
    bundle, graph = corrupted_bundle(tmp_path)
    res = run_host(bundle, graph, tmp_path, sanitize=True)
    assert res.returncode != 0
    assert "global-buffer-overflow" in res.stderr and "model_arena" in res.stderr, res.stderr[-2000:]


def test_guard_bytes_catch_one_byte_past_the_arena_on_the_host(tmp_path):
    bundle, graph = corrupted_bundle(tmp_path)
    res = run_host(bundle, graph, tmp_path, sanitize=False)  # the plain host build defines TC_ARENA_GUARD
    assert res.returncode == 3 and "model_invoke failed: -1" in res.stderr, (res.returncode, res.stderr)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")
@pytest.mark.timeout(300)
def test_device_guard_and_tinyc_run_report_the_overflow(tmp_path, capsys):
    """The corrupted model in debug firmware on QEMU mps2-an386, announcing the pristine model's
    id (as a firmware with a kernel bug would): model_invoke returns -1 and `tinyc run --port`
    fails with one clear line instead of printing the outputs."""
    from tinycompiler.boards import load_board
    from tinycompiler.boards.platformio import build
    from tinycompiler.boards.project import harness_dirs_for, write_project
    from tinycompiler.boards.qemu import start
    from tinycompiler.cli import main
    from tinycompiler.harness.client import DeviceClient
    from tinycompiler.harness.firmware import HOOK_FLAGS
    from tinycompiler.harness.model_info import write_model_info

    board = load_board("mps2-an386")
    graph = load_model(model_path(HELLO))
    pristine = generate(graph, tmp_path / "pristine")
    info_dir = write_model_info(pristine, tmp_path / "model_info").parent
    bundle, _ = corrupted_bundle(tmp_path, graph)
    console = "-DTC_CONSOLE_" + "".join(c if c.isalnum() else "_" for c in board.console.upper())
    project = write_project(board, bundle, tmp_path / "project", [*harness_dirs_for(board), info_dir], debug=True,
                            extra_build_flags=(*HOOK_FLAGS, console))
    elf = build(project, board).elf
    with start(board, elf, serial="tcp") as session:
        with DeviceClient(session.url, timeout=2.0) as client:
            info = client.hello()
            assert info.guard
            client.set_input(random_inputs(graph, 0)[0].tobytes())
            assert client.infer(layers=False).status == -1  # the guard after byte 32 was hit
        rc = main(["run", str(model_path(HELLO)), "--board", "mps2-an386", "--port", session.url])
    out, err = capsys.readouterr()
    err = err.strip().splitlines()
    assert rc == 1 and len(err) == 1, err
    assert "returned -1: the arena guard after 32 bytes was overwritten" in err[0], err
    assert "output_0" not in out  # no outputs printed: the error came first
