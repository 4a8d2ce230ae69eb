"""Boards that are too small: ``tinyc compile``, ``flash`` and ``run`` refuse before any build,
through one check (tinycompiler.boards.fit.check_program_fits), with the numbers (bytes needed vs
available), the layer that sets the arena's peak, and what would help (``--patch auto`` when it
makes the model fit, computed; boards that hold it)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from conftest import model_path
from tinycompiler.boards import load_board
from tinycompiler.boards.fit import FLASH_RESERVE_BYTES, check_program_fits
from tinycompiler.boards.ram_layout import STACK_BYTES, static_bytes
from tinycompiler.cli import main
from tinycompiler.codegen import generate
from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends import load_model

VWW = "tinyengine_mcunet_vww"  # arena ~90 KB + weights ~625 KB: too big for an 80 KiB F401
SMALL = "nucleo_f401re"  # 96 KiB SRAM, 512 KiB flash
#: the F401RE's board file with 80 KiB of SRAM (as a smaller STM32F401 has): VWW's layer plan does
#: not fit it, its --patch auto plan does; the flash is short either way
SMALL_SRAM = 81920


@pytest.fixture(scope="module")
def vww(tmp_path_factory):
    graph = load_model(model_path(VWW))
    return graph, generate(graph, tmp_path_factory.mktemp("vww")).program


@pytest.fixture(scope="module")
def small_board(tmp_path_factory):
    """A board file of its own (``--board path.toml``): the F401RE's with 80 KiB of SRAM."""
    from tinycompiler.resources import BOARDS

    text = (BOARDS / f"{SMALL}.toml").read_text().replace("sram_bytes = 98304", f"sram_bytes = {SMALL_SRAM}")
    path = tmp_path_factory.mktemp("board") / f"{SMALL}.toml"
    path.write_text(text)
    return str(path)


def _refusal(vww, argv, capsys) -> str:
    graph, program = vww
    assert main(argv) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    msg = lines[0]
    reserve = static_bytes(len(program.calls)) + STACK_BYTES
    flash = program.weight_bytes + FLASH_RESERVE_BYTES
    assert f"does not fit {SMALL}" in msg
    assert (f"RAM: sram {SMALL_SRAM:,} B at 0x20000000: arena {program.arena_bytes:,} B + static "
            f"{static_bytes(len(program.calls)):,} B + stack {STACK_BYTES:,} B (over by "
            f"{program.arena_bytes + reserve - SMALL_SRAM:,} B)") in msg
    assert f"flash: needs {flash} B (weights {program.weight_bytes} B" in msg and "has 524288 B" in msg
    # the layer at the plan's peak, with the bytes alive there
    plan = program.plan
    call = next(c for c in program.calls if c.op_index == plan.peak_step)
    assert f"the arena peaks at layer {call.layer} ({call.comment}, {plan.alive_bytes[plan.peak_step]} B alive)" in msg
    # --patch auto was planned: with the measured reserve (not the old flat 24 KB) it fits this
    # board's SRAM, but the flash is still short, so the advice stays a larger board
    auto = int(re.search(r"--patch auto would make the RAM fit \(a (\d+) B arena\), not the flash", msg).group(1))
    assert auto < program.arena_bytes and auto + reserve <= SMALL_SRAM
    assert "pick a larger board from `tinyc boards`, e.g. " in msg and "nrf52840_dk" in msg
    return out


@pytest.mark.timeout(120)
def test_compile_refuses_with_numbers_peak_layer_and_advice(vww, small_board, tmp_path, capsys):
    out_dir = tmp_path / "project"
    _refusal(vww, ["compile", str(model_path(VWW)), "--board", small_board, "-o", str(out_dir)], capsys)
    assert not out_dir.exists()  # refused before anything was written


@pytest.mark.timeout(120)
@pytest.mark.parametrize("command", ["flash", "run"])
def test_flash_and_run_refuse_before_building(vww, small_board, tmp_path, capsys, monkeypatch, command):
    monkeypatch.setenv("TINYC_CACHE", str(tmp_path / "cache"))
    out = _refusal(vww, [command, str(model_path(VWW)), "--board", small_board], capsys)
    assert not (tmp_path / "cache" / "boards" / SMALL).exists()  # no project written, nothing built
    assert "uploaded" not in out


def test_patch_auto_is_advised_when_it_makes_the_model_fit(tmp_path):
    """person_detect (arena ~55 KB, ~23 KB with --patch auto) on a board like the F401RE with
    60,000 B of SRAM: the refusal says --patch auto fits, with the arena it plans; with
    --patch auto the same check passes."""
    graph = load_model(model_path("tflm_person_detect_mobilenetv1_96_int8"))
    board = dataclasses.replace(load_board(SMALL), sram_bytes=60_000)
    program = generate(graph, tmp_path / "off").program
    assert program.arena_bytes + static_bytes(len(program.calls)) + STACK_BYTES > board.sram_bytes
    with pytest.raises(TinyCompilerError) as exc:
        check_program_fits(board, program, graph, "off")
    msg = str(exc.value)
    auto = generate(graph, tmp_path / "auto", patch="auto").program
    assert f"use --patch auto: it plans a {auto.arena_bytes} B arena" in msg and "which fits" in msg
    assert "; or pick a larger board" in msg and "the arena peaks at layer" in msg
    assert "flash:" not in msg  # only what is short is listed
    check_program_fits(board, auto, graph, "auto")


def test_a_model_that_fits_passes_and_so_does_one_exactly_full(tmp_path):
    graph = load_model(model_path("mlperftiny_kws_dscnn_int8"))
    program = generate(graph, tmp_path / "kws").program
    board = load_board(SMALL)
    check_program_fits(board, program, graph)
    full = dataclasses.replace(board, sram_bytes=program.arena_bytes + static_bytes(len(program.calls)) + STACK_BYTES,
                               flash_bytes=program.weight_bytes + FLASH_RESERVE_BYTES)
    check_program_fits(full, program, graph)
    with pytest.raises(TinyCompilerError, match=r"RAM: sram [\d,]+ B at 0x20000000: .* \(over by 1 B\)"):
        check_program_fits(dataclasses.replace(full, sram_bytes=full.sram_bytes - 1), program, graph)
