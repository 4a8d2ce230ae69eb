"""``tinyc convert``: quantize a float PyTorch model (.pt2) to an int8 .tflite that TFLM runs."""

from __future__ import annotations

from tinycompiler.commands.common import add_model_args, emit_json, load


def add_parser(sub) -> None:
    s = sub.add_parser("convert", help="quantize a PyTorch .pt2 (torch.export.save) to an int8 .tflite")
    add_model_args(s)
    s.add_argument("-o", "--output", required=True, help="the .tflite file to write")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def run(args) -> int:
    from tinycompiler.frontends.tflite.writer import save_tflite

    graph = load(args)
    path = save_tflite(graph, args.output)
    size = path.stat().st_size
    weights = sum(t.nbytes for t in graph.tensors if t.is_const)
    inp, out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    print(f"wrote {path} ({size} B): {len(graph.ops)} ops, {weights} B of constants, input "
          f"{inp.dtype}{list(inp.shape)} (NHWC), output {out.dtype}{list(out.shape)}")
    if args.json:
        emit_json({"output": str(path), "bytes": size, "ops": len(graph.ops), "constant_bytes": weights,
                   "io": args.io or "int8", "calib_method": args.calib_method or "minmax",
                   "input": {"dtype": inp.dtype, "shape": list(inp.shape)},
                   "output_tensor": {"dtype": out.dtype, "shape": list(out.shape)}})
    return 0
