"""A rough figure for the flash the generated code takes, before any board build measures it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from tinycompiler.errors import TinyCompilerError


@dataclass
class CodeEstimate:
    """``bytes`` of code (an estimate, or None when the model cannot be lowered); ``note`` says how."""

    bytes: Optional[int]
    sources: list
    note: str


def estimate_code_bytes(graph, plan) -> CodeEstimate:
    """Sum of the C source bytes of the runtime files the model links.

    Why source bytes: it needs no cross compiler and grows with the kernels a model uses, which is
    what differs between models. It is only a proxy (comments count, inlining does not); a board
    build reports the real ``.text``.
    """
    from tinycompiler.codegen.lowering import lower_graph
    from tinycompiler.codegen.runtime_sources import sources_for
    from tinycompiler.resources import RUNTIME_C

    try:
        program = lower_graph(plan)
    except TinyCompilerError as e:
        return CodeEstimate(None, [], f"code size not estimated: {e}")
    sources = sources_for(program.functions)
    total = sum((RUNTIME_C / "src" / name).stat().st_size for name in sources)
    return CodeEstimate(total, sources,
                        f"estimate: C source bytes of the {len(sources)} runtime files linked; "
                        "a board build measures the real .text")
