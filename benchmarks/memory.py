"""Peak SRAM per bundled model: our layer-based plan, our --patch auto plan, and TFLM's arena.

For every bundled model (examples/models): the arena the generated C declares (``plan_for_codegen``),
the same with ``patch="auto"`` when the planner supports patch-based inference, and TFLM's
smallest arena found by bisection with the tflite-micro host interpreter (64-bit; its bookkeeping
is a few KB larger than on a 32-bit MCU). The ratio column is ours / TFLM host, both measured here.
TFLM's Cortex-M4 figures quoted in the issue are printed next to it for reference (not measured).

Prints a table and writes JSON (default benchmarks/results/memory.json). Bytes throughout.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "models"
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

#: TFLM's arena on a Cortex-M4 as quoted in the "Memory planner" issue (bytes; not measured here)
TFLM_CORTEX_M4_BYTES = {
    "mlperftiny_kws_dscnn_int8": 22_824,
    "mlperftiny_ic_resnet8_cifar10_int8": 55_000,
    "tflm_person_detect_mobilenetv1_96_int8": 82_316,
    "tflm_micro_speech_int8": 6_836,
    "tinyengine_mcunet_vww": 219_804,
    "keras_mobilenetv2_a0.35_64_int8": 127_956,  # "about" in the issue
}


def patch_peak(graph):
    """Arena with ``patch="auto"`` (bytes), or (None, why) while the planner cannot patch."""
    from tinycompiler.codegen import plan_for_codegen
    from tinycompiler.errors import TinyCompilerError

    if "patch" not in inspect.signature(plan_for_codegen).parameters:
        return None, "planner has no patch= yet"
    try:
        plan = plan_for_codegen(graph, patch="auto")
    except TinyCompilerError as e:
        return None, str(e)
    return plan.arena_bytes, "patched" if getattr(plan, "patch", None) is not None else "auto chose no patch"


def measure(path: Path, with_tflm: bool) -> dict:
    from tinycompiler.codegen import plan_for_codegen
    from tinycompiler.frontends import load_model
    from tinycompiler.oracle.tflm import min_arena_bytes

    graph = load_model(path)
    plan = plan_for_codegen(graph)
    patched, note = patch_peak(graph)
    tflm = min_arena_bytes(path) if with_tflm else None
    m4 = TFLM_CORTEX_M4_BYTES.get(path.stem)
    return {
        "model": path.stem,
        "peak_bytes": plan.arena_bytes,
        "lower_bound_bytes": plan.lower_bound_bytes,
        "algorithm": plan.algorithm,
        "patch_auto_peak_bytes": patched,
        "patch_note": note,
        "tflm_host_arena_bytes": tflm,
        "ratio_vs_tflm_host": round(plan.arena_bytes / tflm, 4) if tflm else None,
        "patch_ratio_vs_tflm_host": round(patched / tflm, 4) if tflm and patched else None,
        "tflm_cortex_m4_bytes_issue": m4,
        "ratio_vs_tflm_cortex_m4_issue": round(plan.arena_bytes / m4, 4) if m4 else None,
    }


def _cell(v, fmt="{:,}"):
    return "-" if v is None else fmt.format(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "memory.json"), help="where to write")
    ap.add_argument("--no-tflm", action="store_true", help="skip the TFLM bisection (seconds per model)")
    args = ap.parse_args(argv)
    paths = sorted(MODELS.glob("*.tflite"))
    if not paths:
        print(f"no models in {MODELS}", file=sys.stderr)
        return 1
    from tinycompiler.progress import Bar

    rows = []
    with Bar(len(paths), "models measured") as bar:
        for k, p in enumerate(paths):
            bar.update(k, p.stem)
            rows.append(measure(p, not args.no_tflm))
        bar.update(len(paths))
    head = f"{'model':40} {'ours B':>9} {'patch B':>9} {'TFLM host B':>12} {'ours/host':>9} {'TFLM M4 B*':>11}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:40} {r['peak_bytes']:9,} {_cell(r['patch_auto_peak_bytes']):>9} "
              f"{_cell(r['tflm_host_arena_bytes']):>12} {_cell(r['ratio_vs_tflm_host'], '{:.3f}'):>9} "
              f"{_cell(r['tflm_cortex_m4_bytes_issue']):>11}")
    print("ours = plan_for_codegen arena (what the generated C declares); patch = the same with --patch auto;")
    print("ours/host = ours / TFLM host arena (tflite-micro 64-bit interpreter, smallest by bisection, measured here;")
    print("            TFLM's arena includes its interpreter bookkeeping, ours has none at run time).")
    print("* TFLM M4 = TFLM's Cortex-M4 arena quoted in the issue, not measured; the ratio does not use it.")
    notes = {r["patch_note"] for r in rows if r["patch_auto_peak_bytes"] is None}
    if notes:
        print("patch column empty: " + "; ".join(sorted(notes)))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"models": rows, "ratio": "ours / TFLM host (64-bit) smallest arena"}, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
