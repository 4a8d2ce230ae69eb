"""The board registry: one small TOML file per board in ``boards/<id>.toml``, loaded and checked.

A board is data, not code: adding one is adding a file. Everything below (project generation,
builds, QEMU, the harness port) reads only the :class:`Board` fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinycompiler.errors import TinyCompilerError
from tinycompiler.resources import BOARDS

try:  # Python >= 3.11
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: the board used when none is named
DEFAULT_BOARD = "mps2-an386"
#: ``platformio.platform`` values that name a project-local dev-platform in ``boards/platforms/``
LOCAL_PLATFORMS_DIR = BOARDS / "platforms"

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
FPUS = ("none", "fpv4-sp-d16", "fpv5-sp-d16", "fpv5-d16")
CYCLE_COUNTERS = ("dwt", "qemu-icount-timer0", "systick")
_REQUIRED = ("id", "title", "core", "fpu", "dsp", "sram_bytes", "flash_bytes", "clock_hz", "console",
             "cycle_counter", "port", "cflags", "platformio")


@dataclass(frozen=True)
class PlatformIOEnv:
    """Which PlatformIO platform/board/framework builds the board ('' framework = bare metal)."""

    platform: str
    board: str
    framework: str

    @property
    def local_platform_dir(self):
        """The project-local dev-platform directory, or None for a registry platform (ststm32...)."""
        path = LOCAL_PLATFORMS_DIR / self.platform
        return path if (path / "platform.json").is_file() else None


@dataclass(frozen=True)
class QemuSpec:
    """How QEMU emulates the board: machine name and timer0 ticks -> instructions under -icount;
    optionally a memory window the host can fill before boot (``preload_addr``, ``preload_bytes``:
    the port's ``tc_port_preload``, e.g. MPS2 PSRAM) so inputs need not cross the serial link."""

    machine: str
    instructions_per_tick: float
    preload_addr: int = None
    preload_bytes: int = 0


@dataclass(frozen=True)
class Board:
    """One board. Sizes in bytes, clock in Hz; ``qemu`` is None for real hardware. ``flash_origin``
    and ``sram_origin`` are where the code and RAM the firmware links into start."""

    id: str
    title: str
    core: str
    fpu: str
    dsp: bool
    sram_bytes: int
    flash_bytes: int
    clock_hz: int
    console: str
    cycle_counter: str
    port: str
    cflags: tuple
    platformio: PlatformIOEnv
    qemu: QemuSpec = None
    path: Path = None
    flash_origin: int = 0x00000000
    sram_origin: int = 0x20000000

    @property
    def emulated(self) -> bool:
        return self.qemu is not None

    @property
    def env_name(self) -> str:
        """The PlatformIO environment name in the generated platformio.ini."""
        return self.id.replace("-", "_")


def _fail(path: Path, what: str):
    raise TinyCompilerError(f"board file {path}: {what}")


def _parse(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        _fail(path, f"not valid TOML ({exc})")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        _fail(path, f"missing field(s) {', '.join(missing)}")
    if data["id"] != path.stem:
        _fail(path, f"id {data['id']!r} differs from the file name; rename one of them")
    if data["core"] not in CORES:
        _fail(path, f"core {data['core']!r} is not one of {', '.join(CORES)}")
    if data["fpu"] not in FPUS:
        _fail(path, f"fpu {data['fpu']!r} is not one of {', '.join(FPUS)}")
    if data["cycle_counter"] not in CYCLE_COUNTERS:
        _fail(path, f"cycle_counter {data['cycle_counter']!r} is not one of {', '.join(CYCLE_COUNTERS)}")
    for key in ("sram_bytes", "flash_bytes", "clock_hz"):
        if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] <= 0:
            _fail(path, f"{key} must be a positive integer, not {data[key]!r}")
    for key in ("flash_origin", "sram_origin"):
        if key in data and (not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] < 0):
            _fail(path, f"{key} must be an address (a non-negative integer), not {data[key]!r}")
    if not isinstance(data["dsp"], bool):
        _fail(path, "dsp must be true or false")
    if f"-mcpu={data['core']}" not in data["cflags"]:
        _fail(path, f"cflags must contain -mcpu={data['core']}")
    pio = data["platformio"]
    if not all(isinstance(pio.get(k), str) for k in ("platform", "board", "framework")):
        _fail(path, "[platformio] needs platform, board and framework strings ('' = no framework)")
    qemu = None
    if "qemu" in data:
        q = data["qemu"]
        if not isinstance(q.get("machine"), str) or not (q.get("instructions_per_tick", 0) > 0):
            _fail(path, "[qemu] needs machine and a positive instructions_per_tick")
        pre = (q.get("preload_addr"), q.get("preload_bytes", 0))
        if pre[0] is not None and not all(isinstance(v, int) and v > 0 for v in pre):
            _fail(path, "[qemu] preload_addr and preload_bytes must be positive integers (or both absent)")
        qemu = QemuSpec(q["machine"], float(q["instructions_per_tick"]), *pre)
    env = PlatformIOEnv(pio["platform"], pio["board"], pio["framework"])
    if qemu is not None and env.local_platform_dir is None:
        _fail(path, f"emulated board needs the local dev-platform boards/platforms/{env.platform}/platform.json")
    return Board(id=data["id"], title=data["title"], core=data["core"], fpu=data["fpu"], dsp=data["dsp"],
                 sram_bytes=data["sram_bytes"], flash_bytes=data["flash_bytes"], clock_hz=data["clock_hz"],
                 console=data["console"], cycle_counter=data["cycle_counter"], port=data["port"],
                 cflags=tuple(data["cflags"]), platformio=env, qemu=qemu, path=path,
                 flash_origin=data.get("flash_origin", 0x00000000), sram_origin=data.get("sram_origin", 0x20000000))


def board_ids() -> list:
    """Ids of every board file, sorted."""
    return sorted(p.stem for p in BOARDS.glob("*.toml"))


def load_board(board_id: str) -> Board:
    """The board ``board_id`` from ``boards/<id>.toml``; an unknown id lists the known ones."""
    path = BOARDS / f"{board_id}.toml"
    if not path.is_file():
        raise TinyCompilerError(f"unknown board {board_id!r}; known boards: {', '.join(board_ids())} "
                                f"(see `tinyc boards`)")
    return _parse(path)


def all_boards() -> list:
    """Every board, emulated first, then by id."""
    return sorted((load_board(i) for i in board_ids()), key=lambda b: (not b.emulated, b.id))
