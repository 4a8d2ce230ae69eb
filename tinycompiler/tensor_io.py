"""Reading model inputs from and writing outputs to .npy/.npz files, and making seeded inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinycompiler.errors import TinyCompilerError

_NP_DTYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32, "float32": np.float32}


def input_specs(graph) -> list:
    """(shape, numpy dtype) of each graph input, in order."""
    return [(tuple(graph.tensors[i].shape), _NP_DTYPES[graph.tensors[i].dtype]) for i in graph.inputs]


def check_inputs(graph, arrays) -> list:
    """Validate arrays against the graph inputs; reshape when only the batch-1 dims differ.

    For an int8 input that stands for a float32 one of the model file (``--io int8``), a float32
    array is accepted and quantized exactly as the dropped QUANTIZE (TFLM's) would have.
    """
    from tinycompiler.passes.boundary_io import quantize_for_input

    specs = input_specs(graph)
    if len(arrays) != len(specs):
        raise TinyCompilerError(f"the model has {len(specs)} input(s), {len(arrays)} given")
    out = []
    dropped = graph.source_io.get("inputs", {})
    for i, (x, (shape, dtype)) in enumerate(zip(arrays, specs)):
        x = np.asarray(x)
        if i in dropped and x.dtype == np.float32:
            x = quantize_for_input(graph, i, x)
        if x.dtype != dtype:
            raise TinyCompilerError(
                f"input {i} has dtype {x.dtype.name}, the model wants {np.dtype(dtype).name}{list(shape)}"
            )
        if tuple(x.shape) != shape:
            if x.size != int(np.prod(shape)):
                raise TinyCompilerError(f"input {i} has shape {list(x.shape)}, the model wants {list(shape)}")
            x = x.reshape(shape)
        out.append(np.ascontiguousarray(x))
    return out


def load_inputs(path, graph) -> list:
    """Inputs from a .npy (single input) or a .npz holding input_0, input_1, ..."""
    p = Path(path)
    if not p.exists():
        raise TinyCompilerError(f"input file not found: {p}")
    try:
        data = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise TinyCompilerError(f"cannot read {p.name} as .npy/.npz: {e}") from None
    if isinstance(data, np.ndarray):
        arrays = [data]
    else:
        names = [f"input_{i}" for i in range(len(graph.inputs))]
        missing = [n for n in names if n not in data.files]
        if missing:
            raise TinyCompilerError(f"{p.name} lacks {', '.join(missing)} (has {', '.join(data.files)})")
        arrays = [data[n] for n in names]
    return check_inputs(graph, arrays)


def save_outputs(path, outputs) -> None:
    """Write outputs as output_0, output_1, ... into a .npz (parent folders created)."""
    import io

    from tinycompiler.output_files import write_file

    buf = io.BytesIO()
    np.savez(buf, **{f"output_{i}": np.asarray(o) for i, o in enumerate(outputs)})
    write_file(path, buf.getvalue(), "--output")


def random_inputs(graph, seed: int) -> list:
    """Seeded inputs covering each input dtype's full range (floats: standard normal)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape, dtype in input_specs(graph):
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            arrays.append(rng.integers(info.min, info.max + 1, size=shape, dtype=dtype))
        else:
            arrays.append(rng.standard_normal(shape).astype(dtype))
    return arrays
