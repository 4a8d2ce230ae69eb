"""Mutation of ``.tflite`` files, for fuzzing the importer and the planner (``tinyc plan``).

Reusable by the pytest fuzzer (``test_model_fuzz.py``, through the hypothesis strategy
:func:`mutation_strategy`) and by the long campaign (``benchmarks/fuzz.py``, through
:func:`random_mutation` with a ``random.Random``). A mutation is a plain tuple, easy to print and
replay with :func:`apply_mutation`:

- ``("truncate", n)``: keep the first ``n`` bytes;
- ``("flip", (bit, ...))``: flip these bit positions (byte * 8 + bit);
- ``("int32", offset, value)``: overwrite 4 bytes at ``offset`` with ``value`` (little-endian);
- ``("bytes", offset, data)``: overwrite bytes at ``offset`` with ``data``;
- a ``("seq", (m1, m2, ...))`` applies several in order.

Byte-blind mutations rarely get past the flatbuffer checks, so most are aimed: :func:`model_map`
walks the (valid) original once and records where each field of interest lives (shape dims,
vector lengths, buffer/opcode/tensor indices, op inputs, builtin codes, tensor types, options and
quantization fields). The aimed kinds then write absurd, negative, overflowing or merely
inconsistent values there: dims whose product overflows, a constant's shape that disagrees with
its buffer, an op reading a tensor a later op produces (a cycle) or a constant where it expects
an activation, two ops swapped, unknown or unsupported builtin codes.

The oracle is :func:`outcome`: loading and, for accepted models, planning and the memory report
(what ``tinyc plan`` does) must end in a model or a one-line TinyCompilerError. :class:`Sandbox`
runs it in a forked child under an address-space cap and a per-example time limit, so a memory
blow-up or a hang is reported as such instead of taking the fuzzer down.
"""

from __future__ import annotations

import multiprocessing
import random
import resource
import struct
import time
import traceback
from dataclasses import dataclass, field
from functools import lru_cache

#: int32 values that break offsets, lengths, counts, indices and dimensions
ABSURD_INT32 = (
    0x7FFFFFFF, -1, -0x80000000, 0, 1, 2, 3, 4, 7, 8, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFF,
    0x3FFFFFFF, 0x40000000, 0x01000000, 0x01000001, -2, -4, -0x10000,
)
#: dims whose products overflow int32 (46341^2), uint32 (65536^2) or int64 (2^16 x 4 = 2^64)
OVERFLOW_DIMS = (46341, 65536, 65537, 0x01000000, 0x01000001, 0x7FFFFFFF, 0x40000000)
#: builtin codes: unknown to the schema, known but unsupported (EMBEDDING_LOOKUP, LSTM, WHILE,
#: CUSTOM), negative and huge
ODD_BUILTINS = (7, 16, 32, 119, 200, 255, 256, 9999, -1, -128, 0x7FFFFFFF)
#: float32 bit patterns for scales: NaN, +-inf, 0, -1, denormal, huge
ODD_FLOATS = (0x7FC00000, 0x7F800000, 0xFF800000, 0, 0xBF800000, 1, 0x7F7FFFFF)

_U16, _U32, _I32 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<i")


def apply_mutation(buf: bytes, m) -> bytes:
    """The bytes of ``buf`` after mutation ``m`` (see the module docstring)."""
    kind = m[0]
    if kind == "truncate":
        return bytes(buf[: m[1]])
    if kind == "seq":
        for sub in m[1]:
            buf = apply_mutation(buf, sub)
        return bytes(buf)
    out = bytearray(buf)
    if kind == "flip":
        for bit in m[1]:
            if 0 <= bit // 8 < len(out):
                out[bit // 8] ^= 1 << (bit % 8)
    elif kind == "int32":
        off, value = m[1], m[2]
        if 0 <= off <= len(out) - 4:
            out[off : off + 4] = struct.pack("<I", value & 0xFFFFFFFF)
    elif kind == "bytes":
        off, data = m[1], m[2]
        if 0 <= off < len(out):
            data = data[: len(out) - off]
            out[off : off + len(data)] = data
    else:
        raise ValueError(f"unknown mutation {m!r}")
    return bytes(out)


# --- where things are in a valid model ------------------------------------------------------------
@dataclass
class ModelMap:
    """Absolute byte positions of the fields of one valid ``.tflite`` (see :func:`model_map`)."""

    structural: tuple = ()  # 4-aligned offsets outside every buffer's data
    fields: list = field(default_factory=list)  # every present field of every table visited
    vector_lengths: list = field(default_factory=list)  # length words of every vector visited
    shapes: list = field(default_factory=list)  # per tensor: [(position, dim), ...]
    tensor_buffer: list = field(default_factory=list)  # (tensor, position of its buffer index)
    tensor_type: list = field(default_factory=list)  # position of each tensor's type byte
    op_inputs: list = field(default_factory=list)  # (op, position, tensor) per input slot
    op_outputs: list = field(default_factory=list)  # (op, position, tensor) per output slot
    op_slots: list = field(default_factory=list)  # position of each entry of the operators vector
    opcode_index: list = field(default_factory=list)  # position of each op's opcode_index
    builtin_int32: list = field(default_factory=list)  # operator code builtin_code (int32)
    builtin_byte: list = field(default_factory=list)  # operator code deprecated_builtin_code (int8)
    buffer_len: list = field(default_factory=list)  # (buffer, position of its data length, length)
    graph_io: list = field(default_factory=list)  # entries of subgraph inputs/outputs
    scales: list = field(default_factory=list)  # float32 scale entries
    zero_points: list = field(default_factory=list)  # int64 zero point entries
    options: list = field(default_factory=list)  # fields of builtin options tables
    producer: dict = field(default_factory=dict)  # tensor -> op index that writes it
    const: set = field(default_factory=set)  # tensors with data
    n_tensors: int = 0
    n_buffers: int = 0


class _Walk:
    def __init__(self, buf: bytes, m: ModelMap):
        self.buf, self.m = buf, m

    def table(self, pos: int) -> dict:
        """field id -> absolute position of every present field of the table at ``pos``."""
        vt = pos - _I32.unpack_from(self.buf, pos)[0]
        size = _U16.unpack_from(self.buf, vt)[0]
        out = {}
        for k in range((size - 4) // 2):
            o = _U16.unpack_from(self.buf, vt + 4 + 2 * k)[0]
            if o:
                out[k] = pos + o
                self.m.fields.append(pos + o)
        return out

    def deref(self, p: int) -> int:
        return p + _U32.unpack_from(self.buf, p)[0]

    def vector(self, f: dict, k: int, elem: int = 4) -> list:
        """Positions of the elements of vector field ``k`` (empty when absent)."""
        if k not in f:
            return []
        start = self.deref(f[k])
        n = _U32.unpack_from(self.buf, start)[0]
        self.m.vector_lengths.append(start)
        return [start + 4 + elem * i for i in range(n)]

    def i32(self, p: int) -> int:
        return _I32.unpack_from(self.buf, p)[0]


@lru_cache(maxsize=32)
def model_map(buf: bytes) -> ModelMap:
    """Walk a valid ``.tflite`` (trusted: the original, never a mutant) and map its fields."""
    m = ModelMap()
    w = _Walk(buf, m)
    model = w.table(_U32.unpack_from(buf, 0)[0])
    data_ranges = []
    buffers = w.vector(model, 4)
    m.n_buffers = len(buffers)
    for bi, slot in enumerate(buffers):
        b = w.table(w.deref(slot))
        data = w.vector(b, 0, 1)
        if data:
            data_ranges.append((data[0], data[0] + len(data)))
            m.buffer_len.append((bi, data[0] - 4, len(data)))
    for slot in w.vector(model, 1):
        oc = w.table(w.deref(slot))
        if 0 in oc:
            m.builtin_byte.append(oc[0])
        if 3 in oc:
            m.builtin_int32.append(oc[3])
    sg = w.table(w.deref(w.vector(model, 2)[0]))
    tensors = w.vector(sg, 0)
    m.n_tensors = len(tensors)
    for ti, slot in enumerate(tensors):
        t = w.table(w.deref(slot))
        m.shapes.append([(p, w.i32(p)) for p in w.vector(t, 0)])
        if 1 in t:
            m.tensor_type.append(t[1])
        if 2 in t:
            m.tensor_buffer.append((ti, t[2]))
            bi = _U32.unpack_from(buf, t[2])[0]
            if any(b == bi for b, _, _ in m.buffer_len):
                m.const.add(ti)
        if 4 in t:
            q = w.table(w.deref(t[4]))
            m.scales += w.vector(q, 2)
            m.zero_points += w.vector(q, 3, 8)
    m.graph_io = w.vector(sg, 1) + w.vector(sg, 2)
    m.op_slots = w.vector(sg, 3)
    for oi, slot in enumerate(m.op_slots):
        o = w.table(w.deref(slot))
        if 0 in o:
            m.opcode_index.append(o[0])
        m.op_inputs += [(oi, p, w.i32(p)) for p in w.vector(o, 1)]
        outs = [(oi, p, w.i32(p)) for p in w.vector(o, 2)]
        m.op_outputs += outs
        for _, _, t in outs:
            m.producer.setdefault(t, oi)
        if 4 in o:
            n0 = len(m.fields)
            w.table(w.deref(o[4]))
            m.options += m.fields[n0:]
    data_ranges.sort()
    offsets, r = [], 0
    for off in range(0, len(buf) - 3, 4):
        while r < len(data_ranges) and data_ranges[r][1] <= off:
            r += 1
        if r < len(data_ranges) and data_ranges[r][0] <= off + 3 and off < data_ranges[r][1]:
            continue
        offsets.append(off)
    m.structural = tuple(offsets)
    return m


def structural_offsets(buf: bytes) -> tuple:
    """4-aligned offsets of ``buf`` (a valid .tflite) that lie outside every buffer's data."""
    return model_map(buf).structural


# --- aimed mutations ----------------------------------------------------------------------------
def _cycle(m: ModelMap, rng: random.Random):
    """An op input redirected to a tensor that the same or a later op produces."""
    slots = [(op, p) for op, p, t in m.op_inputs if t >= 0 and t not in m.const]
    if not slots:
        return None
    op, p = rng.choice(slots)
    later = [t for t, o in m.producer.items() if o >= op]
    return ("int32", p, rng.choice(later)) if later else None


def _swap_ops(m: ModelMap, rng: random.Random):
    """Two entries of the operators vector swapped (uoffsets are relative: rebased)."""
    if len(m.op_slots) < 2:
        return None
    a, b = rng.sample(m.op_slots, 2)
    return ("swap", a, b)


def _mismatch(m: ModelMap, rng: random.Random, buf: bytes):
    """A constant tensor whose shape no longer matches its buffer, or a buffer index moved."""
    consts = [t for t in m.const if m.shapes[t]]
    if consts and rng.random() < 0.6:
        t = rng.choice(consts)
        p, d = rng.choice(m.shapes[t])
        return ("int32", p, d + rng.choice((1, -1, 2, d)))
    if m.tensor_buffer:
        _, p = rng.choice(m.tensor_buffer)
        return ("int32", p, rng.randrange(max(1, m.n_buffers)))
    return None


def _overflow(m: ModelMap, rng: random.Random):
    """Every dim of one tensor set so that the element count overflows."""
    shaped = [s for s in m.shapes if s]
    if not shaped:
        return None
    dims = rng.choice(shaped)
    v = rng.choice(OVERFLOW_DIMS)
    return ("seq", tuple(("int32", p, v) for p, _ in dims))


def _pick(rng, seq):
    return rng.choice(seq) if seq else None


def _aimed(kind: str, buf: bytes, rng: random.Random):
    m = model_map(buf)
    absurd = lambda: rng.choice(ABSURD_INT32) if rng.random() < 0.8 else rng.randint(-(1 << 31), (1 << 31) - 1)
    if kind == "dim":
        p = _pick(rng, [p for s in m.shapes for p, _ in s])
        return p is not None and ("int32", p, rng.choice((-1, -2, 0, 1 << 24, (1 << 24) + 1, *OVERFLOW_DIMS)))
    if kind == "length":
        p = _pick(rng, m.vector_lengths + [p for _, p, _ in m.buffer_len])
        return p is not None and ("int32", p, absurd())
    if kind == "index":
        slots = ([p for _, p in m.tensor_buffer] + [p for _, p, _ in m.op_inputs + m.op_outputs]
                 + m.graph_io + m.opcode_index)
        p = _pick(rng, slots)
        n = max(m.n_tensors, m.n_buffers)
        return p is not None and ("int32", p, rng.choice((-1, -2, n, n + 1, 0x7FFFFFFF, rng.randrange(n + 2))))
    if kind == "cycle":
        return _cycle(m, rng)
    if kind == "swap":
        return _swap_ops(m, rng)
    if kind == "const_input":  # an activation input replaced by a constant (weights, bias, ...)
        slots = [p for _, p, t in m.op_inputs if t >= 0 and t not in m.const]
        return bool(slots and m.const) and ("int32", rng.choice(slots), rng.choice(sorted(m.const)))
    if kind == "unknown_op":
        if m.builtin_int32 and rng.random() < 0.7:
            return ("int32", rng.choice(m.builtin_int32), rng.choice(ODD_BUILTINS))
        p = _pick(rng, m.builtin_byte)
        return p is not None and ("bytes", p, bytes([rng.choice(ODD_BUILTINS) & 0xFF]))
    if kind == "mismatch":
        return _mismatch(m, rng, buf)
    if kind == "overflow":
        return _overflow(m, rng)
    if kind == "type":
        p = _pick(rng, m.tensor_type)
        return p is not None and ("bytes", p, bytes([rng.choice((0, 1, 2, 3, 7, 9, 10, 16, 17, 30, 255))]))
    if kind == "quant":
        if m.scales and rng.random() < 0.6:
            return ("int32", rng.choice(m.scales), rng.choice(ODD_FLOATS))
        p = _pick(rng, m.zero_points)
        return p is not None and ("bytes", p, struct.pack("<q", rng.choice((-129, 128, 1 << 40, -(1 << 63)))))
    if kind == "option":
        p = _pick(rng, m.options)
        if p is None:
            return None
        return ("int32", p, absurd()) if rng.random() < 0.5 else ("bytes", p, bytes([rng.randrange(256)]))
    if kind == "field":
        p = _pick(rng, m.fields)
        if p is None:
            return None
        return ("int32", p, absurd()) if rng.random() < 0.6 else ("bytes", p, bytes([rng.randrange(256)]))
    raise ValueError(kind)


#: aimed kinds (each a function of the model map) and their weights in a random campaign
AIMED = {"dim": 3, "length": 2, "index": 3, "cycle": 2, "swap": 1, "const_input": 2, "unknown_op": 2, "mismatch": 3,
         "overflow": 2, "type": 1, "quant": 2, "option": 3, "field": 3}
BLIND = {"truncate": 1, "flip": 2, "int32": 2, "bytes": 1}


def _expand(buf: bytes, m):
    """Resolve the ``("swap", a, b)`` shorthand into int32 writes (relative offsets rebased)."""
    if m and m[0] == "swap":
        _, a, b = m
        ta, tb = a + _U32.unpack_from(buf, a)[0], b + _U32.unpack_from(buf, b)[0]
        return ("seq", (("int32", a, tb - a), ("int32", b, ta - b)))
    return m


def random_mutation(buf: bytes, rng: random.Random, max_depth: int = 2):
    """One random mutation of ``buf`` (mostly aimed at fields), for campaign scripts."""
    return labelled_mutation(buf, rng, max_depth)[1]


def labelled_mutation(buf: bytes, rng: random.Random, max_depth: int = 2) -> tuple:
    """``(kind, mutation)``: a random mutation and the name of the kind that made it."""
    kinds = {**AIMED, **BLIND, "seq": 3 if max_depth > 0 else 0}
    kind = rng.choices(list(kinds), weights=list(kinds.values()))[0]
    if kind == "seq":
        return kind, ("seq", tuple(random_mutation(buf, rng, max_depth - 1) for _ in range(rng.randint(2, 4))))
    if kind in AIMED:
        m = _expand(buf, _aimed(kind, buf, rng))
        if m:
            return kind, m
        kind = "int32"
    offs = structural_offsets(buf)
    if kind == "truncate":
        return kind, ("truncate", rng.randrange(len(buf)))
    if kind == "flip":
        bits = []
        for _ in range(rng.randint(1, 8)):
            base = rng.choice(offs) if rng.random() < 0.9 else rng.randrange(len(buf) - 3)
            bits.append((base + rng.randrange(4)) * 8 + rng.randrange(8))
        return kind, ("flip", tuple(bits))
    if kind == "int32":
        value = rng.choice(ABSURD_INT32) if rng.random() < 0.8 else rng.randint(-(1 << 31), (1 << 31) - 1)
        return kind, ("int32", rng.choice(offs), value)
    return kind, ("bytes", rng.choice(offs), bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))))


def mutation_strategy(buf: bytes):
    """A hypothesis strategy of mutations of ``buf`` (imported lazily: campaigns need not have it).

    Blind mutations shrink on their offsets and values; aimed ones are drawn from a seed (they
    print as the plain tuple they resolve to, which is what a replay needs)."""
    from hypothesis import strategies as st

    offs = structural_offsets(buf)
    n = len(buf)
    offset = st.one_of(st.sampled_from(offs), st.integers(0, n - 4))
    bit = st.builds(lambda o, b: o * 8 + b, offset | st.integers(0, n - 1), st.integers(0, 31))
    value = st.one_of(st.sampled_from(ABSURD_INT32), st.integers(-(1 << 31), (1 << 31) - 1))

    def aimed(kind):
        def make(seed):
            m = _expand(buf, _aimed(kind, buf, random.Random(seed)))
            return m or ("int32", offs[seed % len(offs)], -1)
        return st.integers(0, 1 << 32).map(make)

    single = st.one_of(
        st.builds(lambda k: ("truncate", k), st.integers(0, n - 1)),
        st.builds(lambda bs: ("flip", tuple(bs)), st.lists(bit, min_size=1, max_size=8)),
        st.builds(lambda o, v: ("int32", o, v), offset, value),
        st.builds(lambda o, d: ("bytes", o, d), offset, st.binary(min_size=1, max_size=16)),
        *[aimed(k) for k in AIMED],
    )
    return st.one_of(single, st.builds(lambda ms: ("seq", tuple(ms)), st.lists(single, min_size=2, max_size=4)))


# --- the oracle -----------------------------------------------------------------------------------
def outcome(data: bytes, plan: bool = True) -> tuple:
    """What the compiler makes of ``data``: ``("planned", summary)`` / ``("loaded", summary)`` for
    an accepted model, ``("error", message)`` for a one-line TinyCompilerError, ``("crash", text)``
    for anything else (another exception, or an error message that is empty or several lines)."""
    from tinycompiler.analysis import format_inspect
    from tinycompiler.errors import TinyCompilerError
    from tinycompiler.frontends.tflite import load_tflite

    try:
        graph = load_tflite(data)
        format_inspect(graph)
        if not plan:
            return ("loaded", f"{len(graph.ops)} ops")
        from tinycompiler.codegen import plan_for_codegen
        from tinycompiler.report import build_memory_report
        from tinycompiler.report.code_size import estimate_code_bytes
        from tinycompiler.report.memory_table import format_memory_table

        p = plan_for_codegen(graph)
        format_memory_table(build_memory_report(graph, p, code=estimate_code_bytes(graph, p)))
        return ("planned", f"{len(graph.ops)} ops, arena {p.arena_bytes} B")
    except TinyCompilerError as e:
        msg = str(e)
        if not msg or "\n" in msg:
            return ("crash", f"TinyCompilerError message is not one non-empty line: {msg!r}")
        return ("error", msg)
    except MemoryError:
        return ("crash", "MemoryError (the address-space cap was reached)\n" + traceback.format_exc())
    except RecursionError:
        return ("crash", "RecursionError\n" + traceback.format_exc())
    except Exception as e:  # noqa: BLE001 - anything else is exactly what the fuzzer looks for
        return ("crash", f"{type(e).__name__}: {e}\n" + traceback.format_exc())


def check_load(data: bytes, max_seconds: float = 2.0, plan: bool = False):
    """In-process oracle: ``("graph"|"error", detail)``; AssertionError on a crash or when
    loading (and planning) took longer than ``max_seconds``."""
    t0 = time.perf_counter()
    kind, detail = outcome(data, plan=plan)
    elapsed = time.perf_counter() - t0
    assert kind != "crash", detail
    assert elapsed < max_seconds, f"took {elapsed:.2f} s (limit {max_seconds} s)"
    return ("error" if kind == "error" else "graph", detail)


# --- a sandboxed worker ---------------------------------------------------------------------------
def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _serve(conn, bases: dict, mem_bytes: int, plan: bool) -> None:
    # the cap counts on top of what the fork inherited: a hostile model may use mem_bytes more
    limit = _vm_bytes() + mem_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        name, m = msg
        t0 = time.perf_counter()
        kind, detail = outcome(apply_mutation(bases[name], m), plan=plan)
        conn.send((kind, detail, time.perf_counter() - t0))


class Sandbox:
    """A forked child that runs :func:`outcome` on mutants of ``bases`` (name -> bytes).

    The child has ``mem_bytes`` of address space beyond what it inherited (``RLIMIT_AS``); the
    parent waits ``timeout`` seconds per example, then kills it and reports ``("hang", ...)``. A
    child that dies (signal, abort) is ``("died", ...)``. Either way the next call forks a fresh one.
    """

    def __init__(self, bases: dict, mem_bytes: int = 1 << 30, timeout: float = 5.0, plan: bool = True):
        self.bases, self.mem_bytes, self.timeout, self.plan = bases, mem_bytes, timeout, plan
        self.proc = self.conn = None
        self.starts = 0  # workers forked so far (more than one: a hang or a death restarted it)

    def _start(self) -> None:
        self.starts += 1
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, self.bases, self.mem_bytes, self.plan), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent

    def run(self, name: str, m) -> tuple:
        """``(kind, detail, seconds)`` of mutant ``m`` of base ``name``."""
        if self.proc is None or not self.proc.is_alive():
            self._start()
        t0 = time.perf_counter()
        try:
            self.conn.send((name, m))
            if self.conn.poll(self.timeout):
                return self.conn.recv()
            self._kill()
            return ("hang", f"no answer within {self.timeout:g} s", time.perf_counter() - t0)
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.proc.join(1)
            code = self.proc.exitcode
            self._kill()
            return ("died", f"worker exited with {code} (a negative code is a signal)", time.perf_counter() - t0)

    def _kill(self) -> None:
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join(5)
        if self.conn is not None:
            self.conn.close()
        self.proc = self.conn = None

    def close(self) -> None:
        if self.proc is not None and self.proc.is_alive():
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.proc.join(2)
        self._kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
