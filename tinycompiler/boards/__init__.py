"""Boards: the data files in ``boards/*.toml``, PlatformIO projects for them, offline builds,
QEMU for the emulated ones, and upload for the real ones."""

from __future__ import annotations

from tinycompiler.boards.registry import DEFAULT_BOARD, Board, all_boards, load_board

__all__ = ["DEFAULT_BOARD", "Board", "all_boards", "load_board"]
