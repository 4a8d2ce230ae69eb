"""``tinyc boards``: the boards a model can be compiled for, from ``boards/*.toml``."""

from __future__ import annotations

from tinycompiler.commands.common import emit_json


def add_parser(sub) -> None:
    s = sub.add_parser("boards", help="list the boards (id, core, SRAM, flash, clock, emulated or real)")
    s.add_argument("--json", action="store_true", help="also print every board's fields as one JSON object")
    s.set_defaults(func=run)


def _kib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n / 1024:g} KiB"


def run(args) -> int:
    from tinycompiler.boards.registry import DEFAULT_BOARD, all_boards

    boards = all_boards()
    header = ("id", "core", "SRAM", "flash", "clock", "kind", "DSP", "FPU")
    rows = [(b.id + (" *" if b.id == DEFAULT_BOARD else ""), b.core, _kib(b.sram_bytes), _kib(b.flash_bytes),
             f"{b.clock_hz / 1e6:g} MHz", f"emulated ({b.qemu.machine})" if b.emulated else "real",
             "yes" if b.dsp else "no", b.fpu) for b in boards]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print("* default board. Emulated boards build offline and run in QEMU (instructions, not cycles); "
          "real boards need PlatformIO's registry to build.")
    if args.json:
        emit_json({"default": DEFAULT_BOARD, "boards": [
            {"id": b.id, "title": b.title, "core": b.core, "fpu": b.fpu, "dsp": b.dsp, "sram_bytes": b.sram_bytes,
             "flash_bytes": b.flash_bytes, "clock_hz": b.clock_hz, "emulated": b.emulated, "port": b.port,
             "cycle_counter": b.cycle_counter, "console": b.console, "cflags": list(b.cflags),
             "platformio": {"platform": b.platformio.platform, "board": b.platformio.board,
                            "framework": b.platformio.framework},
             "qemu": ({"machine": b.qemu.machine, "instructions_per_tick": b.qemu.instructions_per_tick}
                      if b.emulated else None)} for b in boards]})
    return 0
