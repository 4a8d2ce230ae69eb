"""Targets that run a compiled model: the reference interpreter, the host, and boards."""

from __future__ import annotations

from tinycompiler.errors import TinyCompilerError
from tinycompiler.targets.base import RunResult


def _targets():
    from tinycompiler.targets.host import HostTarget
    from tinycompiler.targets.reference import ReferenceTarget

    return {"reference": ReferenceTarget, "host": HostTarget}


def target_names() -> list:
    """Names accepted by ``--board``."""
    return sorted(_targets())


def get_target(name: str):
    """The target called ``name``; a clear error lists the known ones."""
    targets = _targets()
    if name not in targets:
        raise TinyCompilerError(f"unknown board {name!r}; known: {', '.join(sorted(targets))}")
    return targets[name]()


__all__ = ["RunResult", "get_target", "target_names"]
