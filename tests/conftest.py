"""Shared test constants: where the shared reference models and sample data live.

``SHARED`` is the ``shared`` folder next to the repository checkout. Tests that need it skip
cleanly when it is absent (use the ``needs_shared`` marker or :func:`model_path`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MODELS = SHARED / "models"
DATA = SHARED / "data"
#: every shared .tflite model, sorted by name (empty when the shared folder is absent)
MODEL_FILES = sorted(MODELS.glob("*.tflite")) if MODELS.is_dir() else []

#: skip a test when the shared models are not available
needs_shared = pytest.mark.skipif(not MODEL_FILES, reason=f"shared models not found in {MODELS}")


def model_path(name: str) -> Path:
    """Path of a shared model by file name or stem; skips the calling test when it is missing."""
    p = MODELS / (name if name.endswith(".tflite") else name + ".tflite")
    if not p.is_file():
        pytest.skip(f"shared model {p.name} not found in {MODELS}")
    return p
