"""The memory plan as a per-layer text table plus a summary: peak, flash, TFLM, board fit."""

from __future__ import annotations

from tinycompiler.report.board_fit import fit_lines

#: marks the row whose bytes alive set the peak
PEAK_MARK = "*"

TFLM_NOTE = "TFLM's 64-bit host interpreter, smallest arena by bisection; its bookkeeping is smaller on a 32-bit MCU"


def shape_text(shape) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


def buffers_text(buffers) -> str:
    """Compact ``name@offset+bytes`` list, by offset."""
    return " ".join(f"{u.name}@{u.offset}+{u.bytes}" for u in buffers)


def patch_text(patch) -> str:
    if patch is None:
        return "patch: off (layer-based plan)"
    stage = f"ops {patch.stage_ops[0]}-{patch.stage_ops[-1]}" if patch.stage_ops else "none"
    grid = "x".join(map(str, patch.grid)) if isinstance(patch.grid, list) else patch.grid
    option = f" (--patch {patch.option})" if patch.option else ""
    fused = "; its NCHW TRANSPOSE fused into the patch reads" if patch.details.get("fused_transpose") else ""
    text = f"patch: split after op {patch.split}, grid {grid}, stage {stage}, extra MACs {patch.extra_macs:,}{option}{fused}"
    search = patch.details.get("search")
    if search:
        front = ", ".join(f"{p['option']} {p['peak_bytes']:,} B @ +{p['extra_macs_pct']}%" for p in search["front"])
        text += (f"\npatch search: chose {search['chosen']}, {search['why']}; {search['planned']} of "
                 f"{search['candidates']} candidates planned in full; Pareto front (peak @ extra MACs): {front}")
    return text


def summary_lines(r) -> list:
    """The lines under the table: peak and its layer, flash, MACs, patch, TFLM, board."""
    peak = r.peak_row
    frag = r.arena_bytes - r.lower_bound_bytes
    out = [] if r.model_ops == len(r.layers) else [
        f"schedule: {len(r.layers)} ops after the codegen passes (the model file has {r.model_ops}; "
        "PADs folded into their convolutions)"]
    out += [
        f"peak SRAM (arena) {r.arena_bytes:,} B, set by op {peak.index} {peak.op} ({peak.alive_bytes:,} B alive); "
        f"lower bound {r.lower_bound_bytes:,} B, placement {r.algorithm}, {frag:,} B above the bound",
    ]
    code = f"~{r.code_bytes:,} B ({r.code_note})" if r.code_bytes is not None else f"unknown ({r.code_note})"
    out.append(f"flash: weights {r.weight_bytes:,} B + code {code}")
    extra = f" (+{r.patch.extra_macs:,} recomputed by patches)" if r.patch and r.patch.extra_macs else ""
    out.append(f"MACs {r.macs:,}{extra}")
    out.append(patch_text(r.patch))
    if r.tflm_arena_bytes:
        out.append(f"TFLM arena {r.tflm_arena_bytes:,} B ({TFLM_NOTE}); ours / TFLM = {r.tflm_ratio:.3f}")
    if r.fit is not None:
        out += fit_lines(r.fit, patch_on=r.patch is not None)
    return out


def format_memory_table(r) -> str:
    """The whole text report of a MemoryReport."""
    header = ("", "#", "op", "output", "MACs", "alive B", "buffers alive (name@offset+bytes)")
    rows = [
        (PEAK_MARK if row.is_peak else ("p" if row.in_patch_stage else ""), str(row.index), row.op,
         shape_text(row.output_shape), f"{row.macs:,}" if row.macs else "-", f"{row.alive_bytes:,}",
         buffers_text(row.buffers))
        for row in r.layers
    ]
    widths = [max(len(x[c]) for x in [header] + rows) for c in range(len(header))]
    right = {1, 4, 5}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    legend = f"{PEAK_MARK} = peak layer" + ("; p = patch stage" if r.patch else "")
    out = [f"memory plan: {r.model}  ({legend}; t<N> = tensor N, see --json for full names)", "",
           line(header), rule, *(line(x) for x in rows), rule]
    return "\n".join(out + summary_lines(r))
