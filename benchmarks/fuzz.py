"""A long fuzzing campaign: mutated bundled models through the importer and the planner.

Every mutant (tests/fuzzing.py: truncation, bit flips, absurd dims/offsets/lengths/indices,
negative sizes, shape/buffer mismatches, unknown ops, cycles, swapped ops, overflowing shapes,
odd quantization and options) is loaded and, when accepted, planned with its memory report (what
``tinyc plan`` does), in forked worker processes with an address-space cap and a per-example
time limit. The only acceptable outcomes are a planned model or one TinyCompilerError line.

Prints inputs tried, accepted/rejected counts per mutation kind, distinct outcomes (error
messages with the numbers blanked), crashes and hangs (both must be 0). Each crashing or hanging
input is saved as ``benchmarks/results/fuzz/<model>-<n>.tflite`` with a ``.txt`` saying the
mutation and what happened; the summary goes to ``benchmarks/results/fuzz.json``.

    python benchmarks/fuzz.py                 # 10 minutes, 1 worker, over all bundled models
    python benchmarks/fuzz.py --minutes 1 --workers 2 --seed 7
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "models"
OUT = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the mutators live with the tests that also use them

from fuzzing import Sandbox, apply_mutation, labelled_mutation  # noqa: E402

_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")


def shape_of(kind: str, detail: str) -> str:
    """An outcome with its numbers and quoted names blanked, so that distinct outcomes count
    distinct checks rather than distinct values."""
    if kind == "planned":
        return "planned"
    text = re.sub(r"'[^']*'", "'…'", detail.splitlines()[0] if detail else "")
    return f"{kind}: {_NUMBER.sub('N', text)}"


class Campaign:
    def __init__(self, bases: dict, seed: int, timeout: float, mem_bytes: int, out_dir: Path):
        self.bases, self.seed, self.timeout, self.mem_bytes, self.out_dir = bases, seed, timeout, mem_bytes, out_dir
        self.lock = threading.Lock()
        self.tried = 0
        self.kinds = Counter()  # (mutation kind, outcome kind) -> count
        self.outcomes = Counter()  # shape_of(...) -> count
        self.bad = []  # (model, mutation, kind, detail, file)
        self.slowest = (0.0, None)

    def worker(self, index: int, deadline: float) -> None:
        rng = random.Random(f"{self.seed}-{index}")
        names = sorted(self.bases)
        with Sandbox(self.bases, mem_bytes=self.mem_bytes, timeout=self.timeout) as sb:
            while time.monotonic() < deadline:
                name = rng.choice(names)
                label, m = labelled_mutation(self.bases[name], rng)
                kind, detail, seconds = sb.run(name, m)
                with self.lock:
                    self.tried += 1
                    self.kinds[label, kind] += 1
                    self.outcomes[shape_of(kind, detail)] += 1
                    if seconds > self.slowest[0] and kind != "hang":
                        self.slowest = (seconds, f"{name} {m!r}"[:200])
                    if kind not in ("planned", "error"):
                        self.save(name, m, kind, detail)

    def save(self, name: str, m, kind: str, detail: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        stem = f"{name}-{len(self.bad):04d}"
        (self.out_dir / f"{stem}.tflite").write_bytes(apply_mutation(self.bases[name], m))
        (self.out_dir / f"{stem}.txt").write_text(f"model: {name}\nmutation: {m!r}\noutcome: {kind}\n\n{detail}\n")
        self.bad.append((name, m, kind, detail, stem))
        print(f"\n{kind.upper()}: {name} {m!r:.160}\n  {detail.splitlines()[0] if detail else ''}\n"
              f"  saved {self.out_dir / stem}.tflite", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=1, help="worker processes (the machine is shared: 1)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per example before it counts as a hang")
    ap.add_argument("--mem-mb", type=int, default=1024, help="address space per worker beyond what it inherits")
    ap.add_argument("--models", nargs="*", help="model stems (default: every bundled model)")
    ap.add_argument("--json", type=Path, default=OUT / "fuzz.json")
    args = ap.parse_args(argv)

    paths = sorted(MODELS.glob("*.tflite"))
    if args.models:
        paths = [p for p in paths if p.stem in args.models]
    if not paths:
        print(f"no models found in {MODELS}", file=sys.stderr)
        return 2
    bases = {p.stem: p.read_bytes() for p in paths}
    camp = Campaign(bases, args.seed, args.timeout, args.mem_mb << 20, OUT / "fuzz")
    start = time.monotonic()
    deadline = start + 60 * args.minutes
    threads = [threading.Thread(target=camp.worker, args=(i, deadline), daemon=True) for i in range(args.workers)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        with camp.lock:
            print(f"\r{time.monotonic() - start:6.0f} s: {camp.tried} inputs, {len(camp.outcomes)} distinct outcomes, "
                  f"{len(camp.bad)} crashes/hangs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    elapsed = time.monotonic() - start

    crashes = sum(1 for b in camp.bad if b[2] in ("crash", "died"))
    hangs = sum(1 for b in camp.bad if b[2] == "hang")
    planned = sum(n for (_, k), n in camp.kinds.items() if k == "planned")
    print(f"fuzzed {len(bases)} models for {elapsed / 60:.1f} min with {args.workers} worker(s), seed {args.seed}")
    print(f"inputs tried: {camp.tried} ({camp.tried / elapsed:.0f}/s); accepted and planned: {planned}; "
          f"rejected with one error line: {camp.tried - planned - len(camp.bad)}")
    print(f"distinct outcomes: {len(camp.outcomes)}; crashes: {crashes}; hangs: {hangs}")
    print(f"slowest example: {camp.slowest[0]:.2f} s ({camp.slowest[1]})")
    print(f"{'mutation kind':14} {'tried':>7} {'planned':>8} {'errors':>7} {'bad':>4}")
    labels = sorted({lab for lab, _ in camp.kinds})
    for lab in labels:
        row = {k: n for (l2, k), n in camp.kinds.items() if l2 == lab}
        bad = sum(n for k, n in row.items() if k not in ("planned", "error"))
        print(f"{lab:14} {sum(row.values()):7} {row.get('planned', 0):8} {row.get('error', 0):7} {bad:4}")
    summary = {"minutes": round(elapsed / 60, 2), "workers": args.workers, "seed": args.seed,
               "models": sorted(bases), "inputs": camp.tried, "planned": planned, "crashes": crashes, "hangs": hangs,
               "distinct_outcomes": len(camp.outcomes), "timeout_s": args.timeout, "mem_mb": args.mem_mb,
               "per_kind": {lab: {k: n for (l2, k), n in camp.kinds.items() if l2 == lab} for lab in labels},
               "saved": [b[4] for b in camp.bad]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.json}")
    return 1 if camp.bad else 0


if __name__ == "__main__":
    sys.exit(main())
