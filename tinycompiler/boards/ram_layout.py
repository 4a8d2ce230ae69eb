"""Where a firmware's RAM goes on a board with one or more SRAM regions, decided before the build.

Three things need RAM: the model's arena (the memory plan), the static data beside it (the
harness's frame and command buffers, per-layer tick counters, the runtime's and libc's data) and
the stack. The main region (the board file's first) holds ``.data`` and ``.bss``, hence the
arena and the static data. The stack goes there too when everything fits; otherwise into the
second region that can hold it (e.g. the 64 KB CCM of an STM32F4: CPU-only, which a stack
never minds), which frees the main region for the arena. A region the board's emulator does not
map (QEMU 7.2 has no F405 CCM) is left empty on the emulated board. The linker script is rendered from
the same :class:`RamLayout`, so the numbers here are the ones the linker enforces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: the stack every harness firmware reserves (bytes). Measured by stack painting on the device
#: (STATS): the deepest bundled model uses 1,584 B (MCUNet VWW, Cortex-M4, -O2), the others
#: 272-1,472 B; 4 KiB leaves 2.5x that. tests/test_device_ram.py keeps the figure honest.
STACK_BYTES = 4096
#: static RAM of the harness beside the arena (bytes): the 1,028 B frame buffer, the 257 B text
#: command buffer and ~60 B of state, with room to spare; plus 4 B per layer (its tick count).
#: Measured from the ELF: 1,348 B + 4 B per layer on every bundled model (+24 B with a float input quantized as written).
HARNESS_STATIC_BYTES = 1536
LAYER_TICK_BYTES = 4


def static_bytes(layers: int) -> int:
    """Static RAM the harness firmware needs beside the arena for a model of ``layers`` kernel
    calls (bytes): what the fit check reserves before any build."""
    return HARNESS_STATIC_BYTES + LAYER_TICK_BYTES * max(layers, 1)


@dataclass
class RegionUse:
    """One region's share (bytes)."""

    region: object  # a RamRegion
    arena_bytes: int = 0
    static_bytes: int = 0
    stack_bytes: int = 0
    unusable: bool = False  # the emulator does not map it (RamRegion.emulated)

    @property
    def used(self) -> int:
        return self.arena_bytes + self.static_bytes + self.stack_bytes

    @property
    def free(self) -> int:
        """Bytes left; negative when the region is over-full."""
        return self.region.bytes - self.used

    def describe(self) -> str:
        if getattr(self, "unusable", False):
            return f"{self.region.name} {self.region.bytes:,} B at {self.region.origin:#010x}: not emulated, left empty"
        parts = [f"{name} {n:,} B" for name, n in (("arena", self.arena_bytes), ("static", self.static_bytes),
                                                   ("stack", self.stack_bytes)) if n]
        what = " + ".join(parts) if parts else "nothing"
        state = f"{self.free:,} B free" if self.free >= 0 else f"over by {-self.free:,} B"
        return f"{self.region.name} {self.region.bytes:,} B at {self.region.origin:#010x}: {what} ({state})"


@dataclass
class RamLayout:
    """Every region's share; ``stack_region`` names where the stack goes."""

    uses: list = field(default_factory=list)
    stack_region: str = ""

    @property
    def fits(self) -> bool:
        return all(u.free >= 0 for u in self.uses)

    @property
    def used(self) -> int:
        return sum(u.used for u in self.uses)

    def use(self, name: str) -> RegionUse:
        return next(u for u in self.uses if u.region.name == name)

    def describe(self) -> str:
        """One clause per region, e.g. ``sram 131,072 B at 0x20000000: arena 76,800 B + static
        1,772 B (52,500 B free); ccm ...``."""
        return "; ".join(u.describe() for u in self.uses)


def usable_regions(board) -> list:
    """The regions something may go into: all of them, but on an emulated board only those its
    emulator maps."""
    return [r for r in board.regions if r.emulated or not board.emulated]


def layout_ram(board, arena_bytes: int, static: int, stack: int = STACK_BYTES, arena_parts=None) -> RamLayout:
    """Place the arena and static data in ``board``'s main region and the stack where it fits
    best: the main region when all fits there, else the other region with the most room left
    that holds it. ``arena_parts`` (region name -> bytes) places an arena split across regions
    (:func:`tinycompiler.boards.region_plan.plan_for_board`). An over-full layout is returned
    as is (``fits`` False) for the caller to report."""
    regions = board.regions
    main = regions[0]
    usable = usable_regions(board)
    parts = dict(arena_parts) if arena_parts else {main.name: arena_bytes}

    def build(stack_home) -> RamLayout:
        uses = [RegionUse(r, unusable=r not in usable) for r in regions]
        for u in uses:
            u.arena_bytes = parts.get(u.region.name, 0)
        uses[0].static_bytes = static
        next(u for u in uses if u.region is stack_home).stack_bytes = stack
        return RamLayout(uses, stack_home.name)

    layout = build(main)
    if layout.fits or len(regions) == 1:
        return layout
    room = {u.region.name: u.free + u.stack_bytes for u in layout.uses}
    others = sorted((r for r in usable[1:] if room[r.name] >= stack), key=lambda r: -room[r.name])
    return build(others[0]) if others else layout


def plan_layout(board, plan, region_names=(), calls: int = 1) -> RamLayout:
    """The layout of a memory plan with ``calls`` kernel calls: one arena, or, when the plan is
    split at seams, its parts in the regions ``region_names`` (main first)."""
    parts = {name: size for name, (_start, size) in zip(region_names, plan.parts())} if plan.seams else None
    return layout_ram(board, plan.arena_bytes, static_bytes(calls), arena_parts=parts)


def program_layout(board, program) -> RamLayout:
    """The layout of a generated program (``bundle.program``), its arena split or not."""
    parts = {name: size for name, _start, size in program.arena_regions} or None
    return layout_ram(board, program.arena_bytes, static_bytes(len(program.calls)), arena_parts=parts)
