"""Board data files, the `tinyc boards` table, and the fit check (no builds here)."""

from __future__ import annotations

import json

import pytest

from conftest import model_path
from tinycompiler.boards import DEFAULT_BOARD, all_boards, load_board
from tinycompiler.boards.fit import FLASH_RESERVE_BYTES, check_fits
from tinycompiler.boards.ram_layout import STACK_BYTES, static_bytes
from tinycompiler.boards.registry import CORES
from tinycompiler.cli import main
from tinycompiler.errors import TinyCompilerError

EMULATED = {"mps2-an385": "cortex-m3", "mps2-an386": "cortex-m4", "mps2-an500": "cortex-m7", "mps2-an505": "cortex-m33"}
REAL = {  # id -> (platform, core, SRAM bytes, flash bytes): the datasheet numbers
    "disco_f746ng": ("ststm32", "cortex-m7", 320 * 1024, 1024 * 1024),
    "nucleo_f767zi": ("ststm32", "cortex-m7", 512 * 1024, 2048 * 1024),
    "nucleo_h743zi": ("ststm32", "cortex-m7", 512 * 1024, 2048 * 1024),
    "nucleo_l4r5zi": ("ststm32", "cortex-m4", 640 * 1024, 2048 * 1024),
    "nucleo_f401re": ("ststm32", "cortex-m4", 96 * 1024, 512 * 1024),
    "nrf52840_dk": ("nordicnrf52", "cortex-m4", 256 * 1024, 1024 * 1024),
    "pico": ("raspberrypi", "cortex-m0plus", 264 * 1024, 2048 * 1024),
}


def test_every_board_file_loads_with_sane_fields():
    boards = {b.id: b for b in all_boards()}
    assert set(EMULATED) | set(REAL) <= set(boards)
    for b in boards.values():
        assert b.core in CORES and b.title and b.port and b.console
        assert b.sram_bytes > 0 and b.flash_bytes > 0 and b.clock_hz > 0
        assert f"-mcpu={b.core}" in b.cflags and b.platformio.board
        assert (b.fpu == "none") == (not any(f.startswith("-mfpu") for f in b.cflags))
        assert b.env_name.isidentifier()
    for board_id, core in EMULATED.items():
        b = boards[board_id]
        assert b.emulated and b.core == core and b.qemu.machine == board_id
        assert b.sram_bytes == b.flash_bytes == 4 * 1024 * 1024
        # -icount shift=7: an instruction is 128 ns, so a timer at clock_hz ticks 128e-9 * clock_hz times
        assert b.qemu.instructions_per_tick == pytest.approx(1 / (128e-9 * b.clock_hz), rel=1e-12)
        assert b.cycle_counter == "qemu-icount-timer0"
        assert b.platformio.local_platform_dir is not None
    for board_id, (platform, core, sram, flash) in REAL.items():
        b = boards[board_id]
        assert not b.emulated and b.platformio.platform == platform and b.platformio.board == board_id
        assert (b.core, b.sram_bytes, b.flash_bytes) == (core, sram, flash)
    assert boards["mps2-an386"].dsp and not boards["mps2-an385"].dsp and not boards["pico"].dsp
    # the M55: its SSE-300 system counter runs at 32 MHz, 4.096 ticks per 128 ns instruction
    an547 = boards["mps3-an547"]
    assert an547.core == "cortex-m55" and an547.dsp and an547.vectors_origin == 0x10000000
    assert an547.qemu.instructions_per_tick == pytest.approx(1 / (128e-9 * 32e6), rel=1e-12)
    assert [(r.name, r.origin, r.bytes) for r in an547.regions] == [("dtcm", 0x30000000, 512 * 1024),
                                                                   ("sram", 0x31000000, 4 * 1024 * 1024)]
    # the F405's real map, and TIM2 prescaled to one tick per 128 ns (one instruction) under QEMU
    f405 = boards["netduinoplus2"]
    assert (f405.core, f405.flash_origin, f405.flash_bytes) == ("cortex-m4", 0x08000000, 1024 * 1024)
    assert f405.qemu.instructions_per_tick == 1.0 and f405.regions[0].bytes == 128 * 1024
    assert DEFAULT_BOARD == "mps2-an386"


def test_unknown_board_lists_the_known_ones():
    with pytest.raises(TinyCompilerError) as exc:
        load_board("esp32")
    assert "unknown board 'esp32'" in str(exc.value) and "mps2-an386" in str(exc.value) and "pico" in str(exc.value)


def test_broken_board_file_names_the_field(tmp_path, monkeypatch):
    from tinycompiler.boards import registry

    good = load_board("pico").path.read_text()
    (tmp_path / "pico.toml").write_text(good.replace("sram_bytes = 270336", "sram_bytes = -1"))
    monkeypatch.setattr(registry, "BOARDS", tmp_path)
    with pytest.raises(TinyCompilerError, match="sram_bytes must be a positive integer"):
        registry.load_board("pico")
    (tmp_path / "pico.toml").write_text(good.replace('port = "rp2040"\n', ""))
    with pytest.raises(TinyCompilerError, match="missing field.*port"):
        registry.load_board("pico")


def test_boards_command_table_and_json(capsys):
    assert main(["boards", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    table = "\n".join(out[:-1])
    assert "nucleo_f401re" in table and "96 KiB" in table and "emulated (mps2-an500)" in table
    data = json.loads(out[-1])
    assert data["default"] == "mps2-an386"
    rows = {b["id"]: b for b in data["boards"]}
    assert rows["pico"]["sram_bytes"] == 270336 and rows["pico"]["emulated"] is False
    assert rows["mps2-an385"]["qemu"]["machine"] == "mps2-an385"
    # regions, with the F405's CCM marked as QEMU does not map it; whether each port was built here
    assert "sram 128 KiB + ccm 64 KiB (no DMA, not emulated)" in table
    f405 = rows["netduinoplus2"]
    assert [(r["name"], r["origin"], r["bytes"], r["dma"], r["emulated"]) for r in f405["ram_regions"]] == [
        ("sram", 0x20000000, 131072, True, True), ("ccm", 0x10000000, 65536, False, False)]
    assert f405["sram_bytes"] == 196608 and f405["flash_origin"] == 0x08000000
    assert rows["pico"]["port_built"] == "needs registry"
    assert all(rows[b]["port_built"] in ("yes", "offline") for b in rows if rows[b]["emulated"])


def test_board_file_regions_are_checked(tmp_path):
    good = load_board("netduinoplus2").path.read_text()
    bad = tmp_path / "netduinoplus2.toml"
    bad.write_text(good.replace("origin = 0x10000000", "origin = 0x2001F000"))
    with pytest.raises(TinyCompilerError, match="regions sram and ccm overlap"):
        load_board(str(bad))
    bad.write_text(good.replace('name = "ccm"', 'name = "CCM-1"'))
    with pytest.raises(TinyCompilerError, match="must be a lower-case identifier"):
        load_board(str(bad))
    bad.write_text(good.replace("[[ram]]", "sram_bytes = 1000\n\n[[ram]]", 1))
    with pytest.raises(TinyCompilerError, match="sram_bytes differs from the sum"):
        load_board(str(bad))
    with pytest.raises(TinyCompilerError, match="does not exist"):
        load_board(str(tmp_path / "nosuch.toml"))


def test_fit_check_gives_numbers_and_advice():
    f401 = load_board("nucleo_f401re")
    reserve = static_bytes(1) + STACK_BYTES  # the harness's static data and the stack
    check_fits(f401, 96 * 1024 - reserve, 512 * 1024 - FLASH_RESERVE_BYTES)  # exactly full: fits
    with pytest.raises(TinyCompilerError) as exc:
        check_fits(f401, 100_000, 1000)
    msg = str(exc.value)
    assert (f"RAM: sram 98,304 B at 0x20000000: arena 100,000 B + static {static_bytes(1):,} B + stack "
            f"{STACK_BYTES:,} B (over by {100_000 + reserve - 98304:,} B)") in msg and "tinyc boards" in msg
    assert "nrf52840_dk" in msg  # the smallest board that holds it is suggested
    with pytest.raises(TinyCompilerError, match="no known board is large enough"):
        check_fits(f401, 64 * 1024 * 1024, 0)


def test_compile_refuses_a_model_too_big_for_the_board(tmp_path, capsys):
    vww = model_path("tinyengine_mcunet_vww")
    out = tmp_path / "proj"
    assert main(["compile", str(vww), "--board", "nucleo_f401re", "-o", str(out), "--harness", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    # its RAM fits now that the float input is quantized as written; its 625 KB of weights do not
    assert "does not fit nucleo_f401re" in err and "flash: needs" in err and "has 524288 B" in err
    assert len(err.strip().splitlines()) == 1
    assert not (out / "platformio.ini").exists()  # refused before anything was written


def test_compile_unknown_board_lists_boards_and_host(tmp_path, capsys):
    assert main(["compile", str(model_path("tflm_hello_world_int8")), "--board", "nosuch", "-o", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unknown board 'nosuch'" in err and "host" in err and "nucleo_h743zi" in err
