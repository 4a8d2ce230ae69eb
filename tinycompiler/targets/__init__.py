"""Targets that run a compiled model: the reference interpreter, the host, and every board in
``boards/*.toml`` (through the serial harness)."""

from __future__ import annotations

from tinycompiler.errors import TinyCompilerError
from tinycompiler.targets.base import RunResult


def _targets() -> dict:
    """name -> factory(**options); board factories take ``port`` and ``debug``."""
    from functools import partial

    from tinycompiler.boards.registry import board_ids
    from tinycompiler.targets.board import BoardTarget
    from tinycompiler.targets.host import HostTarget
    from tinycompiler.targets.reference import ReferenceTarget

    targets = {"reference": ReferenceTarget, "host": HostTarget}
    for board_id in board_ids():
        targets[board_id] = partial(BoardTarget, board_id)
    return targets


def is_board(name: str) -> bool:
    """Is ``name`` a device board (runs through the serial harness), not reference/host?"""
    return name not in ("reference", "host")


def get_target(name: str, port: str = None, debug: bool = False, patch: str = "off", opt: str = "O2"):
    """The target called ``name``; a clear error lists the known ones. ``port``/``debug`` apply to
    device boards only (a port given for reference/host is an error); ``patch`` to targets that
    run generated code (the reference interpreter has no memory plan); ``opt`` (O2 or Os) to the
    firmware of device boards."""
    targets = _targets()
    if str(name).endswith(".toml"):  # a board file of the user's own (see load_board)
        from tinycompiler.targets.board import BoardTarget

        return BoardTarget(str(name), port=port, debug=debug, patch=patch, opt=opt)
    if name not in targets:
        raise TinyCompilerError(f"unknown board {name!r}; known: {', '.join(sorted(targets))}")
    if name == "reference":
        if port:
            raise TinyCompilerError(f"--port applies to device boards, not {name!r}")
        return targets[name]()
    if name == "host":
        if port:
            raise TinyCompilerError(f"--port applies to device boards, not {name!r}")
        return targets[name](patch=patch)
    return targets[name](port=port, debug=debug, patch=patch, opt=opt)


__all__ = ["RunResult", "get_target", "is_board"]
