"""One arena per SRAM region: the memory plan of a model for a board whose main region is too
small for its arena, split so that the rest goes into a second region.

The planner sees only a seam: an arena offset that no buffer may straddle. Everything below it
is the main region's arena, everything above the next region's; the code generator gives each
part its own array and linker section, and ``AT(offset)`` picks the array at compile time. Tried
only when the plain plan does not fit, since a split costs a second arena's alignment and
(on real chips) places buffers in memory that DMA may not reach (our harness uses no DMA).
"""

from __future__ import annotations

from tinycompiler.boards.ram_layout import STACK_BYTES, layout_ram, static_bytes, usable_regions


def _calls(plan) -> int:
    from tinycompiler.codegen.lowering import lower_graph

    return len(lower_graph(plan).calls)


def plan_for_board(board, graph, patch="off") -> tuple:
    """(plan, region names): the model's plan for ``board`` and, when the arena is split across
    regions, the region of each part (main first); ``()`` for one arena. When nothing fits, the
    plain plan is returned for the fit check to refuse with its numbers."""
    from tinycompiler.codegen import plan_for_codegen

    plan = plan_for_codegen(graph, patch)
    static = static_bytes(_calls(plan))
    usable = usable_regions(board)
    if layout_ram(board, plan.arena_bytes, static).fits or len(usable) < 2:
        return plan, ()
    main = usable[0]
    for second in sorted(usable[1:], key=lambda r: -r.bytes):
        # the stack in the second region first: that leaves the main region to the arena
        for stack_home in (second, main):
            seam = (main.bytes - static - (STACK_BYTES if stack_home is main else 0)) // 16 * 16
            room = second.bytes - (STACK_BYTES if stack_home is second else 0)
            if seam <= 0 or room <= 0:
                continue
            split = plan_for_codegen(graph, patch, seams=(seam,))
            (_, low), (_, high) = split.parts()
            if high == 0:  # everything below the seam after all: no second arena needed
                continue
            parts = {main.name: low, second.name: high}
            if layout_ram(board, split.arena_bytes, static, arena_parts=parts).fits:
                return split, (main.name, second.name)
    return plan, ()
