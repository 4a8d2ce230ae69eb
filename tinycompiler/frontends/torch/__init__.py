"""The PyTorch frontend: a ``torch.export`` program or an nn.Module, plus calibration inputs, to an
int8 IR graph that TFLM runs bit-exactly like our reference and generated C.

Pipeline (one module each): :mod:`.export` (load/export, decompose to core aten) ->
:mod:`.lower` (aten graph -> float layer list) -> :mod:`.fold` (BatchNorm folding, activation
fusion) -> :mod:`.calibrate` (activation ranges) -> :mod:`.quantize` (int8 choices) ->
:mod:`.to_ir` (NHWC IR graph). torch is imported lazily, only when a model is converted.

The compiled model's input is NHWC (an NCHW model's [N, C, H, W] input becomes [N, H, W, C]);
:func:`quantize_input` and :func:`dequantize_output` (in :mod:`.model_io`) do the conversions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.torch.model_io import dequantize_output, nhwc, quantize_input

__all__ = ["convert", "float_graph", "load_calib", "load_pt2_model", "quantize_input", "dequantize_output", "nhwc"]


def load_calib(calib) -> np.ndarray:
    """Calibration inputs from an array or a ``.npy`` path (batch-first, the model's own layout)."""
    if isinstance(calib, (str, Path)):
        p = Path(calib)
        if not p.exists():
            raise TinyCompilerError(f"calibration file not found: {p}")
        try:
            calib = np.load(p, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise TinyCompilerError(f"cannot read {p.name} as a .npy array of calibration inputs: {e}") from None
        if not isinstance(calib, np.ndarray):
            raise TinyCompilerError(f"{p.name} must be one .npy array [N, C, H, W], not an .npz archive")
    return np.asarray(calib)


def float_graph(model, example_input=None):
    """The folded float layer list of a model (a .pt2 path, an ExportedProgram or an nn.Module)."""
    from tinycompiler.frontends.torch.export import exported_program
    from tinycompiler.frontends.torch.fold import fold
    from tinycompiler.frontends.torch.lower import lower

    return fold(lower(exported_program(model, example_input)))


def convert(model, calib, example_input=None, io: str = "int8", calib_method: str = "minmax", name=None):
    """Quantize ``model`` to int8 with the calibration inputs ``calib`` and return the IR Graph.

    ``model``: a ``.pt2`` path, a ``torch.export.ExportedProgram`` or an ``nn.Module`` (then
    ``example_input`` is one input batch, e.g. ``calib[:1]``). ``calib``: array or ``.npy`` path,
    ``[N, ...]`` in the model's own layout. ``io``: "int8" or "float" graph inputs/outputs.
    ``calib_method``: "minmax", "percentile" or "mse".
    """
    from tinycompiler.frontends.tflite.validate import validate_graph
    from tinycompiler.frontends.torch.calibrate import calibrate
    from tinycompiler.frontends.torch.quantize import assign_quants
    from tinycompiler.frontends.torch.to_ir import build_graph

    try:
        import torch  # noqa: F401
    except ImportError:
        raise TinyCompilerError("the PyTorch frontend needs torch: pip install 'tinycompiler[torch]'") from None
    calib = load_calib(calib)
    if example_input is None and not isinstance(model, (str, Path)) and len(calib):
        example_input = calib[:1].astype(np.float32)
    fg = float_graph(model, example_input)
    ranges = calibrate(fg, calib, calib_method)
    quants = assign_quants(fg, ranges)
    if name is None:
        name = Path(model).stem if isinstance(model, (str, Path)) else type(model).__name__
    graph = build_graph(fg, quants, io, name=name)
    graph.description = f"converted by tinycompiler from PyTorch ({calib_method} calibration on {len(calib)} inputs)"
    validate_graph(graph)
    return graph


def load_pt2_model(path, calib=None, io: str = "int8", calib_method: str = "minmax"):
    """``load_model``'s entry for ``.pt2`` files: calibration inputs are required."""
    if calib is None:
        raise TinyCompilerError(f"{Path(path).name} is a float PyTorch model: pass calibration inputs "
                                f"(--calib CALIB.npy, a batch [N, C, H, W] in the model's layout) to quantize it")
    return convert(path, calib, io=io, calib_method=calib_method)
