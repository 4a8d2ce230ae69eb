"""The tinyc commands, one module each with ``add_parser(subparsers)``; listed here in help order."""

from __future__ import annotations

import importlib

#: command modules, in the order ``tinyc --help`` lists them
COMMANDS = ["inspect", "run", "verify", "eval", "bench", "compile", "flash", "plan", "boards", "convert"]


def add_all(sub) -> None:
    """Register every command's sub-parser."""
    for name in COMMANDS:
        importlib.import_module(f"tinycompiler.commands.{name}").add_parser(sub)
