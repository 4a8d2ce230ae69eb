"""The harness's per-model header (``tc_model_info.h``): dtypes, name and an identity of the model.

model.h says sizes and quantization but not element types or which model it is; the harness needs
both (to dequantize ``results`` and so that HELLO can prove to the host that the firmware holds
this very model). Rendered from ``boards/harness/tc_model_info.h.j2``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import jinja2

from tinycompiler import __version__
from tinycompiler.resources import BOARDS

HARNESS_DIR = BOARDS / "harness"

#: element type codes shared with the firmware (TC_DT_* in tc_model_info.h)
DTYPE_CODES = {"int8_t": 0, "uint8_t": 1, "int16_t": 2, "int32_t": 3, "float": 4}
CODE_NUMPY = {0: "int8", 1: "uint8", 2: "int16", 3: "int32", 4: "float32"}


def model_id(bundle) -> int:
    """First 32 bits of the SHA-256 over the bundle's files (names and bytes), as an int."""
    digest = hashlib.sha256()
    for path in sorted(Path(bundle.root).iterdir()):
        if path.is_file() and path.suffix in (".c", ".h"):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return int.from_bytes(digest.digest()[:4], "big")


def c_name(name: str) -> str:
    """The model name as a safe C string body (printable ASCII, no quotes or backslashes)."""
    return re.sub(r"[^A-Za-z0-9_.+-]", "_", name or "model")[:64]


def render_model_info(bundle) -> str:
    """The text of tc_model_info.h for ``bundle``."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HARNESS_DIR)), undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    program = bundle.program
    return env.get_template("tc_model_info.h.j2").render(
        version=__version__,
        name=c_name(program.name),
        model_id=f"{model_id(bundle):08x}",
        input_dtypes=[DTYPE_CODES[io.write_ctype] for io in program.inputs],
        output_dtypes=[DTYPE_CODES[io.ctype] for io in program.outputs],
    )


def write_model_info(bundle, out_dir) -> Path:
    """Write tc_model_info.h into ``out_dir`` (created); returns its path. Unchanged text keeps the mtime."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tc_model_info.h"
    text = render_model_info(bundle)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
