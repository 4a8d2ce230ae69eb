"""Shared helpers of the tinyc commands."""

from __future__ import annotations

import json
from pathlib import Path


def emit_json(obj) -> None:
    """Print one JSON object as the last line of stdout (the ``--json`` contract)."""
    print(json.dumps(obj, sort_keys=True))


def model_bytes(path) -> bytes:
    return Path(path).read_bytes()


def samples(graph, args) -> list:
    """(name, inputs) pairs: the ``--input`` file, else ``--samples`` seeded random inputs."""
    from tinycompiler.tensor_io import load_inputs, random_inputs

    if getattr(args, "input", None):
        return [(Path(args.input).name, load_inputs(args.input, graph))]
    return [(f"random seed {s}", random_inputs(graph, s)) for s in range(args.samples)]
