"""Where the model meets its caller: float inputs quantized as they are written, and ``--io int8``.

Exporters leave a model's boundary in float: a float32 input goes through QUANTIZE, the int8
result through DEQUANTIZE. Two graph rewrites act there; both keep every tensor index (dropped
ops' tensors are simply no longer used) and renumber the ops.

* :func:`fuse_input_quantize` (a code generation pass, always on): a float32 graph input read
  only by one QUANTIZE to int8 never has to exist in RAM. TFLM's QUANTIZE maps each value on its
  own, so the generated ``model_input_write()`` quantizes every value as the caller writes it,
  with the same arithmetic, and only the int8 tensor lives in the arena (a quarter of the bytes).
  The caller still writes float32; ``Graph.written_inputs`` remembers which inputs do so.
* :func:`int8_io` (``--io int8``): the caller hands over int8 and takes int8, as cameras and
  microphones deliver it: the boundary QUANTIZE and DEQUANTIZE ops are dropped, and their int8
  tensors become the graph's inputs and outputs (their scale and zero point are in ``model.h``).
  ``Graph.source_io`` maps each such position back to the float tensor of the model file, so
  ``verify`` can still run TFLM on the original model and compare the int8 tensors.
"""

from __future__ import annotations

from dataclasses import replace

from tinycompiler.errors import TinyCompilerError
from tinycompiler.ir.graph import Op


def _quantize_readers(graph) -> dict:
    """input position -> the QUANTIZE that is the only reader of that float32 graph input."""
    found = {}
    for pos, t in enumerate(graph.inputs):
        tensor = graph.tensors[t]
        readers = graph.consumers(t)
        if tensor.dtype != "float32" or t in graph.outputs or len(readers) != 1:
            continue
        q = readers[0]
        out = q.output(graph)
        if q.kind == "QUANTIZE" and out.dtype == "int8" and out.quant is not None and not out.quant.per_channel \
                and out.index not in graph.inputs and out.index not in graph.outputs:
            found[pos] = q
    return found


def _dequantize_writers(graph) -> dict:
    """output position -> the DEQUANTIZE that writes that float32 graph output from int8."""
    found = {}
    for pos, t in enumerate(graph.outputs):
        op = graph.producer(t)
        if op is None or op.kind != "DEQUANTIZE" or graph.tensors[t].dtype != "float32":
            continue
        x = op.input(graph, 0)
        if x.dtype == "int8" and x.index not in graph.inputs and x.index not in graph.outputs:
            found[pos] = op
    return found


def _without(graph, dropped: set, **changes):
    ops = [Op(k, op.kind, list(op.inputs), list(op.outputs), dict(op.attrs))
           for k, op in enumerate(o for o in graph.ops if o.index not in dropped)]
    return replace(graph, tensors=list(graph.tensors), ops=ops, **changes)


def fuse_input_quantize(graph):
    """``graph`` with each float input's QUANTIZE moved into the input write (module docstring).

    Returns ``graph`` itself when no input qualifies.
    """
    found = _quantize_readers(graph)
    if not found:
        return graph
    inputs = list(graph.inputs)
    written = dict(graph.written_inputs)
    for pos, q in found.items():
        written[pos] = inputs[pos]
        inputs[pos] = q.outputs[0]
    return _without(graph, {q.index for q in found.values()}, inputs=inputs, written_inputs=written)


def stored_inputs(graph, inputs) -> list:
    """``inputs`` as the generated model stores them: float inputs quantized as written.

    The quantization is the reference QUANTIZE (bit-exact with TFLM's), so the host can predict
    the device's input bytes (the harness checks them by CRC-32).
    """
    from tinycompiler.reference.quantize import quantize

    found = _quantize_readers(graph)
    return [quantize(found[k], graph, [x]) if k in found else x for k, x in enumerate(inputs)]


def quantize_for_input(graph, pos: int, x):
    """float32 ``x`` for int8 graph input ``pos`` (one that stands for a float input: ``--io
    int8``, or quantized as written), quantized with that tensor's scale and zero point exactly as
    TFLM's QUANTIZE (the reference's) would."""
    from tinycompiler.reference.quantize import affine_quantize

    t = graph.tensors[graph.inputs[pos]]
    return affine_quantize(x, t.quant.s, t.quant.zp, t.dtype)


def source_inputs(graph, inputs) -> list:
    """Inputs for the model file (TFLM) from inputs given for ``graph`` (``--io int8``).

    A float32 array passes as given. An int8 array for an input whose QUANTIZE was dropped becomes
    ``float32(scale * (q - zp))``: TFLM's QUANTIZE maps that back to exactly ``q`` (the error of
    the two float32 roundings is under 1e-4 of a step), so TFLM computes on the same int8 tensor.
    """
    import numpy as np

    from tinycompiler.reference.quantize import affine_dequantize

    dropped = graph.source_io.get("inputs", {})
    out = []
    for k, x in enumerate(inputs):
        x = np.asarray(x)
        if k in dropped and x.dtype != np.float32:
            q = graph.tensors[graph.inputs[k]].quant
            x = affine_dequantize(x, q.s, q.zp).reshape(graph.tensors[dropped[k]].shape)
        out.append(x)
    return out


def source_outputs(graph, outputs) -> list:
    """Outputs as the model file gives them: an int8 output whose DEQUANTIZE was dropped becomes
    float32 exactly as that DEQUANTIZE (TFLM's) computes it; a one-to-one map, so comparing these
    with TFLM's float outputs is comparing the int8 tensors."""
    import numpy as np

    from tinycompiler.reference.quantize import affine_dequantize

    dropped = graph.source_io.get("outputs", {})
    out = []
    for k, y in enumerate(outputs):
        y = np.asarray(y)
        if k in dropped:
            q = graph.tensors[graph.outputs[k]].quant
            y = affine_dequantize(y, q.s, q.zp)
        out.append(y)
    return out


def int8_io(graph):
    """``graph`` with its float boundary dropped: int8 in, int8 out (``--io int8``).

    Raises TinyCompilerError when an input or output is float but not through a plain
    QUANTIZE/DEQUANTIZE (then there is no int8 tensor to hand over instead).
    """
    qs, ds = _quantize_readers(graph), _dequantize_writers(graph)
    for what, tensors, found in (("input", graph.inputs, qs), ("output", graph.outputs, ds)):
        for pos, t in enumerate(tensors):
            tensor = graph.tensors[t]
            if tensor.dtype == "float32" and pos not in found:
                raise TinyCompilerError(
                    f"--io int8: {what} {pos} ({tensor.name}) is float32 but not a lone "
                    f"{'QUANTIZE' if what == 'input' else 'DEQUANTIZE'} to/from int8, so there is no int8 tensor to "
                    f"hand over; use --io float")
    if not qs and not ds:
        return graph
    inputs, outputs = list(graph.inputs), list(graph.outputs)
    source = {"inputs": {}, "outputs": {}}
    for pos, q in qs.items():
        source["inputs"][pos] = inputs[pos]
        inputs[pos] = q.outputs[0]
    for pos, d in ds.items():
        source["outputs"][pos] = outputs[pos]
        outputs[pos] = d.inputs[0]
    dropped = {op.index for op in list(qs.values()) + list(ds.values())}
    return _without(graph, dropped, inputs=inputs, outputs=outputs, source_io=source)


def apply_io(graph, io, is_tflite: bool):
    """The graph a command works on for ``--io`` (None: as the model file has it).

    ``is_tflite``: the model came from a ``.tflite`` (a converted ``.pt2`` already has the I/O
    it was converted for). ``--io float`` on a model with int8 I/O is refused: it would add a
    boundary the model file does not have, which TFLM could not be checked against.
    """
    if io is None or not is_tflite:
        return graph
    if io == "int8":
        return int8_io(graph)
    ints = [graph.tensors[t] for t in list(graph.inputs) + list(graph.outputs) if graph.tensors[t].dtype != "float32"]
    if ints:
        raise TinyCompilerError(f"--io float: {ints[0].name} is {ints[0].dtype} in the model file; tinycompiler "
                                f"does not add a float boundary to a .tflite (leave --io out, or use --io int8)")
    return graph
