"""Kernel speed on an emulated Cortex-M4 (QEMU mps2-an386): ours vs TFLM + CMSIS-NN, in exact instructions.

Each case is a single-layer int8 model (tests/builders.py graphs: random weights and quantization,
fixed seed) or a whole model from examples/models, run through the real pipeline: generate C ->
PlatformIO / arm-none-eabi-gcc -O2 (cortex-m4, hard float) -> QEMU with ``-icount shift=7`` and the
serial harness, which reports timer0 ticks per Invoke and per layer. Instructions are exact
(round(ticks * 40 / 128)); QEMU has no timing model, so these are instructions, not cycles.

Every run is checked bit-exact against the numpy reference interpreter (itself held bit-exact with
TFLM). The TFLM + CMSIS-NN column is the instructions of one whole Invoke() measured the same way
(TFLM 90b983c + CMSIS-NN 4ab83cc, cortex-m4+fp, gcc 12.2). Kernel flash is the sum of the ELF
symbol sizes (``arm-none-eabi-nm --size-sort``) of the conv-family kernels linked in; code flash is
the whole firmware's flash minus the model's constant arrays (``opN_*``); runtime code is the part of
it that the model library defines (kernels and the generated call sequence, no harness or libc).

    .venv/bin/python benchmarks/kernels.py [--only NAME ...] [--no-models] [--opt O2|Os]

prints a table and writes benchmarks/results/kernels.json (kernels_Os.json for ``--opt Os``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import builders  # noqa: E402

MODELS_DIR = ROOT / "examples" / "models"
RESULTS = ROOT / "benchmarks" / "results" / "kernels.json"
SEED = 1234
BOARD = "mps2-an386"
GOAL = 1.3
#: TFLM + CMSIS-NN's runtime code (flash without the model) for these models, as measured for the issue
TFLM_CODE_FLASH = "30-98 KB"

# symbols of the conv-family kernels (runtime_c) and of per-layer specialised kernels (tcs_*)
KERNEL_SYMBOL = re.compile(r"^(tc_conv|tc_depthwise|tc_fully_connected|tc_dw_|tc_fc_|tc_pw_|tcs_)")


def _layer_cases():
    b = builders
    return [
        ("conv1x1 48x48x16->32 relu", lambda: b.conv2d_graph(SEED, 48, 48, 16, 32, 1, 1, 1, 1, "SAME", "RELU"),
         4_666_521),
        ("conv3x3 24x24x16->32 same", lambda: b.conv2d_graph(SEED, 24, 24, 16, 32, 3, 3, 1, 1, "SAME"), 5_671_688),
        ("conv3x3 s2 96x96x3->16", lambda: b.conv2d_graph(SEED, 96, 96, 3, 16, 3, 3, 2, 1, "SAME"), 4_745_694),
        ("dw3x3 48x48x32 s1", lambda: b.depthwise_graph(SEED, 48, 48, 32, 1, 3, 3, 1, 1, "SAME"), 5_463_012),
        ("dw3x3 48x48x32 s2", lambda: b.depthwise_graph(SEED, 48, 48, 32, 1, 3, 3, 2, 1, "SAME"), 1_366_420),
        ("dw5x5 24x24x96", lambda: b.depthwise_graph(SEED, 24, 24, 96, 1, 5, 5, 1, 1, "SAME"), 12_847_793),
        ("dw7x7 24x24x96", lambda: b.depthwise_graph(SEED, 24, 24, 96, 1, 7, 7, 1, 1, "SAME"), None),
        ("fc 256->128", lambda: b.fully_connected_graph(SEED, 1, 256, 128), 69_290),
        # the speed issue's 1-D temporal network (W = 1, Kx1 depthwise up to 15, dilated, 128 -> 128
        # pointwise over 15-30 pixels, a tiny head); TFLM's count needs --baseline-work
        ("temporal 1-D 30x1x128", lambda: b.temporal_graph(SEED), None),
    ]


MODELS = [
    ("kws", "mlperftiny_kws_dscnn_int8.tflite", 7_697_899),
    ("resnet8", "mlperftiny_ic_resnet8_cifar10_int8.tflite", 29_861_677),
    ("person_detect", "tflm_person_detect_mobilenetv1_96_int8.tflite", 22_928_454),
    ("micro_speech", "tflm_micro_speech_int8.tflite", 1_495_333),
    ("mcunet_vww", "tinyengine_mcunet_vww.tflite", 48_626_114),
    ("mobilenetv2_0.35_64", "keras_mobilenetv2_a0.35_64_int8.tflite", 21_071_135),
    ("hello_world", "tflm_hello_world_int8.tflite", None),  # no TFLM count in the issue; flash only
]


def kernel_flash(elf) -> tuple:
    """(bytes, {symbol: bytes}) of the conv-family kernel symbols in ``elf``."""
    if not elf:
        return 0, {}
    out = subprocess.run(["arm-none-eabi-nm", "--size-sort", "-S", str(elf)], capture_output=True,
                         text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTrR" and KERNEL_SYMBOL.match(parts[3]):
            syms[parts[3]] = int(parts[1], 16)
    return sum(syms.values()), syms


CONSTANT_SYMBOL = re.compile(r"^op\d+_")


def code_flash(elf, flash_bytes: int) -> int:
    """Firmware flash without the model's constants (bytes): the ELF's flash minus the generated
    ``opN_*`` arrays (weights, biases, requantization tables). What is left is the runtime code: the
    kernels, the generated call sequence, the serial harness, start-up and the C library."""
    if not elf:
        return 0
    out = subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    consts = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTrRdD" and CONSTANT_SYMBOL.match(parts[3]):
            consts += int(parts[1], 16)
    return flash_bytes - consts


def runtime_flash(elf) -> int:
    """Flash of the model's runtime code (bytes): the ELF sizes of every function and table defined by
    the model library's objects (the runtime_c kernels and the generated model.c call sequence) except
    the model's constants (``opN_*``). This is the figure to hold against TFLM's interpreter + kernels:
    it leaves out the serial harness, start-up and the C library, which any application brings."""
    if not elf:
        return 0
    objs = sorted(Path(elf).parent.glob("lib*/model/*.o"))
    if not objs:
        return 0
    nm = ["arm-none-eabi-nm", "--defined-only"]
    names = set()
    for line in subprocess.run([*nm, *map(str, objs)], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTrRdD":
            names.add(parts[2].split(".")[0])  # GCC clones keep their base name: tc_x.isra.0
    total = 0
    for line in subprocess.run(["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tTrRdD" and parts[3].split(".")[0] in names \
                and not CONSTANT_SYMBOL.match(parts[3]):
            total += int(parts[1], 16)
    return total


def baseline_instructions(work, board_id: str, name: str, graph, model_file=None):
    """TFLM + CMSIS-NN's instructions for this case, built from source and counted in the same QEMU
    (benchmarks/tflm_baseline.py; ``work`` holds its prepared sources). None without ``work``."""
    if work is None:
        return None
    import tempfile

    import tflm_baseline
    from tinycompiler.boards import load_board
    from tinycompiler.frontends.tflite import write_tflite

    if model_file is None:
        d = Path(tempfile.mkdtemp(prefix="tc-baseline-case-"))
        model_file = d / (re.sub(r"[^A-Za-z0-9_.-]", "_", name) + ".tflite")
        model_file.write_bytes(write_tflite(graph))
    model_file = Path(model_file)
    return tflm_baseline.measure(Path(work), load_board(board_id), model_file,
                                 tflm_baseline.arena_for(model_file))["instructions"]


def measure(name, graph, inputs, ref_instr, opt="O2", board=None) -> dict:
    from tinycompiler.analysis import analyze
    from tinycompiler.reference import run as ref_run
    from tinycompiler.targets import get_target

    board = board or BOARD
    target = get_target(board, opt=opt)
    t0 = time.time()
    try:
        result = target.run(graph, inputs)
    finally:
        target.close()
    want = ref_run(graph, inputs)
    exact = all(np.array_equal(np.asarray(got).reshape(-1), np.asarray(want[t]).reshape(-1))
                for got, t in zip(result.outputs, graph.outputs))
    m = result.metrics
    macs = sum(layer.macs for layer in analyze(graph).layers)
    flash, syms = kernel_flash(m.get("elf"))
    instr = int(m["instructions"])
    code = code_flash(m.get("elf"), int(m["flash_bytes"]))
    weights = analyze(graph).weight_bytes
    row = {"case": name, "board": board, "macs": macs, "instructions": instr,
           "macs_per_instruction": macs / instr if instr else 0,
           "kernel_flash_bytes": flash, "kernel_symbols": syms, "flash_bytes": m["flash_bytes"],
           "code_flash_bytes": code,
           # the model's constants as the firmware holds them (packed weights, requantization rows)
           "constant_flash_bytes": int(m["flash_bytes"]) - code, "model_weight_bytes": weights,
           "constant_flash_ratio": round((int(m["flash_bytes"]) - code) / weights, 3) if weights else None,
           "runtime_flash_bytes": runtime_flash(m.get("elf")),
           "tflm_cmsis_nn_instructions": ref_instr,
           "speedup": (ref_instr / instr) if ref_instr else None, "bit_exact": bool(exact),
           "layers": m["layers"], "seconds": round(time.time() - t0, 1),
           "note": "QEMU -icount: instructions, not cycles"}
    return row


def print_table(rows, board=None):
    print(f"{'case':<28} {'MACs':>11} {'ours (instr)':>13} {'MAC/instr':>9} {'TFLM+CMSIS-NN':>14} "
          f"{'speed-up':>8} {'kernel flash':>12} {'runtime code':>12} {'code flash':>10} {'consts/weights':>14} "
          f"{'exact':>5}")
    for r in rows:
        ref = f"{r['tflm_cmsis_nn_instructions']:,}" if r["tflm_cmsis_nn_instructions"] else "-"
        sp = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
        print(f"{r['case']:<28} {r['macs']:>11,} {r['instructions']:>13,} {r['macs_per_instruction']:>9.3f} "
              f"{ref:>14} {sp:>8} {r['kernel_flash_bytes']:>12,} {r.get('runtime_flash_bytes', 0):>12,} "
              f"{r.get('code_flash_bytes', 0):>10,} "
              f"{(str(r['constant_flash_ratio']) + 'x') if r.get('constant_flash_ratio') else '-':>14} "
              f"{'yes' if r['bit_exact'] else 'NO':>5}")
    print(f"(QEMU -icount on {board or BOARD}: exact instructions per Invoke, not cycles; flash in bytes. kernel flash:\n"
          " the conv-family kernels; runtime code: every kernel + the generated call sequence, without the\n"
          " model's constants; code flash: the whole firmware without the model's constants, serial harness,\n"
          f" start-up and libc included. TFLM's runtime code was {TFLM_CODE_FLASH} on top of the model)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", help="substrings of case names to run")
    ap.add_argument("--no-models", action="store_true")
    ap.add_argument("--no-layers", action="store_true")
    ap.add_argument("--opt", default="O2", choices=("O2", "Os"))
    ap.add_argument("--layers", action="store_true", help="print per-layer counts of whole models")
    ap.add_argument("--board", default=BOARD, help="the emulated board (mps2-an386 M4, mps2-an500 M7, ...)")
    ap.add_argument("--baseline-work", help="measure TFLM + CMSIS-NN from source for every case on --board "
                                            "(the folder benchmarks/tflm_baseline.py --prepare made); without it "
                                            "the M4 column quotes the counts measured for the issue")
    args = ap.parse_args(argv)
    if args.board != BOARD and not args.baseline_work:
        ap.error("on a board other than mps2-an386 the TFLM + CMSIS-NN column needs --baseline-work")

    from tinycompiler.frontends import load_model
    from tinycompiler.tensor_io import random_inputs

    cases = []
    if not args.no_layers:
        for name, build, ref in _layer_cases():
            cases.append((name, build, ref, "layer"))
    if not args.no_models:
        for name, fname, ref in MODELS:
            cases.append((name, (lambda f=fname: load_model(str(MODELS_DIR / f))), ref, "model"))
    files = {name: MODELS_DIR / fname for name, fname, _ in MODELS}
    if args.only:
        cases = [c for c in cases if any(s in c[0] for s in args.only)]

    rows = []
    for name, build, ref, kind in cases:
        graph = build()
        inputs = builders.random_inputs(graph, np.random.default_rng(SEED)) if kind == "layer" \
            else random_inputs(graph, 0)
        if args.baseline_work:
            ref = baseline_instructions(args.baseline_work, args.board, name, graph, files.get(name))
        row = measure(name, graph, inputs, ref, args.opt, args.board)
        row["kind"] = kind
        row["baseline"] = "measured from source (benchmarks/tflm_baseline.py)" if args.baseline_work else \
            "quoted: measured for the issue on mps2-an386"
        rows.append(row)
        print(f"{name}: {row['instructions']:,} instructions, exact={row['bit_exact']} ({row['seconds']} s)",
              flush=True)
        if args.layers and kind == "model":
            for layer in row["layers"]:
                print(f"   {layer['layer']:>3} {layer['instructions']:>12,}  {layer['what']}")
    print()
    print_table(rows, args.board)
    # -Os runs and other boards go to their own files, so they never mix with the M4 -O2 rows
    stem = "kernels" + ("" if args.board == BOARD else f"_{args.board}") + ("" if args.opt == "O2" else f"_{args.opt}")
    results = RESULTS.with_name(stem + ".json")
    results.parent.mkdir(parents=True, exist_ok=True)
    old = {}
    if results.exists() and args.only:
        old = {r["case"]: r for r in json.loads(results.read_text()).get("rows", [])}
    for r in rows:
        old[r["case"]] = r
    results.write_text(json.dumps({"board": args.board, "opt": args.opt, "unit": "instructions",
                                   "tflm_code_flash": TFLM_CODE_FLASH,
                                   "goal_speedup": GOAL, "rows": list(old.values())}, indent=1))
    bad = [r["case"] for r in rows if not r["bit_exact"]]
    if bad:
        print("NOT BIT-EXACT:", ", ".join(bad))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
