"""Model frontends: each turns a user's model file into the IR."""

from __future__ import annotations

from pathlib import Path

from tinycompiler.errors import TinyCompilerError

#: model file suffixes :func:`load_model` understands
SUFFIXES = (".tflite", ".pt2")


def load_model(path, calib=None, io: str = "int8", calib_method: str = "minmax"):
    """Load a model file into a :class:`~tinycompiler.ir.Graph`, choosing the frontend by suffix.

    ``.tflite``: an int8 TFLite model (``calib`` and the options are ignored). ``.pt2``: a float
    PyTorch program saved with ``torch.export.save``, quantized to int8 here; ``calib`` (a ``.npy``
    path or an array ``[N, C, H, W]`` in the model's own layout) is required, ``io`` ("int8" or
    "float") picks the graph's input/output dtype and ``calib_method`` ("minmax", "percentile",
    "mse") how activation ranges are chosen.
    """
    p = Path(path)
    if not p.exists():
        raise TinyCompilerError(f"model file not found: {p}")
    if p.suffix == ".tflite":
        from tinycompiler.frontends.tflite import load_tflite

        return load_tflite(p)
    if p.suffix == ".pt2":
        from tinycompiler.frontends.torch import load_pt2_model

        return load_pt2_model(p, calib, io=io, calib_method=calib_method)
    raise TinyCompilerError(f"unknown model format {p.suffix!r} for {p.name}; supported: {', '.join(SUFFIXES)}")
