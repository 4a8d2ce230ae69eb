"""Graphs that end in a float32 tail after a DEQUANTIZE, as PyTorch exporters leave them.

:func:`with_float_tail` appends DEQUANTIZE and a chain of float ops to a graph whose single output
is int8 (e.g. a bundled model). The chains cover every op of ``FLOAT_TAIL_OPS``.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.ir.graph import Graph, Op

#: named chains (op kinds after the DEQUANTIZE; FC/ADD/MUL get random float32 constants)
CHAINS = {
    "log_softmax": ["LOG_SOFTMAX"],
    "softmax": ["SOFTMAX"],
    "mixed": ["FULLY_CONNECTED", "ADD", "RELU", "MUL", "TANH", "CONCATENATION", "LOGISTIC", "RESHAPE",
              "MEAN", "SOFTMAX"],
}


def with_float_tail(graph, chain, seed: int = 0) -> Graph:
    """A copy of ``graph`` whose int8 output [1, ..., C] goes through DEQUANTIZE and ``chain``."""
    rng = np.random.default_rng(seed)
    g = Graph(list(graph.tensors), [Op(k, o.kind, list(o.inputs), list(o.outputs), dict(o.attrs))
                                    for k, o in enumerate(graph.ops)], list(graph.inputs), [], graph.name)
    x = graph.tensors[graph.outputs[0]]
    c = int(x.shape[-1])
    shape = (1, c)
    cur = g.add_tensor("tail.float", shape, "float32").index
    g.add_op("RESHAPE", [x.index], [g.add_tensor("tail.flat", shape, "int8", x.quant).index])
    g.add_op("DEQUANTIZE", [g.ops[-1].outputs[0]], [cur])

    def new(name, shp):
        return g.add_tensor(f"tail.{name}.{len(g.ops)}", shp, "float32").index

    def const(name, arr):
        return g.add_tensor(f"tail.{name}.{len(g.ops)}", arr.shape, "float32", data=arr.astype(np.float32)).index

    for kind in chain:
        w = g.tensors[cur].shape
        if kind == "FULLY_CONNECTED":
            out = new("fc", (1, c))
            g.add_op(kind, [cur, const("w", rng.normal(0, 0.5, (c, int(w[-1])))), const("b", rng.normal(0, 0.1, (c,)))],
                     [out], activation="NONE", keep_num_dims=False)
        elif kind in ("ADD", "MUL"):
            out = new(kind.lower(), w)
            g.add_op(kind, [cur, const("k", rng.normal(1.0, 0.5, (int(w[-1]),)))], [out], activation="NONE")
        elif kind == "CONCATENATION":
            out = new("cat", (1, 2 * int(w[-1])))
            g.add_op(kind, [cur, cur], [out], axis=1, activation="NONE")
        elif kind == "RESHAPE":
            out = new("r", (1, 2, int(w[-1]) // 2))
            g.add_op(kind, [cur, g.add_tensor(f"tail.shape.{len(g.ops)}", (3,), "int32",
                                              data=np.array([1, 2, int(w[-1]) // 2], np.int32)).index], [out])
        elif kind == "MEAN":
            out = new("mean", (1, int(w[-1])))
            g.add_op(kind, [cur, g.add_tensor(f"tail.axes.{len(g.ops)}", (1,), "int32",
                                              data=np.array([1], np.int32)).index], [out], keep_dims=False)
        elif kind == "SOFTMAX":
            out = new("sm", w)
            g.add_op(kind, [cur], [out], beta=1.0)
        else:
            out = new(kind.lower(), w)
            g.add_op(kind, [cur], [out])
        cur = out
    g.outputs = [cur]
    return g
