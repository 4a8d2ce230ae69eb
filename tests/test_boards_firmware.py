"""Board projects for real: PlatformIO projects generated for every board, parsed by PlatformIO;
emulated ones built offline with `pio run` and booted in QEMU, printing the bytes the numpy
reference computes for the same all-zero input.

Uses a private PlatformIO core dir (seeded from scratch here), the real arm-none-eabi-gcc, the
real PlatformIO 6.2.0 and the real qemu-system-arm; the firmware is a smoke main
(tests/boards_smoke/), not the serial harness.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinycompiler.boards.ram_layout import static_bytes
import serial

from conftest import model_path
from tinycompiler.boards import all_boards, load_board
from tinycompiler.boards import platformio as pio
from tinycompiler.boards.project import write_project
from tinycompiler.boards.qemu import instructions_from_ticks, start
from tinycompiler.boards.realboard import upload, validate_project
from tinycompiler.cli import main
from tinycompiler.codegen import generate
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model
from tinycompiler.reference import run as reference_run
from tinycompiler.tensor_io import input_specs

TESTS = Path(__file__).resolve().parent
EMULATED = ["mps2-an386", "mps2-an500", "mps2-an385"]
MODELS = ["tflm_hello_world_int8", "mlperftiny_kws_dscnn_int8"]

needs_toolchain = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")


@pytest.fixture(scope="module", autouse=True)
def private_core(tmp_path_factory):
    """A fresh PlatformIO core dir for this module (parallel test workers never share one)."""
    core = tmp_path_factory.mktemp("pio-core")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(pio.CORE_DIR_ENV, str(core))
        yield core


@pytest.fixture(scope="module")
def smoke_harness(tmp_path_factory) -> Path:
    """src/ of the smoke firmware: its main plus the colleague's MPS2 UART driver."""
    d = tmp_path_factory.mktemp("smoke-harness")
    shutil.copy(TESTS / "boards_smoke" / "smoke_main.c", d)
    for name in ("mps2_io.c", "mps2_io.h"):
        shutil.copy(TESTS / "qemu" / name, d)
    return d


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict:
    """model name -> (graph, written bundle)."""
    out = {}
    for name in MODELS:
        graph = load_model(model_path(name))
        out[name] = (graph, generate(graph, tmp_path_factory.mktemp(name) / "bundle"))
    return out


def expected_lines(graph) -> list:
    """What the smoke firmware must print: the reference outputs for all-zero inputs, in hex."""
    zeros = [np.zeros(shape, dtype) for shape, dtype in input_specs(graph)]
    values = reference_run(graph, zeros)
    return ["status 0"] + [f"output {np.ascontiguousarray(values[i]).tobytes().hex()}" for i in graph.outputs]


def read_lines(url: str, n: int, timeout: float = 20.0) -> list:
    """Start the smoke firmware (one byte) and read its ``n`` lines."""
    port = serial.serial_for_url(url, timeout=timeout)
    try:
        port.write(b"g")
        lines = [port.read_until(b"\n").decode(errors="replace").rstrip("\n") for _ in range(n)]
        port.write(b"q")  # lets the firmware exit
        return lines
    finally:
        port.close()


def test_seeding_is_offline_idempotent_and_owned_by_platformio(private_core):
    pkg = pio.seed()
    meta = json.loads((pkg / ".piopm").read_text())
    assert meta["spec"]["owner"] == "platformio" and meta["version"] == pio.scons_version()
    stamp = (pkg / ".piopm").stat().st_mtime_ns
    assert pio.seed() == pkg and (pkg / ".piopm").stat().st_mtime_ns == stamp  # second call: no-op
    # PlatformIO itself now resolves its core SCons package to our copy, without the registry
    res = pio.run_pio(["system", "info"], private_core, timeout=120)
    assert res.returncode == 0 and "tool-scons" not in res.stderr


def test_real_board_projects_pass_platformios_parser(tmp_path, bundles, smoke_harness):
    _, bundle = bundles["tflm_hello_world_int8"]
    real = [b for b in all_boards() if not b.emulated]
    assert len(real) >= 7
    for board in real:
        project = write_project(board, bundle, tmp_path / board.id, [smoke_harness], opt="Os", debug=True)
        options = validate_project(project, board)
        assert options["platform"] == board.platformio.platform and options["board"] == board.platformio.board
        assert options["framework"] == [board.platformio.framework]
        assert "-Os" in options["build_flags"] and "-DTC_ARENA_GUARD" in options["build_flags"]
        assert f"-mcpu={board.core}" in options["build_flags"]
        assert (project / "lib" / "model" / "model.c").is_file() and (project / "src" / "smoke_main.c").is_file()
    # the parser really is the judge: an option PlatformIO does not know is rejected
    ini = tmp_path / "pico" / "platformio.ini"
    ini.write_text(ini.read_text() + "bogus_option = 1\n")
    with pytest.raises(TinyCompilerError, match="bogus_option"):
        validate_project(ini.parent, load_board("pico"))
    with pytest.raises(TinyCompilerError, match="emulated"):
        upload(tmp_path, load_board("mps2-an386"))


@needs_toolchain
@pytest.mark.parametrize("board_id", EMULATED)
@pytest.mark.parametrize("model", MODELS)
def test_emulated_board_builds_offline_and_boots_in_qemu(tmp_path, bundles, smoke_harness, board_id, model):
    board = load_board(board_id)
    graph, bundle = bundles[model]
    project = write_project(board, bundle, tmp_path / "proj", [smoke_harness])
    validate_project(project, board)
    built = pio.build(project, board, timeout=240)
    program = bundle.program
    assert program.arena_bytes <= built.ram_bytes <= program.arena_bytes + static_bytes(len(program.calls))
    assert program.weight_bytes < built.flash_bytes < program.weight_bytes + 64 * 1024
    want = expected_lines(graph)
    with start(board, built.elf, serial="tcp") as session:
        got = read_lines(session.url, len(want))
        assert session.wait(timeout=30) == 0
    assert got == want


@needs_toolchain
def test_compile_build_cli_and_pty_console(tmp_path, smoke_harness, capsys):
    """`tinyc compile --board --build --json` end to end, then the same ELF on a pty console;
    a rebuild with nothing changed is a no-op for the sources."""
    model = model_path("tflm_hello_world_int8")
    args = ["compile", str(model), "--board", "mps2-an385", "-o", str(tmp_path / "p"), "--harness", str(smoke_harness),
            "--build", "--debug", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["board"] == "mps2-an385" and result["firmware_flash_bytes"] > result["flash_weights_bytes"]
    assert result["firmware_ram_bytes"] >= result["arena_bytes"] + 16  # debug build: guard bytes after the arena
    mtime = (tmp_path / "p" / "lib" / "model" / "model.c").stat().st_mtime_ns
    assert main(args) == 0 and (tmp_path / "p" / "lib" / "model" / "model.c").stat().st_mtime_ns == mtime
    capsys.readouterr()
    board = load_board("mps2-an385")
    with start(board, result["elf"], serial="pty") as session:
        assert session.url.startswith("/dev/")
        lines = read_lines(session.url, 2)
        assert session.wait(timeout=30) == 0
    assert lines == expected_lines(load_model(model))


@needs_toolchain
def test_build_failure_is_one_line_with_the_compiler_error(tmp_path, bundles, smoke_harness):
    broken = tmp_path / "broken"
    shutil.copytree(smoke_harness, broken)
    (broken / "smoke_main.c").write_text((broken / "smoke_main.c").read_text().replace("int status", "int status ="))
    board = load_board("mps2-an386")
    project = write_project(board, bundles["tflm_hello_world_int8"][1], tmp_path / "proj", [broken])
    with pytest.raises(TinyCompilerError) as exc:
        pio.build(project, board, timeout=240)
    assert "smoke_main.c" in str(exc.value) and "error" in str(exc.value) and "\n" not in str(exc.value)


def test_instruction_conversion_and_missing_qemu(tmp_path, monkeypatch):
    board = load_board("mps2-an386")
    assert instructions_from_ticks(board, 128) == 40 and instructions_from_ticks(board, 3_200_000) == 1_000_000
    with pytest.raises(TinyCompilerError, match="real hardware"):
        instructions_from_ticks(load_board("nucleo_f767zi"), 100)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: no emulator anywhere
    elf = tmp_path / "x.elf"
    elf.write_bytes(b"\x7fELF")
    with pytest.raises(TinyCompilerError, match="qemu-system-arm is not on PATH"):
        start(board, elf)
    assert os.environ["PATH"] == str(tmp_path)


@needs_toolchain
def test_compile_with_the_serial_harness_builds(tmp_path, capsys):
    """The default src/ (boards/harness + boards/ports/mps2 + the model's tc_model_info.h) builds."""
    from tinycompiler.resources import BOARDS

    if not (BOARDS / "harness").is_dir() or not (BOARDS / "ports" / "mps2").is_dir():
        pytest.skip("the serial harness is not in this checkout")
    model = model_path("mlperftiny_kws_dscnn_int8")
    assert main(["compile", str(model), "--board", "mps2-an386", "-o", str(tmp_path / "p"), "--build", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (tmp_path / "p" / "src" / "tc_model_info.h").is_file()
    assert not list((tmp_path / "p" / "src").glob("*.j2"))
    assert result["firmware_ram_bytes"] >= result["arena_bytes"] and Path(result["elf"]).is_file()


@needs_toolchain
def test_compile_build_with_a_relative_output_folder(tmp_path, capsys, monkeypatch):
    """`-o build/fw --build` from the user's folder: PlatformIO runs inside the project, so the
    project path it is given must not be relative to where the user stands."""
    monkeypatch.chdir(tmp_path)
    model = model_path("tflm_hello_world_int8")
    assert main(["compile", str(model), "--board", "mps2-an386", "-o", "build/fw", "--build", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert Path(result["elf"]).is_file() and (tmp_path / "build" / "fw" / "platformio.ini").is_file()
