"""Shared helpers of the tinyc commands."""

from __future__ import annotations

import json
from pathlib import Path


def emit_json(obj) -> None:
    """Print one JSON object as the last line of stdout (the ``--json`` contract)."""
    print(json.dumps(obj, sort_keys=True))


def add_model_args(parser) -> None:
    """The model argument every command takes: a .tflite, or a PyTorch .pt2 with calibration data."""
    parser.add_argument("model", help="an int8 .tflite, or a .pt2 (torch.export.save) with --calib")
    parser.add_argument("--calib", help="for a .pt2: calibration inputs, a .npy batch [N, C, H, W]")
    parser.add_argument("--io", choices=["int8", "float"], default=None,
                        help="the model's input/output dtype: int8 drops a .tflite's float boundary "
                             "(QUANTIZE in, DEQUANTIZE out; the caller passes int8 with the scale and zero "
                             "point in model.h); a .pt2 is converted with it (default int8); a .tflite "
                             "keeps its own I/O without it")
    parser.add_argument("--calib-method", choices=["minmax", "percentile", "mse"], default=None,
                        help="for a .pt2: how activation ranges are chosen from the calibration data "
                             "(default minmax)")


def add_patch_arg(parser) -> None:
    """``--patch``: patch-based inference of the first stage (see tinycompiler/plan/patch.py)."""
    parser.add_argument("--patch", default="off",
                        help="patch-based inference: off (default), auto, auto:F (extra-MAC bound F, "
                             "default 0.2), or NxMxK (an N x M grid, split after op K)")


def add_opt_arg(parser) -> None:
    """``--opt``: O2 (speed) or Os (size, for a model tight on flash: -Os code and the lean constant layouts)."""
    parser.add_argument("--opt", choices=["O2", "Os"], default="O2",
                        help="firmware optimization: O2 (speed, default) or Os (smaller code)")


def load(args):
    """The command's model as an IR graph (a .pt2 is converted and quantized first), with the
    I/O ``--io`` asks for. Options that do not apply to the model's format are refused."""
    from tinycompiler.errors import TinyCompilerError
    from tinycompiler.frontends import load_model
    from tinycompiler.passes import apply_io

    tflite = Path(args.model).suffix == ".tflite"
    if tflite:
        given = [flag for flag, value in (("--calib", args.calib), ("--calib-method", args.calib_method))
                 if value is not None]
        if given:
            raise TinyCompilerError(f"{' and '.join(given)} only apply to a .pt2 (a float PyTorch model to "
                                    f"quantize); {Path(args.model).name} is already quantized")
    io = args.io or "int8"
    graph = load_model(args.model, calib=args.calib, io=io, calib_method=args.calib_method or "minmax")
    return apply_io(graph, args.io, tflite)


def model_bytes(args, graph) -> bytes:
    """The .tflite bytes TFLM is to run: the user's own file, or the converted model written out."""
    if Path(args.model).suffix == ".tflite":
        return Path(args.model).read_bytes()
    from tinycompiler.frontends.tflite import write_tflite

    return write_tflite(graph)


def samples(graph, args) -> list:
    """(name, inputs) pairs: the ``--input`` file, else ``--samples`` seeded random inputs."""
    from tinycompiler.tensor_io import load_inputs, random_inputs

    if getattr(args, "input", None):
        return [(Path(args.input).name, load_inputs(args.input, graph))]
    return [(f"random seed {s}", random_inputs(graph, s)) for s in range(args.samples)]
