"""Does a compiled model fit a board? Checked before any build, with numbers and advice."""

from __future__ import annotations

from tinycompiler.errors import TinyCompilerError

#: SRAM kept free beside the arena: the stack (16 KiB on the mps2 dev-platform) plus the harness's
#: static buffers and the runtime's data (bytes)
RAM_RESERVE_BYTES = 24 * 1024
#: flash kept free beside the weights: kernels, model.c, harness, start-up and libc (bytes)
FLASH_RESERVE_BYTES = 64 * 1024


def needs(arena_bytes: int, weight_bytes: int) -> tuple:
    """(SRAM bytes, flash bytes) a model needs on a board: its arena / weights plus the reserves."""
    return arena_bytes + RAM_RESERVE_BYTES, weight_bytes + FLASH_RESERVE_BYTES


def boards_that_fit(arena_bytes: int, weight_bytes: int) -> list:
    """Ids of every known board the model fits, smallest SRAM first."""
    from tinycompiler.boards.registry import all_boards

    ram, flash = needs(arena_bytes, weight_bytes)
    fitting = [b for b in all_boards() if b.sram_bytes >= ram and b.flash_bytes >= flash]
    return [b.id for b in sorted(fitting, key=lambda b: (b.sram_bytes, b.flash_bytes, b.id))]


def check_fits(board, arena_bytes: int, weight_bytes: int) -> None:
    """Raise TinyCompilerError if the arena (+ reserve) exceeds ``board``'s SRAM or the weights
    (+ reserve) its flash; the message gives bytes needed vs available and boards that would do."""
    ram, flash = needs(arena_bytes, weight_bytes)
    over = []
    if ram > board.sram_bytes:
        over.append(f"SRAM: needs {ram} B (arena {arena_bytes} B + {RAM_RESERVE_BYTES} B for stack and harness) "
                    f"but {board.id} has {board.sram_bytes} B")
    if flash > board.flash_bytes:
        over.append(f"flash: needs {flash} B (weights {weight_bytes} B + {FLASH_RESERVE_BYTES} B for code) "
                    f"but {board.id} has {board.flash_bytes} B")
    if over:
        fit = boards_that_fit(arena_bytes, weight_bytes)
        advice = (f"pick a larger board from `tinyc boards`, e.g. {', '.join(fit[:3])}" if fit else
                  "no known board is large enough: shrink the model (smaller input, fewer channels)")
        raise TinyCompilerError(f"the model does not fit {board.id}: {'; '.join(over)}; {advice}")
