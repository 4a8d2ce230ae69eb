"""Where the non-Python parts of the project live: templates, the C runtime, board files."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
RUNTIME_C = ROOT / "runtime_c"
BOARDS = ROOT / "boards"
