"""Model frontends: each turns a user's model file into the IR."""

from __future__ import annotations

from pathlib import Path

from tinycompiler.errors import TinyCompilerError


def load_model(path, calib=None):
    """Load a model file into a :class:`~tinycompiler.ir.Graph`, choosing the frontend by suffix."""
    p = Path(path)
    if not p.exists():
        raise TinyCompilerError(f"model file not found: {p}")
    if p.suffix == ".tflite":
        from tinycompiler.frontends.tflite import load_tflite

        return load_tflite(p)
    raise TinyCompilerError(f"unknown model format {p.suffix!r} for {p.name}; supported: .tflite")
