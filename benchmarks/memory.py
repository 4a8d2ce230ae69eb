"""Peak SRAM per model: our layer-based plan, our --patch auto plan, and TFLM's arena.

Rows: every bundled model (examples/models) as its file has it, and again with ``--io int8``
when its file has a float boundary (QUANTIZE in, DEQUANTIZE out; the int8 tensors are handed over
instead); then the exported graphs of issue 16: a PyTorch MobileNetV2 at 224x224 (width 1.0,
random init, tests/torch_mobilenetv2.py) converted by ``tinyc convert`` (NHWC float32 in) and as
other exporters write it (NCHW float32 in, QUANTIZE, TRANSPOSE), float I/O and ``--io int8``
(``--no-torch`` skips them). For each: the arena the generated C declares (``plan_for_codegen``),
the same with ``patch="auto"``, and TFLM's smallest arena for the model file found by bisection
with the tflite-micro host interpreter (64-bit; its bookkeeping is a few KB larger than on a
32-bit MCU). The ratio columns are ours / TFLM host, both measured here. TFLM's Cortex-M4
figures quoted in the issue are printed next to it for reference (not measured).

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


def measure(name: str, graph, model_bytes: bytes, io: str, with_tflm: bool, tflm_cache: dict) -> dict:
    """One row: ``graph`` (after ``--io``) planned both ways, beside TFLM's arena for ``model_bytes``."""
    from tinycompiler.codegen import plan_for_codegen
    from tinycompiler.oracle.tflm import min_arena_bytes

    plan = plan_for_codegen(graph)
    patched, note = patch_peak(graph)
    key = hash(model_bytes)
    if with_tflm and key not in tflm_cache:
        tflm_cache[key] = min_arena_bytes(model_bytes)
    tflm = tflm_cache.get(key)
    m4 = TFLM_CORTEX_M4_BYTES.get(name) if io == "file" else None
    return {
        "model": name,
        "io": io,
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


def has_float_boundary(graph) -> bool:
    return any(graph.tensors[t].dtype == "float32" for t in list(graph.inputs) + list(graph.outputs))


def bundled_cases():
    """(name, graph, model file bytes, io) for every bundled model, and its --io int8 variant."""
    from tinycompiler.frontends import load_model
    from tinycompiler.passes import int8_io

    for p in sorted(MODELS.glob("*.tflite")):
        graph = load_model(p)
        yield p.stem, graph, p.read_bytes(), "file"
        if has_float_boundary(graph):
            yield p.stem, int8_io(graph), p.read_bytes(), "int8"


def exported_cases():
    """The PyTorch MobileNetV2-224 exported both ways, float I/O and --io int8 (needs torch)."""
    import numpy as np

    sys.path.insert(0, str(ROOT / "tests"))  # the model definition the tests build
    from torch_mobilenetv2 import mobilenetv2

    from tinycompiler.frontends.tflite import write_tflite
    from tinycompiler.frontends.torch import convert
    from tinycompiler.frontends.torch.exported_layout import with_nchw_input
    from tinycompiler.passes import int8_io

    calib = np.random.default_rng(0).uniform(-1, 1, (4, 3, 224, 224)).astype(np.float32)
    nhwc = convert(mobilenetv2(), calib, io="float", name="mobilenetv2_224_torch")
    for name, graph in (("mobilenetv2_224 (tinyc convert, NHWC)", nhwc),
                        ("mobilenetv2_224 (NCHW export)", with_nchw_input(nhwc))):
        data = write_tflite(graph)
        yield name, graph, data, "file"
        yield name, int8_io(graph), data, "int8"


def _cell(v, fmt="{:,}"):
    return "-" if v is None else fmt.format(v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "memory.json"), help="where to write")
    ap.add_argument("--no-tflm", action="store_true", help="skip the TFLM bisection (seconds per model)")
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch MobileNetV2-224 rows")
    args = ap.parse_args(argv)
    from tinycompiler.progress import Bar

    cases = list(bundled_cases())
    if not args.no_torch:
        try:
            cases += list(exported_cases())
        except ImportError as e:
            print(f"exported graphs skipped: {e} (pip install 'tinycompiler[torch]')", file=sys.stderr)
    rows, tflm_cache = [], {}
    with Bar(len(cases), "models measured") as bar:
        for k, (name, graph, data, io) in enumerate(cases):
            bar.update(k, name)
            rows.append(measure(name, graph, data, io, not args.no_tflm, tflm_cache))
        bar.update(len(cases))
    head = (f"{'model':40} {'I/O':>5} {'ours B':>10} {'patch B':>9} {'TFLM host B':>12} {'ours/host':>9} "
            f"{'patch/host':>10} {'TFLM M4 B*':>11}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:40} {r['io']:>5} {r['peak_bytes']:10,} {_cell(r['patch_auto_peak_bytes']):>9} "
              f"{_cell(r['tflm_host_arena_bytes']):>12} {_cell(r['ratio_vs_tflm_host'], '{:.3f}'):>9} "
              f"{_cell(r['patch_ratio_vs_tflm_host'], '{:.3f}'):>10} {_cell(r['tflm_cortex_m4_bytes_issue']):>11}")
    print("I/O: file = as the model file has it (a float input is quantized as it is written, so only its int8")
    print("     copy is in the arena); int8 = --io int8 (the boundary QUANTIZE/DEQUANTIZE dropped).")
    print("ours = plan_for_codegen arena (what the generated C declares); patch = the same with --patch auto;")
    print("ours/host = ours / TFLM host arena of the model file (tflite-micro 64-bit interpreter, smallest by")
    print("            bisection, measured here; TFLM's arena includes its interpreter bookkeeping).")
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
