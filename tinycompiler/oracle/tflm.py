"""TensorFlow Lite Micro as the bit-exact oracle.

Runs the real ``tflite-micro`` interpreter (PyPI) on a model and returns its outputs and, with
``preserve_all``, every intermediate tensor by TFLite tensor index (== IR tensor index).

TFLM aborts the whole process on some hostile inputs (e.g. a degenerate softmax scale), so the
``isolated`` variants run it in a child process and turn a crash into :class:`TinyCompilerError`.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from tinycompiler.errors import TinyCompilerError

ModelSource = Union[bytes, bytearray, str, os.PathLike]

#: arena for oracle runs; generous so any model this project targets allocates (bytes)
DEFAULT_ARENA_BYTES = 8 * 1024 * 1024


@dataclass
class TflmResult:
    """Outputs of one TFLM invocation, plus every tensor it kept (by tensor index)."""

    outputs: list
    tensors: dict = field(default_factory=dict)


def _model_bytes(model: ModelSource) -> bytes:
    if isinstance(model, (bytes, bytearray)):
        return bytes(model)
    return Path(model).read_bytes()


def _tensor_count(buf: bytes) -> int:
    import tflite

    return tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0).TensorsLength()


def _count_io(buf: bytes):
    import tflite

    sg = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    return sg.InputsLength(), sg.OutputsLength()


def _interpreter(buf: bytes, arena_bytes: int, preserve_all: bool):
    from tflite_micro.python.tflite_micro import runtime

    config = (
        runtime.InterpreterConfig.kPreserveAllTensors
        if preserve_all
        else runtime.InterpreterConfig.kAllocationRecording
    )
    # the keyword really is spelled "intrepreter_config" in tflite-micro
    return runtime.Interpreter.from_bytes(buf, arena_size=arena_bytes, intrepreter_config=config)


def run_tflm(
    model: ModelSource,
    inputs: list,
    preserve_all: bool = True,
    arena_bytes: int = DEFAULT_ARENA_BYTES,
) -> TflmResult:
    """Run TFLM in this process on ``inputs`` (one array per graph input, exact dtype and shape).

    With ``preserve_all`` every tensor of the subgraph is returned in ``tensors``; constants
    included. Raises TinyCompilerError if TFLM refuses the model or the inputs.
    """
    buf = _model_bytes(model)
    try:
        it = _interpreter(buf, arena_bytes, preserve_all)
        n_in, n_out = _count_io(buf)
        if len(inputs) != n_in:
            raise TinyCompilerError(f"the model has {n_in} inputs, {len(inputs)} were given")
        for i, x in enumerate(inputs):
            d = it.get_input_details(i)
            x = np.asarray(x)
            if x.dtype != d["dtype"] or tuple(x.shape) != tuple(d["shape"]):
                raise TinyCompilerError(
                    f"input {i} must be {np.dtype(d['dtype']).name}{list(d['shape'])}, "
                    f"got {x.dtype.name}{list(x.shape)}"
                )
            it.set_input(np.ascontiguousarray(x), i)
        it.invoke()
        outputs = [np.array(it.get_output(i)) for i in range(n_out)]
        tensors = {}
        if preserve_all:
            for t in range(_tensor_count(buf)):
                d = it.GetTensor(t, 0)
                data = d.get("tensor_data")
                if data is not None:
                    tensors[t] = np.array(data).reshape(tuple(d["shape"]))
        return TflmResult(outputs, tensors)
    except TinyCompilerError:
        raise
    except (RuntimeError, ValueError) as e:
        raise TinyCompilerError(f"TFLM could not run the model: {e}") from None


def _child_run(conn, buf, batches, preserve_all, arena_bytes):
    try:
        results = [run_tflm(buf, inputs, preserve_all, arena_bytes) for inputs in batches]
        conn.send(("ok", results))
    except TinyCompilerError as e:
        conn.send(("error", str(e)))
    conn.close()


def run_tflm_many_isolated(
    model: ModelSource,
    batches: list,
    preserve_all: bool = True,
    arena_bytes: int = DEFAULT_ARENA_BYTES,
    timeout_s: float = 600.0,
) -> list:
    """:func:`run_tflm` on each input list of ``batches``, in one child process.

    A TFLM abort or hang becomes a TinyCompilerError instead of taking this process down.
    """
    buf = _model_bytes(model)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_run, args=(child, buf, batches, preserve_all, arena_bytes))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise TinyCompilerError(f"TFLM did not finish within {timeout_s:.0f} s")
        status, payload = parent.recv()
    except EOFError:
        proc.join(5)
        raise TinyCompilerError(
            f"TFLM crashed on this model (exit code {proc.exitcode}); it aborts on some "
            "degenerate quantization parameters"
        ) from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if status == "error":
        raise TinyCompilerError(payload)
    return payload


def run_tflm_isolated(model: ModelSource, inputs: list, preserve_all: bool = True, **kw) -> TflmResult:
    """:func:`run_tflm` in a child process (see :func:`run_tflm_many_isolated`)."""
    return run_tflm_many_isolated(model, [inputs], preserve_all, **kw)[0]


def _allocates(buf: bytes, arena_bytes: int, inputs) -> bool:
    try:
        run_tflm(buf, inputs, preserve_all=False, arena_bytes=arena_bytes)
        return True
    except TinyCompilerError:
        return False


def _silence_stderr():
    """TFLM reports each failed allocation on C-level stderr; bisection makes dozens of them."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _child_min_arena(conn, buf, hi):
    _silence_stderr()
    it = _interpreter(buf, hi, False)
    n_in, _ = _count_io(buf)
    inputs = []
    for i in range(n_in):
        d = it.get_input_details(i)
        inputs.append(np.zeros(tuple(d["shape"]), dtype=d["dtype"]))
    lo = 0  # invariant: lo fails, hi works
    if not _allocates(buf, hi, inputs):
        conn.send(None)
        return
    while hi - lo > 16:
        mid = (lo + hi) // 2
        if _allocates(buf, mid, inputs):
            hi = mid
        else:
            lo = mid
    conn.send(hi)


def min_arena_bytes(model: ModelSource, upper_bytes: int = DEFAULT_ARENA_BYTES, timeout_s: float = 600.0) -> int:
    """The smallest arena (bytes, to 16 B) with which the TFLM host interpreter runs ``model``.

    Found by bisection in a child process. This is the 64-bit host build's figure: TFLM's
    bookkeeping is a few KB smaller on a 32-bit microcontroller.
    """
    buf = _model_bytes(model)
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child_min_arena, args=(child, buf, upper_bytes))
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout_s):
            raise TinyCompilerError(f"TFLM arena bisection did not finish within {timeout_s:.0f} s")
        result = parent.recv()
    except EOFError:
        raise TinyCompilerError("TFLM crashed while sizing its arena for this model") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
    if result is None:
        raise TinyCompilerError(f"TFLM cannot run this model even with a {upper_bytes} B arena")
    return int(result)
