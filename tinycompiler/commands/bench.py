"""``tinyc bench``: per-layer instruction (emulated) or cycle counts on a board, and MACs per count."""

from __future__ import annotations

from tinycompiler.commands.common import add_model_args, add_opt_arg, add_patch_arg, emit_json, load


def add_parser(sub) -> None:
    s = sub.add_parser("bench", help="per-layer instructions (emulated) or cycles on a board, MACs per instruction")
    add_model_args(s)
    add_patch_arg(s)
    add_opt_arg(s)
    s.add_argument("--board", default="mps2-an386")
    s.add_argument("--port", help="serial port URL of a running device")
    s.add_argument("--seed", type=int, default=0, help="seed of the random input")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args) -> int:
    from tinycompiler.analysis import analyze
    from tinycompiler.errors import TinyCompilerError
    from tinycompiler.report.device_ram import ram_line
    from tinycompiler.targets import get_target, is_board
    from tinycompiler.tensor_io import random_inputs

    if not is_board(args.board):
        raise TinyCompilerError(f"bench measures on a device board; {args.board!r} is not one (see `tinyc boards`)")
    graph = load(args)
    target = get_target(args.board, port=args.port, patch=args.patch, opt=args.opt)
    try:
        result = target.run(graph, random_inputs(graph, args.seed))
    finally:
        target.close()
    m = result.metrics
    unit = next(u for u in ("instructions", "cycles", "microseconds") if u in m)
    macs = {layer.index: layer.macs for layer in analyze(graph).layers}
    rows = []
    for layer in m["layers"]:
        n = layer[unit]
        mac = macs.get(layer["op_index"], 0)
        rows.append({**layer, "macs": mac, f"macs_per_{unit[:-1]}": (mac / n) if n and mac else None})
    total_macs = sum(macs.values())
    per = f"MACs/{unit[:-1]}"
    print(f"{graph.name} on {args.board}: {unit}" +
          (" (QEMU -icount: instructions, not cycles)" if unit == "instructions" else ""))
    print(f"{'layer':>5}  {'op':>4}  {'kernel':<16} {unit:>14} {'share':>6} {'MACs':>12} {per:>17}")
    for r in rows:
        ratio = f"{r[f'macs_per_{unit[:-1]}']:.3f}" if r[f"macs_per_{unit[:-1]}"] else "-"
        share = 100 * r[unit] / m[unit] if m[unit] else 0
        print(f"{r['layer']:>5}  {r['op_index']:>4}  {r['kernel']:<16} {r[unit]:>14,.0f} {share:>5.1f}% "
              f"{r['macs']:>12,} {ratio:>17}")
    total_ratio = total_macs / m[unit] if m[unit] else 0
    print(f"{'total':>5}  {'':>4}  {'':<16} {m[unit]:>14,.0f} {100.0:>5.1f}% {total_macs:>12,} {total_ratio:>17.3f}")
    print(f"flash {m['flash_bytes']:,} B; per-layer counts include the timing hook's few {unit} per layer")
    print(ram_line(m["ram"]))
    if args.json:
        emit_json({"board": args.board, "model": str(args.model), "unit": unit, "total": m[unit],
                   "macs": total_macs, f"macs_per_{unit[:-1]}": total_ratio, "layers": rows,
                   "arena_bytes": m["arena_bytes"], "flash_bytes": m["flash_bytes"], "ram_bytes": m["ram_bytes"],
                   "ram": m["ram"], "elf": m["elf"]})
    return 0
