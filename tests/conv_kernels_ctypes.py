"""ctypes bindings of the conv-family C kernels (runtime_c/include/tc_conv.h), for tests.

``call(lib, name, args, x)`` runs one kernel on input ``x`` given :class:`KernelArgs` from
:mod:`tinycompiler.codegen.weights_layout` and returns the int8 output (NHWC, or [batches, units]).
"""

from __future__ import annotations

import ctypes

import numpy as np

from c_harness import load_library, ptr

SOURCES = [
    "tc_conv2d_s8.c",
    "tc_conv2d_im2col_s8.c",
    "tc_conv2d_1x1_s8.c",
    "tc_conv2d_rgb_s8.c",
    "tc_conv2d_c1_packed_s8.c",
    "tc_conv2d_wrapper_s8.c",
    "tc_depthwise_conv2d_s8.c",
    "tc_depthwise_conv2d_3x3_s8.c",
    "tc_depthwise_conv2d_packed_s8.c",
    "tc_depthwise_conv2d_inplace_s8.c",
    "tc_depthwise_conv2d_inplace_packed_s8.c",
    "tc_depthwise_wrapper_s8.c",
    "tc_fully_connected_s8.c",
    "tc_conv2d_packed_s8.c",
    "tc_fully_connected_packed_s8.c",
]

I32 = ctypes.c_int32

try:
    from tinycompiler.plan.inplace import ring_pixels as ring_pixels_py
except ImportError:  # pragma: no cover
    ring_pixels_py = None


class Dims(ctypes.Structure):
    _fields_ = [("n", I32), ("h", I32), ("w", I32), ("c", I32)]


class Quant(ctypes.Structure):
    _fields_ = [("multiplier", ctypes.POINTER(I32)), ("shift", ctypes.POINTER(I32))]


class RqLean(ctypes.Structure):
    _fields_ = [("rows", ctypes.POINTER(I32)), ("multiplier", ctypes.POINTER(I32)),
                ("rshift", ctypes.POINTER(ctypes.c_uint8)), ("add", ctypes.POINTER(I32))]


def conv_rqs(args) -> list:
    """The tc_rq_lean descriptors of the packed CONV_2D kernels for ``args``: rows (requant_table) and
    lean (requant_lean), each with the array it points into; empty when there is no folded form."""
    from tinycompiler.codegen.weights_layout import requant_lean, requant_table

    rows, lean = requant_table(args), requant_lean(args)
    if rows is None:
        return []
    table, c, a = lean
    base = table.ctypes.data
    return [(RqLean(ptr(rows, I32), None, None, None), rows),
            (RqLean(None, ctypes.cast(base, ctypes.POINTER(I32)),
                    ctypes.cast(base + 4 * (c + a), ctypes.POINTER(ctypes.c_uint8)),
                    ctypes.cast(base + 4 * c, ctypes.POINTER(I32))), table)]


class Act(ctypes.Structure):
    _fields_ = [("min", I32), ("max", I32)]


class ConvParams(ctypes.Structure):
    _fields_ = [("stride_h", I32), ("stride_w", I32), ("dilation_h", I32), ("dilation_w", I32),
                ("pad_top", I32), ("pad_left", I32), ("input_offset", I32), ("output_offset", I32),
                ("act", Act)]


class DwParams(ctypes.Structure):
    _fields_ = [("stride_h", I32), ("stride_w", I32), ("dilation_h", I32), ("dilation_w", I32),
                ("pad_top", I32), ("pad_left", I32), ("depth_multiplier", I32), ("input_offset", I32),
                ("output_offset", I32), ("act", Act)]


class FcParams(ctypes.Structure):
    _fields_ = [("input_offset", I32), ("output_offset", I32), ("act", Act), ("per_channel", I32)]


CONV_KERNELS = ("tc_conv2d_s8", "tc_conv2d_im2col_s8", "tc_conv2d_1x1_s8", "tc_conv2d_rgb_s8",
                "tc_conv2d_wrapper_s8", "tc_conv2d_packed_s8", "tc_conv2d_packed_wide_s8", "tc_conv2d_c1_packed_s8")
DW_KERNELS = ("tc_depthwise_conv2d_s8", "tc_depthwise_conv2d_3x3_s8", "tc_depthwise_wrapper_s8",
              "tc_depthwise_conv2d_inplace_s8", "tc_depthwise_conv2d_packed_s8",
              "tc_depthwise_conv2d_inplace_packed_s8")
SCRATCH_QUERY = {
    "tc_conv2d_im2col_s8": "tc_conv2d_im2col_s8_scratch_bytes",
    "tc_conv2d_1x1_s8": "tc_conv2d_1x1_s8_scratch_bytes",
    "tc_conv2d_rgb_s8": "tc_conv2d_rgb_s8_scratch_bytes",
}


def library(extra_flags=()):
    return load_library(SOURCES, extra_flags)


def _struct(cls, params: dict):
    s = cls()
    for name, _ in cls._fields_:
        if name == "act":
            s.act = Act(params["act_min"], params["act_max"])
        else:
            setattr(s, name, int(params[name]))
    return s


def _i32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.int32))


def applies(lib, name, args) -> bool:
    """The fast path's own predicate (True for kernels without one)."""
    fn = {"tc_conv2d_1x1_s8": "tc_conv2d_1x1_s8_applies", "tc_conv2d_rgb_s8": "tc_conv2d_rgb_s8_applies",
          "tc_conv2d_c1_packed_s8": "tc_conv2d_c1_packed_s8_applies",
          "tc_depthwise_conv2d_3x3_s8": "tc_depthwise_conv2d_3x3_s8_applies",
          "tc_depthwise_conv2d_packed_s8": "tc_depthwise_conv2d_packed_s8_applies"}.get(name)
    if fn is None:
        return True
    cls = DwParams if args.kind == "DEPTHWISE_CONV_2D" else ConvParams
    p = _struct(cls, args.params)
    return bool(getattr(lib, fn)(ctypes.byref(p), ctypes.byref(Dims(*args.input_dims)),
                                 ctypes.byref(Dims(*args.filter_dims))))


def _quant_for(quant, rq):
    """The quant argument of a packed kernel: NULL beside a tc_rq table (what codegen passes: the
    kernel must not read it then), else the per-channel multiplier / shift."""
    return None if rq is not None else ctypes.byref(quant)


def call(lib, name, args, x, scratch_pad: int = 0, rq_mode: str = "both"):
    """Run kernel ``name``; returns ``(status, output)``. Buffers are sized exactly (for ASan).
    tc_conv2d_packed_s8 runs with and without its tc_rq table (``rq_mode`` "both": the two must agree,
    else status -100), or only ``"table"`` / only ``"none"``."""
    x = np.ascontiguousarray(x, dtype=np.int8)
    mult, shift = _i32(args.multiplier), _i32(args.shift)
    quant = Quant(ptr(mult, I32), ptr(shift, I32))
    w = np.ascontiguousarray(args.weights, dtype=np.int8)
    bias = None if args.bias is None else _i32(args.bias)
    bias_p = ptr(bias, I32) if bias is not None else None
    di, df, do = Dims(*args.input_dims), Dims(*args.filter_dims), Dims(*args.output_dims)
    out = np.zeros(args.output_dims, dtype=np.int8)
    f = getattr(lib, name)
    f.restype = ctypes.c_int
    keep = []
    if args.kind == "FULLY_CONNECTED":
        p = _struct(FcParams, args.params)
        b, _, _, depth = args.input_dims
        units = args.output_dims[3]
        if name == "tc_fully_connected_packed_s8":
            from tinycompiler.codegen.weights_layout import fc_packed_weights, folded_bias, requant_table

            wp, fb, rq = fc_packed_weights(args), folded_bias(args), requant_table(args)
            results = []
            for rq_p in [None] + ([ptr(rq, I32)] if rq is not None else []):
                o = np.zeros_like(out)
                st = f(ctypes.byref(p), _quant_for(quant, rq_p), rq_p, I32(b), I32(depth), I32(units), ptr(x),
                       ptr(wp), ptr(fb, I32), ptr(o))
                results.append((st, o))
            if any(r[0] != results[0][0] or not np.array_equal(r[1], results[0][1]) for r in results):
                return -100, results[-1][1]
            return results[0]
        st = f(ctypes.byref(p), ctypes.byref(quant), I32(b), I32(depth), I32(units), ptr(x), ptr(w), bias_p,
               ptr(out))
        return st, out
    if args.kind == "CONV_2D":
        p = _struct(ConvParams, args.params)
        if name in ("tc_conv2d_packed_s8", "tc_conv2d_packed_wide_s8"):
            from tinycompiler.codegen.weights_layout import conv_packed_weights, folded_bias

            wp, fb = conv_packed_weights(args), folded_bias(args)
            rqs = conv_rqs(args)  # rows and lean: both must give the bytes of the quant path
            nbytes = getattr(lib, name + "_scratch_bytes")(ctypes.byref(di), ctypes.byref(df))
            results = []
            modes = [None] + [ctypes.byref(r) for r, _ in rqs]
            modes = {"both": modes, "none": modes[:1], "table": modes[1:]}[rq_mode]
            for rq_p in modes:
                scratch = np.zeros(nbytes + scratch_pad, dtype=np.int8)
                o = np.zeros_like(out)
                st = f(ctypes.byref(p), _quant_for(quant, rq_p), rq_p, ctypes.byref(di), ptr(x), ctypes.byref(df),
                       ptr(wp), ptr(fb, I32), ctypes.byref(do), ptr(o), ptr(scratch))
                results.append((st, o))
            if any(r[0] != results[0][0] or not np.array_equal(r[1], results[0][1]) for r in results):
                return -100, results[-1][1]
            return results[0]
        if name == "tc_conv2d_c1_packed_s8":
            # with and without the folded requantization: both must give the same bytes
            from tinycompiler.codegen.weights_layout import conv_c1_packed_weights, folded_bias, requant_table

            w16, fb, rq = conv_c1_packed_weights(args), folded_bias(args), requant_table(args)
            results = []
            for rq_p in [None] + ([ptr(rq, I32)] if rq is not None else []):
                o = np.zeros_like(out)
                st = f(ctypes.byref(p), _quant_for(quant, rq_p), rq_p, ctypes.byref(di), ptr(x), ctypes.byref(df),
                       ptr(w16, ctypes.c_int16), ptr(fb, I32), ctypes.byref(do), ptr(o))
                results.append((st, o))
            if any(r[0] != results[0][0] or not np.array_equal(r[1], results[0][1]) for r in results):
                return -100, results[-1][1]
            return results[0]
        if name == "tc_conv2d_s8":
            st = f(ctypes.byref(p), ctypes.byref(quant), ctypes.byref(di), ptr(x), ctypes.byref(df), ptr(w),
                   bias_p, ctypes.byref(do), ptr(out))
            return st, out
        if name == "tc_conv2d_wrapper_s8":
            q = lib.tc_conv2d_s8_scratch_bytes
            nbytes = q(ctypes.byref(p), ctypes.byref(di), ctypes.byref(df), ctypes.byref(do))
        else:
            nbytes = getattr(lib, SCRATCH_QUERY[name])(ctypes.byref(di), ctypes.byref(df))
        scratch = np.zeros((nbytes + scratch_pad + 1) // 2, dtype=np.int16)
        keep.append(scratch)
        st = f(ctypes.byref(p), ctypes.byref(quant), ctypes.byref(di), ptr(x), ctypes.byref(df), ptr(w),
               bias_p, ctypes.byref(do), ptr(out), ptr(scratch, ctypes.c_int16))
        return st, out
    p = _struct(DwParams, args.params)
    if name == "tc_depthwise_conv2d_inplace_s8":
        buf = x.copy()
        nbytes = lib.tc_depthwise_inplace_scratch_bytes(ctypes.byref(do))
        scratch = np.zeros(nbytes + scratch_pad, dtype=np.int8)
        st = f(ctypes.byref(p), ctypes.byref(quant), ctypes.byref(di), ctypes.byref(df), ptr(w), bias_p,
               ctypes.byref(do), ptr(buf), ptr(scratch))
        if st == 0:
            out = buf.reshape(-1)[:out.size].reshape(out.shape).copy()
        return st, out
    if name == "tc_depthwise_conv2d_inplace_packed_s8":
        # every variant: four-channel ring (4R bytes) and one-channel ring (R bytes), with and without
        # the folded requantization; all must agree, and R must be what the planner computes
        from tinycompiler.codegen.weights_layout import depthwise_packed_weights, folded_bias, requant_table

        w16, fb, rq = depthwise_packed_weights(args), folded_bias(args), requant_table(args)
        ring = lib.tc_depthwise_inplace_ring_pixels(ctypes.byref(p), ctypes.byref(di), ctypes.byref(do))
        if ring_pixels_py is not None:
            win = {"sh": args.params["stride_h"], "sw": args.params["stride_w"], "top": args.params["pad_top"],
                   "left": args.params["pad_left"]}
            if ring_pixels_py(args.input_dims, args.output_dims, win) != ring:
                return -101, out
        results = []
        for nbytes in (4 * ring, ring):
            for rq_p in ([None] + ([ptr(rq, I32)] if rq is not None else [])):
                buf = x.copy()
                scratch = np.zeros(nbytes + scratch_pad, dtype=np.int8)
                st = f(ctypes.byref(p), _quant_for(quant, rq_p), rq_p, ctypes.byref(di), ctypes.byref(df),
                       ptr(w16, ctypes.c_int16), ptr(fb, I32), ctypes.byref(do), ptr(buf), ptr(scratch), I32(nbytes))
                got = buf.reshape(-1)[:out.size].reshape(out.shape).copy()
                results.append((st, got))
        st0, got0 = results[0]
        if any(st_ != st0 or not np.array_equal(g, got0) for st_, g in results):
            bad = [(st_, g) for st_, g in results if st_ != st0 or not np.array_equal(g, got0)][0]
            return -102, bad[1]
        return st0, got0
    if name == "tc_depthwise_conv2d_packed_s8":
        from tinycompiler.codegen.weights_layout import depthwise_packed_weights, folded_bias, requant_table

        w16, fb = depthwise_packed_weights(args), folded_bias(args)
        st = f(ctypes.byref(p), ctypes.byref(quant), None, ctypes.byref(di), ptr(x), ctypes.byref(df),
               ptr(w16, ctypes.c_int16), ptr(fb, I32), ctypes.byref(do), ptr(out))
        rq = requant_table(args)
        if rq is not None:  # the folded requantization must give the same bytes
            out2 = np.zeros_like(out)
            st2 = f(ctypes.byref(p), None, ptr(rq, I32), ctypes.byref(di), ptr(x),
                    ctypes.byref(df), ptr(w16, ctypes.c_int16), ptr(fb, I32), ctypes.byref(do), ptr(out2))
            if st2 != st or not np.array_equal(out, out2):
                return -100, out2
        return st, out
    st = f(ctypes.byref(p), ctypes.byref(quant), ctypes.byref(di), ptr(x), ctypes.byref(df), ptr(w), bias_p,
           ctypes.byref(do), ptr(out))
    return st, out


def call_packed_conv_overlapped(lib, args, x, lag: int, name: str = "tc_conv2d_packed_s8"):
    """tc_conv2d_packed_s8 with its output at ``input + lag`` bytes inside one buffer (the planner's
    lagged overlap, lag <= 0 or in-place at 0); returns ``(status, output)``."""
    from tinycompiler.codegen.weights_layout import conv_packed_weights, folded_bias

    x = np.ascontiguousarray(x, dtype=np.int8).reshape(-1)
    out_n = int(np.prod(args.output_dims))
    in_off = max(0, -lag)
    size = max(in_off + x.size, in_off + lag + out_n)
    buf = np.zeros(size, dtype=np.int8)
    buf[in_off:in_off + x.size] = x
    mult, shift = _i32(args.multiplier), _i32(args.shift)
    quant = Quant(ptr(mult, I32), ptr(shift, I32))
    wp, fb = conv_packed_weights(args), folded_bias(args)
    rqs = conv_rqs(args)
    rql = rqs[-1][0] if rqs else None  # the lean form (the rows are the same pointer walk)
    p = _struct(ConvParams, args.params)
    di, df, do = Dims(*args.input_dims), Dims(*args.filter_dims), Dims(*args.output_dims)
    scratch = np.zeros(getattr(lib, name + "_scratch_bytes")(ctypes.byref(di), ctypes.byref(df)), dtype=np.int8)
    base = buf.ctypes.data
    f = getattr(lib, name)
    f.restype = ctypes.c_int
    st = f(ctypes.byref(p), _quant_for(quant, rql), ctypes.byref(rql) if rql is not None else None, ctypes.byref(di),
           ctypes.c_void_p(base + in_off), ctypes.byref(df), ptr(wp), ptr(fb, I32), ctypes.byref(do),
           ctypes.c_void_p(base + in_off + lag), ptr(scratch))
    out = buf[in_off + lag:in_off + lag + out_n].copy().reshape(args.output_dims)
    return st, out


def call_c1_packed_overlapped(lib, args, x, lag: int, use_rq: bool = True):
    """tc_conv2d_c1_packed_s8 with its output at ``input + lag`` bytes inside one buffer (the planner's
    lagged overlap of a one-channel depthwise); returns ``(status, output)``."""
    from tinycompiler.codegen.weights_layout import conv_c1_packed_weights, folded_bias, requant_table

    x = np.ascontiguousarray(x, dtype=np.int8).reshape(-1)
    out_n = int(np.prod(args.output_dims))
    in_off = max(0, -lag)
    size = max(in_off + x.size, in_off + lag + out_n)
    buf = np.zeros(size, dtype=np.int8)
    buf[in_off:in_off + x.size] = x
    mult, shift = _i32(args.multiplier), _i32(args.shift)
    quant = Quant(ptr(mult, I32), ptr(shift, I32))
    w16, fb, rq = conv_c1_packed_weights(args), folded_bias(args), requant_table(args)
    p = _struct(ConvParams, args.params)
    di, df, do = Dims(*args.input_dims), Dims(*args.filter_dims), Dims(*args.output_dims)
    base = buf.ctypes.data
    f = lib.tc_conv2d_c1_packed_s8
    f.restype = ctypes.c_int
    rq = rq if use_rq else None
    st = f(ctypes.byref(p), _quant_for(quant, rq), ptr(rq, I32) if rq is not None else None, ctypes.byref(di),
           ctypes.c_void_p(base + in_off), ctypes.byref(df), ptr(w16, ctypes.c_int16), ptr(fb, I32),
           ctypes.byref(do), ctypes.c_void_p(base + in_off + lag))
    out = buf[in_off + lag:in_off + lag + out_n].copy().reshape(args.output_dims)
    return st, out
