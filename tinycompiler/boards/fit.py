"""Does a compiled model fit a board? Checked before any build, with numbers and advice.

:func:`check_program_fits` is the one check ``tinyc compile``, ``flash`` and ``run`` (board
targets, through :func:`tinycompiler.harness.firmware.build_firmware`) make on the generated
program, before a project is written or built: bytes needed vs available, the layer that sets
the arena's peak (from the memory plan), and what would help, computed: ``--patch auto`` when
patch-based inference would make the arena fit, and the smallest boards that hold the model.
"""

from __future__ import annotations

from tinycompiler.boards.ram_layout import layout_ram, program_layout, static_bytes
from tinycompiler.errors import TinyCompilerError

#: flash kept free beside the weights: kernels, model.c, harness, start-up and libc (bytes)
FLASH_RESERVE_BYTES = 64 * 1024


def flash_needed(weight_bytes: int) -> int:
    """Flash a model needs on a board (bytes): its weights plus the code reserve. (Its RAM is a
    layout over the board's regions: :func:`~tinycompiler.boards.ram_layout.layout_ram`.)"""
    return weight_bytes + FLASH_RESERVE_BYTES


def fits_board(board, arena_bytes: int, weight_bytes: int, layers: int = 1) -> bool:
    """Whether the model fits every RAM region of ``board`` (see ram_layout) and its flash."""
    layout = layout_ram(board, arena_bytes, static_bytes(layers))
    return layout.fits and flash_needed(weight_bytes) <= board.flash_bytes


def boards_that_fit(arena_bytes: int, weight_bytes: int, layers: int = 1) -> list:
    """Ids of every known board the model fits, smallest SRAM first."""
    from tinycompiler.boards.registry import all_boards

    fitting = [b for b in all_boards() if fits_board(b, arena_bytes, weight_bytes, layers)]
    return [b.id for b in sorted(fitting, key=lambda b: (b.sram_bytes, b.flash_bytes, b.id))]


def check_fits(board, arena_bytes: int, weight_bytes: int, peak: str = "", patch_advice: str = "",
               layers: int = 1, layout=None) -> None:
    """Raise TinyCompilerError if the arena, static data and stack do not fit ``board``'s RAM
    regions or the weights (+ reserve) its flash; the message gives bytes per region and by how
    much each misses, ``peak`` (the layer that sets the arena), ``patch_advice`` and boards that
    would do. ``layout``: the RAM layout already made (e.g. of a split arena), else one arena."""
    layout = layout or layout_ram(board, arena_bytes, static_bytes(layers))
    flash = flash_needed(weight_bytes)
    over = []
    if not layout.fits:
        over.append(f"RAM: {layout.describe()}" + (f"; the arena peaks at {peak}" if peak else ""))
    if flash > board.flash_bytes:
        over.append(f"flash: needs {flash} B (weights {weight_bytes} B + {FLASH_RESERVE_BYTES} B for code) "
                    f"but {board.id} has {board.flash_bytes} B, short by {flash - board.flash_bytes} B")
    if over:
        fit = boards_that_fit(arena_bytes, weight_bytes, layers)
        advice = (f"pick a larger board from `tinyc boards`, e.g. {', '.join(fit[:3])}" if fit else
                  "no known board is large enough: shrink the model (smaller input, fewer channels)")
        if patch_advice:
            advice = f"{patch_advice}; or {advice}"
        raise TinyCompilerError(f"the model does not fit {board.id}: {'; '.join(over)}; {advice}")


def peak_layer(program) -> str:
    """The layer at the plan's peak, e.g. ``layer 3 (DEPTHWISE_CONV_2D ..., 55,296 B alive)``."""
    plan = getattr(program, "plan", None)
    if plan is None or not plan.alive_bytes:
        return ""
    step = plan.peak_step
    call = next((c for c in program.calls if c.op_index == step), None)
    what = f"layer {call.layer} ({call.comment}" if call else f"op {step} ("
    return f"{what}, {plan.alive_bytes[step]} B alive)"


def patch_advice(board, graph, program, patch: str) -> tuple:
    """(advice, note) about ``--patch auto``, planned here, not guessed: advice when it makes
    the model fit, a note when it lowers the arena but not enough; '' otherwise (already on, or
    no lower arena)."""
    from tinycompiler.codegen import plan_for_codegen

    if patch not in (None, "off") or graph is None:
        return "", ""
    try:
        auto = plan_for_codegen(graph, "auto").arena_bytes
    except TinyCompilerError:
        return "", ""
    if auto >= program.arena_bytes:
        return "", ""
    if fits_board(board, auto, program.weight_bytes, len(program.calls)):
        return f"use --patch auto: it plans a {auto} B arena, which fits", ""
    if layout_ram(board, auto, static_bytes(len(program.calls))).fits:
        return "", f"--patch auto would make the RAM fit (a {auto} B arena), not the flash"
    return "", f"--patch auto would lower the arena only to {auto} B"


def check_program_fits(board, program, graph=None, patch: str = "off") -> None:
    """:func:`check_fits` for a generated program (``bundle.program``): numbers, the peak layer,
    and, when SRAM is short, whether ``--patch auto`` would fit (planning ``graph`` again)."""
    layers = len(program.calls)
    layout = program_layout(board, program)  # the arena may be split across regions
    if layout.fits and flash_needed(program.weight_bytes) <= board.flash_bytes:
        return
    ram_short = not layout.fits
    advice, note = patch_advice(board, graph, program, patch) if ram_short else ("", "")
    peak = peak_layer(program)
    check_fits(board, program.arena_bytes, program.weight_bytes, peak=f"{peak}; {note}" if note else peak,
               patch_advice=advice, layers=layers, layout=layout)
