"""Does a planned model fit a board's SRAM and flash, and if not, by how much and what would help."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinycompiler.errors import TinyCompilerError


@dataclass
class BoardBudget:
    """What a board offers the model (bytes)."""

    id: str
    title: str
    sram_bytes: int
    flash_bytes: int


@dataclass
class Fit:
    """The model's needs against one board (bytes). ``sram_needed`` is the arena alone."""

    board: BoardBudget
    sram_needed: int
    flash_needed: int
    peak_layer: int
    peak_op: str
    larger_boards: list = field(default_factory=list)
    #: the harness firmware's RAM per region (``tinycompiler.boards.ram_layout``): describe() lines
    #: and JSON rows; empty when the board registry is not available
    region_lines: list = field(default_factory=list)
    regions: list = field(default_factory=list)

    @property
    def fits_sram(self) -> bool:
        return self.sram_needed <= self.board.sram_bytes

    @property
    def fits_flash(self) -> bool:
        return self.flash_needed <= self.board.flash_bytes

    @property
    def fits(self) -> bool:
        return self.fits_sram and self.fits_flash

    @property
    def sram_short_bytes(self) -> int:
        return max(0, self.sram_needed - self.board.sram_bytes)

    @property
    def flash_short_bytes(self) -> int:
        return max(0, self.flash_needed - self.board.flash_bytes)


def _field(board, name):
    return board[name] if isinstance(board, dict) else getattr(board, name)


def _registry():
    """The board registry module, or a one-line error naming the board files it would read."""
    try:
        from tinycompiler.boards import registry
    except ImportError:
        from tinycompiler.resources import BOARDS

        ids = sorted(p.stem for p in BOARDS.glob("*.toml"))
        raise TinyCompilerError(
            "--board needs the board registry (tinycompiler.boards.registry), which this build does "
            f"not have yet; board files present: {', '.join(ids) or 'none'}; run without --board"
        ) from None
    return registry


def budget_of(board) -> BoardBudget:
    """A registry board object (or dict with the board file's keys) as a :class:`BoardBudget`."""
    bid = str(_field(board, "id"))
    title = getattr(board, "title", None) if not isinstance(board, dict) else board.get("title")
    # the arena lives in the main RAM region (the first): on a board with several, that one counts
    regions = getattr(board, "regions", None) if not isinstance(board, dict) else None
    sram = regions[0].bytes if regions else int(_field(board, "sram_bytes"))
    return BoardBudget(bid, str(title or bid), int(sram), int(_field(board, "flash_bytes")))


def load_budget(board_id: str) -> BoardBudget:
    """The SRAM and flash of board ``board_id`` from the registry (its error lists the boards)."""
    return budget_of(_registry().load_board(board_id))


def boards_that_fit(sram_needed: int, flash_needed: int) -> list:
    """Ids of the registry's boards with enough SRAM and flash, smallest SRAM first."""
    try:
        registry = _registry()
        boards = [budget_of(b) for b in registry.all_boards()]
    except TinyCompilerError:
        return []  # a broken board file must not hide the report; `tinyc boards` shows the error
    found = [b for b in boards if b.sram_bytes >= sram_needed and b.flash_bytes >= flash_needed]
    return [b.id for b in sorted(found, key=lambda b: (b.sram_bytes, b.id))]


def check_fit(report, board: BoardBudget) -> Fit:
    """The fit of ``report`` (a MemoryReport) on ``board``; lists larger boards when it does not fit."""
    fit = Fit(board, report.arena_bytes, report.flash_bytes, report.peak_layer, report.peak_row.op)
    if not fit.fits:
        fit.larger_boards = boards_that_fit(fit.sram_needed, fit.flash_needed)
    return fit


def fit_lines(fit: Fit, patch_on: bool) -> list:
    """Human lines: fits with the headroom, or what is short, which layer sets it and what would help."""
    b = fit.board
    head = f"board {b.id} ({b.title}): "
    sram = f"SRAM {fit.sram_needed:,} of {b.sram_bytes:,} B"
    flash = f"flash {fit.flash_needed:,} of {b.flash_bytes:,} B"
    if fit.fits:
        return [head + f"fits: {sram} ({b.sram_bytes - fit.sram_needed:,} B free), "
                f"{flash} ({b.flash_bytes - fit.flash_needed:,} B free)"] + fit.region_lines
    lines = [head + "DOES NOT FIT"] + fit.region_lines
    if not fit.fits_sram:
        lines.append(f"  SRAM: needs {fit.sram_needed:,} B, has {b.sram_bytes:,} B, short by "
                     f"{fit.sram_short_bytes:,} B; the peak is set by op {fit.peak_layer} {fit.peak_op}")
    if not fit.fits_flash:
        lines.append(f"  flash: needs {fit.flash_needed:,} B (weights + code estimate), has {b.flash_bytes:,} B, "
                     f"short by {fit.flash_short_bytes:,} B")
    helps = []
    if not fit.fits_sram and not patch_on:
        helps.append("--patch auto (patch-based inference lowers the early-layer peak)")
    if fit.larger_boards:
        helps.append(f"a board with enough memory: {', '.join(fit.larger_boards)} (see tinyc boards)")
    else:
        helps.append("a larger board (see tinyc boards)")
    lines.append("  would help: " + "; or ".join(helps))
    return lines


def device_regions(fit: Fit, board_id: str, graph, patch: str = "off") -> None:
    """Fill ``fit.region_lines``/``fit.regions`` with what the harness firmware would put in each
    RAM region of ``board_id`` (the arena split across regions when the main one is too small,
    the harness data, the stack), planned as ``tinyc run`` plans it."""
    from tinycompiler.boards.ram_layout import plan_layout
    from tinycompiler.boards.region_plan import plan_for_board

    board = _registry().load_board(board_id)
    layout = plan_layout(board, *plan_for_board(board, graph, patch))
    what = "fits" if layout.fits else "does not fit"
    fit.region_lines = [f"  RAM on the device, by region ({what}; the arena, the harness's data and a 4 KB stack):"]
    fit.region_lines += [f"    {u.describe()}" for u in layout.uses]
    fit.regions = [{"name": u.region.name, "origin": u.region.origin, "bytes": u.region.bytes,
                    "arena_bytes": u.arena_bytes, "static_bytes": u.static_bytes, "stack_bytes": u.stack_bytes,
                    "free_bytes": u.free} for u in layout.uses]
