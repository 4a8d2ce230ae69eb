"""The memory plan as one self-contained HTML page: summary, two inline SVG pictures, the table.

No scripts and no external files (styles inline), so the page can be mailed or attached to CI.
Python decides every number and coordinate (:mod:`tinycompiler.report.charts`); the templates
under ``templates/report/`` only render them, with HTML escaping on.
"""

from __future__ import annotations

import jinja2

from tinycompiler import __version__
from tinycompiler.report.board_fit import fit_lines
from tinycompiler.report.charts import alive_chart, front_chart, timeline_chart
from tinycompiler.report.memory_table import PEAK_MARK, TFLM_NOTE, buffers_text, patch_text, shape_text
from tinycompiler.resources import TEMPLATES


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,  # tensor names come from the model file
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _fmt(v: float) -> str:
    """SVG coordinate text: one decimal is plenty at screen resolution."""
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _cards(r) -> list:
    """(label, value, note, css class) summary tiles."""
    peak = r.peak_row
    cards = [
        ("peak SRAM (arena)", f"{r.arena_bytes:,} B", f"set by op {peak.index} {peak.op}", "peak"),
        ("flash: weights", f"{r.weight_bytes:,} B", "constant tensors, each counted once", ""),
        ("flash: code", f"~{r.code_bytes:,} B" if r.code_bytes is not None else "unknown", r.code_note, ""),
        ("MACs", f"{r.macs:,}", f"+{r.patch.extra_macs:,} recomputed by patches" if r.patch else "one inference", ""),
        ("placement", r.algorithm, f"lower bound {r.lower_bound_bytes:,} B", ""),
    ]
    if r.tflm_arena_bytes:
        cards.append(("TFLM arena", f"{r.tflm_arena_bytes:,} B", f"ours / TFLM = {r.tflm_ratio:.3f}; {TFLM_NOTE}", ""))
    if r.fit is not None:
        f = r.fit
        cards.append((f"board {f.board.id}", "fits" if f.fits else "does not fit",
                      f"SRAM {f.sram_needed:,} / {f.board.sram_bytes:,} B, flash {f.flash_needed:,} / "
                      f"{f.board.flash_bytes:,} B", "ok" if f.fits else "bad"))
    return cards


def _rows(r) -> list:
    return [
        {"mark": PEAK_MARK if x.is_peak else "", "index": x.index, "op": x.op, "shape": shape_text(x.output_shape),
         "macs": f"{x.macs:,}" if x.macs else "-", "alive": f"{x.alive_bytes:,}", "buffers": buffers_text(x.buffers),
         "cls": " ".join(c for c, on in (("peak", x.is_peak), ("patch", x.in_patch_stage)) if on)}
        for x in r.layers
    ]


def render_memory_html(r) -> str:
    """The HTML page of a MemoryReport."""
    env = _environment()
    env.filters["px"] = _fmt
    return env.get_template("report/memory.html.j2").render(
        r=r,
        version=__version__,
        cards=_cards(r),
        charts=[alive_chart(r), timeline_chart(r)],
        front=front_chart(r),
        search=(r.patch.details.get("search") if r.patch else None) or {},
        rows=_rows(r),
        patch=patch_text(r.patch),
        fit=fit_lines(r.fit, patch_on=r.patch is not None) if r.fit is not None else [],
    )
