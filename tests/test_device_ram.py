"""All the RAM a device uses, measured on it: the stack by painting (checked against a call of
known depth), and the fit check's per-region prediction held against the linker and the device
on STM32F405 board files whose SRAM is shrunk to the model's exact needs and just below."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import model_path
from tinycompiler.boards import load_board
from tinycompiler.boards.elf_ram import read_elf_ram
from tinycompiler.boards.platformio import build
from tinycompiler.boards.project import harness_dirs_for, write_project
from tinycompiler.boards.qemu import start
from tinycompiler.boards.ram_layout import STACK_BYTES, program_layout, static_bytes
from tinycompiler.codegen import generate
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model
from tinycompiler.harness.client import DeviceClient
from tinycompiler.harness.firmware import HOOK_FLAGS
from tinycompiler.harness.model_info import write_model_info
from tinycompiler.oracle.tflm import run_tflm
from tinycompiler.resources import BOARDS
from tinycompiler.targets.board import BoardTarget
from tinycompiler.tensor_io import random_inputs

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (make toolchain)")

KWS = "mlperftiny_kws_dscnn_int8"
DEEP_BYTES = 3000

# the first layer's timing hook first calls a function with a 3,000-byte local array that it
# writes in full: the stack must show that depth on top of what the firmware needs anyway
DEEP_CALL_C = f"""
#include <stdint.h>

void __real_tc_layer_begin(int index);

__attribute__((noinline)) static void tc_deep_call(int index)
{{
    volatile uint8_t pad[{DEEP_BYTES}];
    for (uint32_t i = 0; i < sizeof pad; ++i) {{
        pad[i] = (uint8_t)(i + (uint32_t)index);
    }}
}}

void __wrap_tc_layer_begin(int index)
{{
    if (index == 0) {{
        tc_deep_call(index);
    }}
    __real_tc_layer_begin(index);
}}
"""


def _stack_peak(board, graph, elf) -> int:
    x = random_inputs(graph, 3)
    with start(board, elf, serial="pty") as session, DeviceClient(session.url) as client:
        client.set_input(x[0].tobytes())
        assert client.infer(layers=False).status == 0
        region, peak = client.stats()
    assert region == STACK_BYTES
    return peak


def test_stack_painting_sees_a_deliberately_deep_call(tmp_path):
    board = load_board("mps2-an386")
    graph = load_model(model_path(KWS))
    normal = BoardTarget("mps2-an386")
    try:
        normal.run(graph, random_inputs(graph, 3))
        base = normal.client.stats()[1]
        elf = normal._firmware.elf
    finally:
        normal.close()
    assert _stack_peak(board, graph, elf) == base  # the same firmware measures the same

    bundle = generate(graph, tmp_path / "bundle")
    write_model_info(bundle, tmp_path / "info")
    project = write_project(board, bundle, tmp_path / "project", [*harness_dirs_for(board), tmp_path / "info"],
                            extra_build_flags=(*HOOK_FLAGS, "-Wl,--wrap=tc_layer_begin"),
                            extra_src_files={"tc_deep_call.c": DEEP_CALL_C})
    deep = _stack_peak(board, graph, build(project, board).elf)
    # the array, plus the frames above it (down to the hook); at most what the firmware used anyway
    assert DEEP_BYTES <= deep <= DEEP_BYTES + base, (deep, base)
    assert deep > base


def _f405_variant(tmp_path: Path, name: str, sram: int, ccm: int) -> str:
    """A copy of the netduinoplus2 board file with other region sizes; returns its path."""
    text = (BOARDS / "netduinoplus2.toml").read_text()
    text = text.replace('id = "netduinoplus2"', f'id = "{name}"')
    text = text.replace("bytes = 131072", f"bytes = {sram}").replace("bytes = 65536", f"bytes = {ccm}")
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def kws():
    graph = load_model(model_path(KWS))
    program = generate(graph, Path(__import__("tempfile").mkdtemp()) / "b").program
    return graph, program


def _run_exact(board_file: str, graph) -> dict:
    x = random_inputs(graph, 5)
    want = run_tflm(model_path(KWS), x, preserve_all=False).outputs[0]
    target = BoardTarget(board_file)
    try:
        result = target.run(graph, x)
    finally:
        target.close()
    assert np.array_equal(result.outputs[0], want.reshape(result.outputs[0].shape))
    return result.metrics


def _mps2_two_regions(tmp_path: Path, name: str, sram: int, upper: int = 65536) -> str:
    """The AN386 board file with its SRAM split in two regions QEMU maps: ``sram`` (``sram`` bytes
    at 0x20000000) and ``upper`` (64 KB at 0x20200000)."""
    text = (BOARDS / "mps2-an386.toml").read_text()
    text = text.replace('id = "mps2-an386"', f'id = "{name}"').replace("sram_bytes = 4194304\n", "")
    regions = (f"[[ram]]\nname = \"sram\"\norigin = 0x20000000\nbytes = {sram}\n\n"
               f"[[ram]]\nname = \"upper\"\norigin = 0x20200000\nbytes = {upper}\n\n")
    text = text.replace("[platformio]", regions + "[platformio]")
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def test_a_model_that_fits_exactly_runs(tmp_path, kws):
    """SRAM exactly what the fit check reserves (the real F405 map otherwise): it builds, the
    linker agrees, and it runs bit-exact, within the reservation as measured."""
    graph, program = kws
    need = program.arena_bytes + static_bytes(len(program.calls)) + STACK_BYTES
    m = _run_exact(_f405_variant(tmp_path, "f405_exact", need, 65536), graph)
    sram, ccm = m["ram"]["regions"]
    assert sram["stack"] and not ccm["stack"] and ccm["reserved_bytes"] == 0
    assert m["ram"]["used_bytes"] <= m["ram"]["reserved_bytes"] <= need


def test_four_bytes_less_moves_the_stack_to_the_second_region(tmp_path, kws):
    graph, program = kws
    need = program.arena_bytes + static_bytes(len(program.calls)) + STACK_BYTES
    m = _run_exact(_mps2_two_regions(tmp_path, "mps2_split_exact", need), graph)
    assert [r["stack"] for r in m["ram"]["regions"]] == [True, False]
    # four bytes less: the stack no longer fits beside the arena and goes to the other region
    m = _run_exact(_mps2_two_regions(tmp_path, "mps2_split_tight", need - 4), graph)
    sram, upper = m["ram"]["regions"]
    assert upper["stack"] and upper["reserved_bytes"] == STACK_BYTES and not sram["stack"]
    assert read_elf_ram(m["elf"]).stack_top == 0x20200000 + 65536
    assert 0 < m["ram"]["stack_peak_bytes"] <= STACK_BYTES


def test_a_model_that_misses_is_refused_before_the_build_with_bytes_per_region(tmp_path, kws):
    graph, program = kws
    static = static_bytes(len(program.calls))
    short = program.arena_bytes + static - 4
    board_file = _f405_variant(tmp_path, "f405_small", short, 65536)
    target = BoardTarget(board_file)
    with pytest.raises(TinyCompilerError) as e:
        target.run(graph, random_inputs(graph, 5))
    target.close()
    msg = str(e.value)
    assert "does not fit f405_small" in msg and "\n" not in msg
    assert (f"sram {short:,} B at 0x20000000: arena {program.arena_bytes:,} B + static {static:,} B + "
            f"stack {STACK_BYTES:,} B (over by {4 + STACK_BYTES:,} B)") in msg
    # QEMU maps no CCM: the emulated F405 cannot move the stack there
    assert "ccm 65,536 B at 0x10000000: not emulated, left empty" in msg
    assert target._firmware is None  # refused before any project was built


def test_an_arena_too_big_for_the_main_region_is_split_across_two(tmp_path):
    """ResNet-8 (a 33,584 B arena) on a board with 24 KB + 32 KB: the arena is planned with a
    seam, one array per region; it runs bit-exact, the guard bytes after both parts intact, and
    the ELF puts each part, and the stack, where the layout said."""
    name = "mlperftiny_ic_resnet8_cifar10_int8"
    graph = load_model(model_path(name))
    board_file = _mps2_two_regions(tmp_path, "mps2_split_arena", 24 * 1024, 32 * 1024)
    x = random_inputs(graph, 2)
    want = run_tflm(model_path(name), x, preserve_all=False).outputs[0]
    target = BoardTarget(board_file, debug=True)
    try:
        result = target.run(graph, x)
        program = target._firmware.bundle.program
    finally:
        target.close()
    assert np.array_equal(result.outputs[0], want.reshape(result.outputs[0].shape))
    assert result.metrics["arena_guard"] == "intact"
    (main, start0, low), (upper, seam, high) = program.arena_regions
    assert (main, start0, upper) == ("sram", 0, "upper") and low > 0 and high > 0 and seam >= low
    plan = program.plan
    assert all(o + b.size <= seam or o >= seam for b, o in zip(plan.buffers, plan.offsets))
    elf = read_elf_ram(result.metrics["elf"])
    (a0, n0), (a1, n1) = elf.arenas["model_arena"], elf.arenas["model_arena1"]
    assert 0x20000000 <= a0 < 0x20000000 + 24 * 1024 and 0x20200000 <= a1 < 0x20200000 + 32 * 1024
    assert (n0, n1) == (low + 16, high + 16)  # each part and its guard bytes
    assert result.metrics["ram"]["arena_bytes"] == low + high  # the parts, not the span up to the seam
    sram, up = result.metrics["ram"]["regions"]
    layout = program_layout(load_board(board_file), program)
    assert [u.stack_bytes > 0 for u in layout.uses] == [sram["stack"], up["stack"]]
    assert sram["reserved_bytes"] <= 24 * 1024 and up["reserved_bytes"] <= 32 * 1024
    assert up["reserved_bytes"] == n1 + (STACK_BYTES if up["stack"] else 0)
    assert layout.use("sram").arena_bytes == low and layout.use("upper").arena_bytes == high


def test_run_json_reports_all_the_ram(capsys):
    """`tinyc run --json` on the F405: arena, static data, stack high-water and their sum, per region."""
    import json

    from tinycompiler.cli import main

    assert main(["run", str(model_path(KWS)), "--board", "netduinoplus2", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    ram = json.loads(out[-1])["ram"]
    assert "RAM " in "\n".join(out[:-1]) and "by region: sram" in "\n".join(out[:-1])
    assert ram["used_bytes"] == ram["data_bss_bytes"] + ram["stack_peak_bytes"]
    assert ram["data_bss_bytes"] == ram["arena_bytes"] + ram["static_bytes"]
    assert [r["name"] for r in ram["regions"]] == ["sram", "ccm"] and ram["regions"][0]["stack"]
    assert ram["regions"][0]["reserved_bytes"] == ram["reserved_bytes"] <= 128 * 1024
