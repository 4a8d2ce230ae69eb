"""Lowering: each IR op becomes a kernel Call with every constant decided at compile time.

A lowering module per op family registers ``LOWER`` (op kind -> function(op, graph, ctx) -> Call
or None for ops that need no code, such as views) and ``SCRATCH`` (op kind -> function(op, graph)
-> scratch bytes the chosen kernel needs).
"""

from __future__ import annotations

from tinycompiler.codegen.lower import conv

_MODULES = [conv]


def _optional_modules():
    try:
        from tinycompiler.codegen.lower import ops  # the non-conv kernels
    except ImportError:  # pragma: no cover - during bring-up only
        return []
    return [ops]


def lowerers() -> dict:
    table = {}
    for m in _MODULES + _optional_modules():
        table.update(m.LOWER)
    return table


def scratch_table() -> dict:
    table = {}
    for m in _MODULES + _optional_modules():
        table.update(getattr(m, "SCRATCH", {}))
    return table
