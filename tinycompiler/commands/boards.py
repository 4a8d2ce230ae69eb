"""``tinyc boards``: the boards a model can be compiled for, from ``boards/*.toml``."""

from __future__ import annotations

from tinycompiler.commands.common import emit_json


def add_parser(sub) -> None:
    s = sub.add_parser("boards", help="list the boards (id, core, RAM regions, flash, clock, emulated or real, "
                                      "whether its port was built here)")
    s.add_argument("--json", action="store_true", help="also print every board's fields as one JSON object")
    s.set_defaults(func=run)


def _kib(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n / 1024:g} KiB"


def _regions(board) -> str:
    """e.g. ``sram 128 KiB + ccm 64 KiB (no DMA, not emulated)``."""
    parts = []
    for r in board.regions:
        notes = [n for n, on in (("no DMA", not r.dma), ("not emulated", board.emulated and not r.emulated)) if on]
        parts.append(f"{r.name} {_kib(r.bytes)}" + (f" ({', '.join(notes)})" if notes else ""))
    return " + ".join(parts)


def port_built(board) -> str:
    """Whether this machine has built a firmware with the board's port: ``yes`` (one is in the
    firmware cache), ``offline`` (it builds here, none built yet) or ``needs registry`` (its
    PlatformIO platform cannot be installed without network)."""
    from tinycompiler.harness.firmware import cache_root

    if any((cache_root() / board.id).glob("*/build.json")):
        return "yes"
    return "offline" if board.platformio.local_platform_dir is not None else "needs registry"


def run(args) -> int:
    from tinycompiler.boards.registry import DEFAULT_BOARD, all_boards

    boards = all_boards()
    header = ("id", "core", "RAM regions", "flash", "clock", "kind", "DSP", "FPU", "port built")
    rows = [(b.id + (" *" if b.id == DEFAULT_BOARD else ""), b.core, _regions(b), _kib(b.flash_bytes),
             f"{b.clock_hz / 1e6:g} MHz", f"emulated ({b.qemu.machine})" if b.emulated else "real",
             "yes" if b.dsp else "no", b.fpu, port_built(b)) for b in boards]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
    print("* default board. Emulated boards build offline and run in QEMU (instructions, not cycles); "
          "real boards need PlatformIO's registry to build. port built: yes = a firmware for it was built "
          "on this machine.")
    if args.json:
        emit_json({"default": DEFAULT_BOARD, "boards": [
            {"id": b.id, "title": b.title, "core": b.core, "fpu": b.fpu, "dsp": b.dsp, "sram_bytes": b.sram_bytes,
             "flash_bytes": b.flash_bytes, "flash_origin": b.flash_origin, "clock_hz": b.clock_hz,
             "emulated": b.emulated, "port": b.port, "port_built": port_built(b),
             "ram_regions": [{"name": r.name, "origin": r.origin, "bytes": r.bytes, "dma": r.dma,
                              "emulated": r.emulated} for r in b.regions],
             "cycle_counter": b.cycle_counter, "console": b.console, "cflags": list(b.cflags),
             "platformio": {"platform": b.platformio.platform, "board": b.platformio.board,
                            "framework": b.platformio.framework},
             "qemu": ({"machine": b.qemu.machine, "instructions_per_tick": b.qemu.instructions_per_tick}
                      if b.emulated else None)} for b in boards]})
    return 0
