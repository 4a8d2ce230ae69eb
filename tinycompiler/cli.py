"""``tinyc``: the command line. It only wires the stages together; each command lives in
:mod:`tinycompiler.commands`, each stage in its own module.

Every user-facing failure is a :class:`TinyCompilerError`, printed as one line on stderr with exit
status 1. ``--json`` prints one JSON object as the last line of stdout and draws no progress lines.
"""

from __future__ import annotations

import argparse
import os
import sys

from tinycompiler.errors import TinyCompilerError


def build_parser() -> argparse.ArgumentParser:
    from tinycompiler.commands import add_all

    p = argparse.ArgumentParser(prog="tinyc", description="int8 TinyML compiler for Cortex-M, bit-exact with TFLite Micro")
    add_all(p.add_subparsers(dest="command", required=True))
    return p


def main(argv=None) -> int:
    """Entry point of the ``tinyc`` console script; returns the process exit status."""
    from tinycompiler import progress

    args = build_parser().parse_args(argv)
    progress.quiet(bool(getattr(args, "json", False)))  # --json: stdout and stderr stay machine-clean
    try:
        return args.func(args)
    except TinyCompilerError as e:
        print(f"tinyc: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tinyc: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug of ours: still one line, unless the user asks for the trace
        if os.environ.get("TINYC_DEBUG"):
            raise
        print(f"tinyc: internal error: {type(e).__name__}: {e} (set TINYC_DEBUG=1 for a traceback; please report it)",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
