"""How long `tinyc compile` takes per bundled model: load, plan, lower, render, write the bundle.

Prints a table and writes JSON (default benchmarks/results/compile_time.json). Wall-clock seconds
on this machine, best of --repeat runs, measured in one process after imports (what a user waits
for on a second compile is the same; the first one also pays ~0.5 s of Python imports, reported
separately).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "models"


def time_compile(path: Path, repeat: int) -> dict:
    from tinycompiler.codegen import generate
    from tinycompiler.frontends.tflite import load_tflite

    best = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            graph = load_tflite(path)
            bundle = generate(graph, Path(tmp) / "bundle")
            dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return {"model": path.stem, "seconds": round(best, 3), "arena_bytes": bundle.program.arena_bytes,
            "weight_bytes": bundle.program.weight_bytes, "calls": len(bundle.program.calls)}


def cli_seconds(path: Path) -> float:
    """End-to-end `tinyc compile` in a fresh process, imports included (seconds)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tinycompiler.cli", "compile", str(path), "--board", "host",
                        "-o", str(Path(tmp) / "b")], check=True, capture_output=True)
        return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "compile_time.json"))
    args = ap.parse_args(argv)
    from tinycompiler.progress import Bar

    rows = []
    paths = sorted(MODELS.glob("*.tflite"))
    with Bar(len(paths), "models timed") as bar:
        for k, path in enumerate(paths):
            bar.update(k, path.stem)
            row = time_compile(path, args.repeat)
            row["cli_seconds"] = round(cli_seconds(path), 3)
            rows.append(row)
        bar.update(len(paths))
    print(f"{'model':48} {'compile s':>9} {'tinyc s':>8} {'arena B':>9} {'weights B':>10} {'calls':>6}")
    for r in rows:
        print(f"{r['model']:48} {r['seconds']:9.3f} {r['cli_seconds']:8.3f} {r['arena_bytes']:9,} "
              f"{r['weight_bytes']:10,} {r['calls']:6}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
