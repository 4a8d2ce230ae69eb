"""One arena per SRAM region: the memory plan of a model for a board whose main region is too
small for its arena, split so that the rest goes into a second region.

The planner sees only a seam: an arena offset that no buffer may straddle. Everything below it
is the main region's arena, everything above the next region's; the code generator gives each
part its own array and linker section, and ``AT(offset)`` picks the array at compile time. Tried
only when the plain plan does not fit, since a split costs a second arena's alignment and
(on real chips) places buffers in memory that DMA may not reach (our harness uses no DMA).
"""

from __future__ import annotations

from tinycompiler.boards.ram_layout import STACK_BYTES, layout_ram, plan_layout, static_bytes, usable_regions


def kernel_calls(plan) -> int:
    """Kernel calls of the program ``plan`` lowers to (each has a tick counter in the harness)."""
    from tinycompiler.codegen.lowering import lower_graph

    return len(lower_graph(plan).calls)


def plan_for_board(board, graph, patch="off") -> tuple:
    """(plan, region names, kernel calls): the model's plan for ``board``; when the arena is
    split across regions, the region of each part (main first), else ``()``. When nothing
    fits, the plain plan is returned for the fit check to refuse with its numbers."""
    from tinycompiler.codegen import plan_for_codegen

    plan = plan_for_codegen(graph, patch)
    calls = kernel_calls(plan)
    static = static_bytes(calls)
    usable = usable_regions(board)
    if layout_ram(board, plan.arena_bytes, static).fits or len(usable) < 2:
        return plan, (), calls
    # the patch search is done: every split plan keeps the stage it chose
    stage = plan.patch if plan.patch is not None else "off"
    main = usable[0]
    for second in sorted(usable[1:], key=lambda r: -r.bytes):
        # the stack in the second region first: that leaves the main region to the arena
        for stack_home in (second, main):
            seam = (main.bytes - static - (STACK_BYTES if stack_home is main else 0)) // 16 * 16
            room = second.bytes - (STACK_BYTES if stack_home is second else 0)
            if seam <= 0 or room <= 0:
                continue
            split = plan_for_codegen(graph, stage, seams=(seam,))
            if split.parts()[-1][1] == 0:  # everything below the seam after all: no second arena
                continue
            names = (main.name, second.name)
            if plan_layout(board, split, names, calls).fits:
                return split, names, calls
    return plan, (), calls
