"""Geometry of the memory report's SVG pictures: every coordinate is decided here, in pixels.

A :class:`Chart` is a flat list of rectangles, lines and texts with CSS classes; the template
``templates/report/_chart.svg.j2`` only writes them out. Bytes grow upwards on both charts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from tinycompiler.report.memory_data import KINDS

KIND_LABELS = {"activation": "activation", "scratch": "kernel scratch", "io": "model input/output",
               "patch": "per-patch buffer"}
#: bottom-to-top order of the stacked bars
STACK = ("io", "activation", "patch", "scratch")
#: approximate width of one character of the 11 px label font (px), to decide whether a label fits
CHAR_PX = 6.4


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    cls: str
    title: Optional[str] = None


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    cls: str


@dataclass
class Text:
    x: float
    y: float
    text: str
    cls: str = "tick"
    anchor: str = "start"


@dataclass
class Chart:
    """One SVG picture (``width`` x ``height`` px); ``title`` is also its accessible name."""

    id: str
    width: int
    height: int
    title: str
    rects: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    texts: list = field(default_factory=list)


@dataclass
class _Frame:
    """The plot area inside the margins (px) and the byte scale of the y axis."""

    left: float
    top: float
    right: float
    bottom: float
    y_max: int

    def y(self, nbytes: float) -> float:
        return self.bottom - (self.bottom - self.top) * nbytes / self.y_max

    def h(self, nbytes: float) -> float:
        return (self.bottom - self.top) * nbytes / self.y_max


def byte_label(n: int) -> str:
    """Axis label: exact KiB for multiples of 1 KiB, else bytes."""
    return f"{n // 1024} KiB" if n and n % 1024 == 0 else f"{n} B"


def byte_ticks(top: int, max_ticks: int = 6) -> tuple:
    """(step, ticks) with a power-of-two step (bytes) so labels are exact KiB; ticks reach ``top``."""
    step = 4
    while top / step > max_ticks:
        step *= 2
    n = -(-max(top, 1) // step)
    return step, [i * step for i in range(n + 1)]


def _index_step(n: int, max_labels: int = 26) -> int:
    for s in (1, 2, 5, 10, 20, 50, 100):
        if n / s <= max_labels:
            return s
    return 200


def _frame(width, height, y_top, left=78, right=190, top=48, bottom=46) -> tuple:
    step, ticks = byte_ticks(y_top)
    f = _Frame(left, top, width - right, height - bottom, ticks[-1])
    return f, ticks


def _byte_axis(chart: Chart, f: _Frame, ticks) -> None:
    """Grid lines and byte labels at ``ticks``, and both axis lines."""
    for v in ticks:
        y = f.y(v)
        chart.lines.append(Line(f.left, y, f.right, y, "grid"))
        chart.texts.append(Text(f.left - 6, y + 4, byte_label(v), "tick", "end"))
    chart.lines.append(Line(f.left, f.bottom, f.right, f.bottom, "axis"))
    chart.lines.append(Line(f.left, f.top, f.left, f.bottom, "axis"))


def _axes(chart: Chart, f: _Frame, ticks, n_steps: int, slot: float, x_title: str, y_title: str) -> None:
    _byte_axis(chart, f, ticks)
    step = _index_step(n_steps)
    for i in range(0, n_steps, step):
        x = f.left + (i + 0.5) * slot
        chart.lines.append(Line(x, f.bottom, x, f.bottom + 4, "axis"))
        chart.texts.append(Text(x, f.bottom + 16, str(i), "tick", "middle"))
    chart.texts.append(Text((f.left + f.right) / 2, f.bottom + 36, x_title, "axis-title", "middle"))
    chart.texts.append(Text(8, f.top - 12, y_title, "axis-title", "start"))


def _hmarks(chart: Chart, f: _Frame, marks) -> None:
    """Dashed horizontal lines at (bytes, label, css class), labelled in the right margin.

    Labels closer than one line of text are pushed apart so none hides another.
    """
    placed = []
    for nbytes, label, cls in sorted(marks, key=lambda m: -m[0]):
        y = f.y(nbytes)
        chart.lines.append(Line(f.left, y, f.right, y, cls))
        ty = y + 4
        if placed and ty < placed[-1] + 13:
            ty = placed[-1] + 13
        placed.append(ty)
        chart.texts.append(Text(f.right + 6, ty, label, cls + "-label", "start"))


def _legend(chart: Chart, x: float, y: float, items) -> None:
    """Swatches left to right from (x, y); ``items`` are (css class, label)."""
    for cls, label in items:
        chart.rects.append(Rect(x, y - 9, 12, 12, cls))
        chart.texts.append(Text(x + 17, y + 1, label, "legend"))
        x += 17 + CHAR_PX * len(label) + 18


def _kinds_used(report) -> list:
    used = {u.kind for u in report.buffers}
    return [k for k in ("activation", "scratch", "io", "patch") if k in used or k != "patch"]


def _stage_span(report) -> Optional[tuple]:
    rows = [x.index for x in report.layers if x.in_patch_stage]
    return (min(rows), max(rows)) if rows else None


def _references(report) -> list:
    """Horizontal marks worth drawing: (bytes, label, css class); others too large are left out."""
    marks = [(report.arena_bytes, f"arena {report.arena_bytes:,} B", "mark-arena")]
    if report.tflm_arena_bytes:
        marks.append((report.tflm_arena_bytes, f"TFLM host arena {report.tflm_arena_bytes:,} B", "mark-tflm"))
    if report.fit is not None:
        b = report.fit.board
        marks.append((b.sram_bytes, f"{b.id} SRAM {b.sram_bytes:,} B", "mark-board"))
    # a board with 8x the arena would squash the bars to nothing: those marks stay in the text
    return [m for m in marks if m[0] <= 2.5 * max(report.arena_bytes, 1)]


def alive_chart(report, width: int = 1000, height: int = 330) -> Chart:
    """(a) Bytes alive at each layer, stacked by buffer kind; the peak and the patch stage marked."""
    n = len(report.layers)
    marks = _references(report)
    f, ticks = _frame(width, height, max([report.arena_bytes] + [m[0] for m in marks]))
    slot = (f.right - f.left) / max(n, 1)
    bar_w = max(1.0, slot * 0.78)
    chart = Chart("alive", width, height, f"Bytes alive at each layer of {report.model}")
    _axes(chart, f, ticks, n, slot, "layer (op index)", "bytes alive")
    span = _stage_span(report)
    if span:
        x0 = f.left + span[0] * slot
        chart.rects.insert(0, Rect(x0, f.top, (span[1] - span[0] + 1) * slot, f.bottom - f.top, "band-patch",
                                   f"patch stage: ops {span[0]}-{span[1]}, run patch by patch"))
        # named in the legend: a label in a narrow band would collide with the peak label
    for row in report.layers:
        x = f.left + row.index * slot + (slot - bar_w) / 2
        tip = (f"op {row.index} {row.op}: {row.alive_bytes:,} B alive"
               + (" (peak)" if row.is_peak else "") + "".join(f"\n{u.name} {u.bytes:,} B ({u.kind})" for u in row.buffers))
        by_kind = {k: sum(u.bytes for u in row.buffers if u.kind == k) for k in KINDS}
        if sum(by_kind.values()) == row.alive_bytes:
            y = f.bottom
            for k in STACK:
                if by_kind[k]:
                    h = f.h(by_kind[k])
                    y -= h
                    chart.rects.append(Rect(x, y, bar_w, h, f"seg-{k}", tip))
        else:  # the plan counts bytes its buffers do not show (e.g. patch buffers): one plain bar
            chart.rects.append(Rect(x, f.y(row.alive_bytes), bar_w, f.h(row.alive_bytes), "seg-activation", tip))
        if row.is_peak:
            top = f.y(row.alive_bytes)
            chart.rects.append(Rect(x - 1.5, top - 1.5, bar_w + 3, f.h(row.alive_bytes) + 3, "peak-outline"))
            left_half = row.index < n / 2
            chart.texts.append(Text(x + (bar_w + 6 if left_half else -6), top + 12,
                                    f"peak {row.alive_bytes:,} B at op {row.index} {row.op}",
                                    "peak-label", "start" if left_half else "end"))
    _hmarks(chart, f, marks)
    _legend(chart, f.left + 120, f.top - 30, [(f"seg-{k}", KIND_LABELS[k]) for k in _kinds_used(report)]
            + [("peak-swatch", "peak layer")] + ([("band-patch", "patch stage")] if span else []))
    return chart


def _buffer_tip(u, report) -> str:
    ops = report.layers
    first, last = ops[u.start].op if u.start < len(ops) else "?", ops[u.end].op if u.end < len(ops) else "?"
    tip = (f"{u.name}: {u.full_name}\n{u.bytes:,} B at offsets {u.offset:,}-{u.offset + u.bytes - 1:,}\n"
           f"alive ops {u.start}-{u.end} ({first} .. {last}); {KIND_LABELS[u.kind]}")
    if len(u.tensors) > 1:
        tip += "\nholds " + ", ".join(f"t{t} at {off:,}" for t, off in u.tensors)
    return tip


def timeline_chart(report, width: int = 1000, height: int = 440) -> Chart:
    """(b) The arena over time: each buffer a rectangle spanning its layers (x) and bytes (y)."""
    n = len(report.layers)
    f, ticks = _frame(width, height, report.arena_bytes)
    slot = (f.right - f.left) / max(n, 1)
    chart = Chart("timeline", width, height, f"Arena allocation timeline of {report.model}")
    _axes(chart, f, ticks, n, slot, "layer (op index)", "arena offset")
    peak = report.peak_layer
    span = _stage_span(report)
    if span:
        chart.rects.append(Rect(f.left + span[0] * slot, f.top, (span[1] - span[0] + 1) * slot, f.bottom - f.top,
                                "band-patch", f"patch stage: ops {span[0]}-{span[1]}"))
    for u in sorted(report.buffers, key=lambda u: (u.start, u.offset)):
        x, w = f.left + u.start * slot, (u.end - u.start + 1) * slot
        h = max(1.0, f.h(u.bytes))
        y = f.y(u.offset) - h
        chart.rects.append(Rect(x + 0.5, y, max(1.0, w - 1), h, f"buf-{u.kind}", _buffer_tip(u, report)))
        label = f"{u.name} {u.bytes:,} B"
        if w >= CHAR_PX * len(label) + 6 and h >= 14:
            chart.texts.append(Text(x + 4, y + 12, label, "buf-label"))
        elif w >= CHAR_PX * len(u.name) + 6 and h >= 14:
            chart.texts.append(Text(x + 4, y + 12, u.name, "buf-label"))
    # drawn over the buffers (the template makes it transparent to the mouse) so it stays visible
    chart.rects.append(Rect(f.left + peak * slot, f.top, slot, f.bottom - f.top, "band-peak"))
    _hmarks(chart, f, [(report.arena_bytes, f"arena {report.arena_bytes:,} B", "mark-arena")])
    # the peak is named in the legend: a label over the column would collide with the axis titles
    _legend(chart, f.left + 120, f.top - 30, [(f"buf-{k}", KIND_LABELS[k]) for k in _kinds_used(report)]
            + [("band-peak", f"peak layer: op {peak} {report.peak_row.op}")] + ([("band-patch", "patch stage")] if span else []))
    return chart


def front_chart(report, width: int = 1000, height: int = 330) -> Optional[Chart]:
    """(c) The ``--patch auto`` trade-off: planned peak (bytes) against recomputed MACs (% of the
    model's), one point per plan on the Pareto front, joined as a staircase; the chosen plan is
    ringed. None when the plan has no search record (layer plan, or an explicit grid)."""
    search = (report.patch.details.get("search") if report.patch else None) or {}
    front = search.get("front") or []
    if len(front) < 2:
        return None
    f, ticks = _frame(width, height, max(p["peak_bytes"] for p in front))
    x_max = max(max(p["extra_macs_pct"] for p in front), 0.1)
    pct_step = next(s for s in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000) if x_max / s <= 10)
    x_top = pct_step * -(-x_max // pct_step)
    chart = Chart("front", width, height, f"Patch search trade-off of {report.model}: peak SRAM vs recomputed MACs")
    _byte_axis(chart, f, ticks)

    def x_of(pct):
        return f.left + (f.right - f.left) * pct / x_top

    k = 0
    while k * pct_step <= x_top + 1e-9:
        x = x_of(k * pct_step)
        chart.lines.append(Line(x, f.bottom, x, f.bottom + 4, "axis"))
        chart.texts.append(Text(x, f.bottom + 16, f"{k * pct_step:g}%", "tick", "middle"))
        k += 1
    chart.texts.append(Text((f.left + f.right) / 2, f.bottom + 36, "extra MACs recomputed in overlapping patches "
                            "(% of the model's)", "axis-title", "middle"))
    chart.texts.append(Text(8, f.top - 12, "planned peak SRAM", "axis-title", "start"))
    pts = sorted(front, key=lambda p: p["extra_macs"])
    for a, b in zip(pts, pts[1:]):  # staircase: a peak holds until a costlier plan lowers it
        chart.lines.append(Line(x_of(a["extra_macs_pct"]), f.y(a["peak_bytes"]), x_of(b["extra_macs_pct"]),
                                f.y(a["peak_bytes"]), "front-step"))
        chart.lines.append(Line(x_of(b["extra_macs_pct"]), f.y(a["peak_bytes"]), x_of(b["extra_macs_pct"]),
                                f.y(b["peak_bytes"]), "front-step"))
    for p in pts:
        x, y = x_of(p["extra_macs_pct"]), f.y(p["peak_bytes"])
        chosen = p["option"] == search.get("chosen")
        tip = (f"--patch {p['option']}: peak {p['peak_bytes']:,} B, +{p['extra_macs']:,} MACs "
               f"({p['extra_macs_pct']}%)" + (" (chosen)" if chosen else ""))
        if chosen:
            chart.rects.append(Rect(x - 7, y - 7, 14, 14, "front-chosen", tip))
            chart.texts.append(Text(x - 10, y - 10, f"chosen {p['option']}: {p['peak_bytes']:,} B", "peak-label", "end"))
        chart.rects.append(Rect(x - 3.5, y - 3.5, 7, 7, "front-point", tip))
    _legend(chart, f.left + 120, f.top - 30, [("front-point", "plan on the Pareto front"), ("front-chosen", "chosen")])
    return chart
