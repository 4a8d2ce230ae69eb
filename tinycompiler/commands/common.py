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
    parser.add_argument("--io", choices=["int8", "float"], default="int8",
                        help="for a .pt2: dtype of the converted model's input/output")
    parser.add_argument("--calib-method", choices=["minmax", "percentile", "mse"], default="minmax",
                        help="for a .pt2: how activation ranges are chosen from the calibration data")


def add_patch_arg(parser) -> None:
    """``--patch``: patch-based inference of the first stage (see tinycompiler/plan/patch.py)."""
    parser.add_argument("--patch", default="off",
                        help="patch-based inference: off (default), auto, auto:F (extra-MAC bound F, "
                             "default 0.2), or NxMxK (an N x M grid, split after op K)")


def add_opt_arg(parser) -> None:
    """``--opt``: the firmware's compiler optimization, O2 (speed) or Os (size, for a model tight on flash)."""
    parser.add_argument("--opt", choices=["O2", "Os"], default="O2",
                        help="firmware optimization: O2 (speed, default) or Os (smaller code)")


def load(args):
    """The command's model as an IR graph (a .pt2 is converted and quantized first)."""
    from tinycompiler.frontends import load_model

    return load_model(args.model, calib=args.calib, io=args.io, calib_method=args.calib_method)


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
