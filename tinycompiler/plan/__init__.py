"""Memory planning: lifetimes -> buffers -> offsets in one arena."""

from tinycompiler.plan.allocators import ALGORITHMS, arena_size, best_placement
from tinycompiler.plan.buffers import ALIGN_BYTES, Buffer, align_up
from tinycompiler.plan.planner import MemoryPlan, collect_buffers, plan_memory

__all__ = [
    "ALGORITHMS",
    "ALIGN_BYTES",
    "Buffer",
    "MemoryPlan",
    "align_up",
    "arena_size",
    "best_placement",
    "collect_buffers",
    "plan_memory",
]
