"""``tinyc flash``: build the harness firmware for a model and put it on a board.

Real board: PlatformIO upload. Emulated board: boot it in QEMU and check that the harness answers;
with ``--serial-port P`` it keeps running with its UART on ``socket://127.0.0.1:P`` (for
``tinyc run/verify/eval --port``) until interrupted.
"""

from __future__ import annotations

from tinycompiler.commands.common import add_model_args, add_opt_arg, add_patch_arg, emit_json, load


def add_parser(sub) -> None:
    s = sub.add_parser("flash", help="build the firmware (model + serial harness) and upload it, or boot it in QEMU")
    add_model_args(s)
    s.add_argument("--board", required=True)
    s.add_argument("--serial-port", type=int, metavar="P",
                   help="emulated board: keep it running with its UART on socket://127.0.0.1:P until Ctrl-C")
    s.add_argument("--upload-port", help="real board: the port PlatformIO uploads through (default: auto)")
    s.add_argument("--debug", action="store_true", help="check the arena guard bytes after every inference")
    add_patch_arg(s)
    add_opt_arg(s)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=run)


def _serve(board, elf, port: int) -> None:
    """Run QEMU with its UART as a TCP server on ``port`` until interrupted."""
    import subprocess

    from tinycompiler.boards.qemu import command
    from tinycompiler.errors import TinyCompilerError

    # nodelay: without it every reply waits ~40 ms for the client's delayed ACK (Nagle)
    proc = subprocess.Popen(command(board, elf, f"tcp:127.0.0.1:{port},server=on,wait=off,nodelay=on"),
                            stdin=subprocess.DEVNULL)
    print(f"{board.id} running in QEMU; its UART is socket://127.0.0.1:{port} (Ctrl-C stops it)", flush=True)
    try:
        rc = proc.wait()
        raise TinyCompilerError(f"QEMU exited with status {rc} (is port {port} free?)")
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait()


def run(args) -> int:
    from tinycompiler.boards import load_board
    from tinycompiler.harness.firmware import build_firmware

    board = load_board(args.board)
    graph = load(args)
    fw = build_firmware(graph, board, debug=args.debug, patch=args.patch, opt=args.opt)  # refuses a model too big first
    summary = {"board": board.id, "model": str(args.model), "project": str(fw.project),
               "elf": str(fw.elf) if fw.elf else None, "flash_bytes": fw.flash_bytes, "ram_bytes": fw.ram_bytes,
               "arena_bytes": fw.bundle.program.arena_bytes, "model_id": f"{fw.model_id:08x}"}
    if not board.emulated:
        from tinycompiler.boards.realboard import upload

        upload(fw.project, board, upload_port=args.upload_port)
        print(f"uploaded {graph.name} to {board.id} (project {fw.project})")
    else:
        from tinycompiler.boards.qemu import start
        from tinycompiler.harness.client import DeviceClient

        print(f"built {fw.elf}: flash {fw.flash_bytes:,} B, static RAM {fw.ram_bytes:,} B "
              f"(arena {fw.bundle.program.arena_bytes:,} B)")
        with start(board, fw.elf, serial="pty") as session, DeviceClient(session.url) as client:
            info = client.hello()
        print(f"{board.id} (QEMU {board.qemu.machine}) booted it: the harness serves {info.name} "
              f"(id {info.model_id:08x}), {info.num_layers} layers")
    if args.json:
        emit_json(summary)
    if board.emulated and args.serial_port:
        _serve(board, fw.elf, args.serial_port)
    return 0
