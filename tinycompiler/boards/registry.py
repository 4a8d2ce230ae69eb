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
CYCLE_COUNTERS = ("dwt", "qemu-icount-timer0", "qemu-icount-tim2", "qemu-icount-systimer", "systick")
_REQUIRED = ("id", "title", "core", "fpu", "dsp", "flash_bytes", "clock_hz", "console",
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
class RamRegion:
    """One SRAM region of a board: ``name`` (a C identifier, e.g. ``sram``, ``ccm``), start
    address, size in bytes, and whether DMA can reach it (CCM on an STM32F4 cannot: fine for the
    CPU's stack and arena, never for a peripheral's buffer). ``emulated`` False: the board's QEMU
    machine does not map this region (QEMU 7.2's netduinoplus2 has no CCM), so nothing is placed
    there while the board is an emulated one."""

    name: str
    origin: int
    bytes: int
    dma: bool = True
    emulated: bool = True


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
    #: the SRAM regions, the first holding .data and .bss; one region ``sram`` unless the board
    #: file lists ``[[ram]]`` tables (``sram_bytes`` is then their sum)
    ram_regions: tuple = ()
    #: where the vector table must sit when that is not the start of the code memory (the AN547
    #: boots from its ITCM, too small for the weights, which go to its code SRAM); None: flash_origin
    vectors_origin: int = None

    @property
    def regions(self) -> tuple:
        """The RAM regions (:class:`RamRegion`), main region first."""
        return self.ram_regions or (RamRegion("sram", self.sram_origin, self.sram_bytes),)

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
    if "sram_bytes" not in data and "ram" not in data:
        missing.append("sram_bytes (or [[ram]] regions)")
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
    regions = _regions(path, data)
    if regions:
        if "sram_bytes" in data and data["sram_bytes"] != sum(r.bytes for r in regions):
            _fail(path, "sram_bytes differs from the sum of the [[ram]] regions; drop it or fix it")
        data["sram_bytes"], data["sram_origin"] = sum(r.bytes for r in regions), regions[0].origin
    for key in ("sram_bytes", "flash_bytes", "clock_hz"):
        if not isinstance(data[key], int) or isinstance(data[key], bool) or data[key] <= 0:
            _fail(path, f"{key} must be a positive integer, not {data[key]!r}")
    for key in ("flash_origin", "sram_origin", "vectors_origin"):
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
                 flash_origin=data.get("flash_origin", 0x00000000), sram_origin=data.get("sram_origin", 0x20000000),
                 ram_regions=regions, vectors_origin=data.get("vectors_origin"))


def _regions(path: Path, data: dict) -> tuple:
    """The ``[[ram]]`` tables as RamRegions, checked: names are C identifiers, sizes positive,
    no two regions overlap."""
    tables = data.get("ram", [])
    if not isinstance(tables, list):
        _fail(path, "ram must be a list of [[ram]] tables (name, origin, bytes, dma)")
    regions = []
    for t in tables:
        name, origin, size = t.get("name"), t.get("origin"), t.get("bytes")
        if not (isinstance(name, str) and name.isidentifier() and name.islower()):
            _fail(path, f"[[ram]] name {name!r} must be a lower-case identifier (it names a linker section)")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (origin, size)) or origin < 0 or size <= 0:
            _fail(path, f"[[ram]] {name}: origin must be an address and bytes a positive integer")
        for flag in ("dma", "emulated"):
            if not isinstance(t.get(flag, True), bool):
                _fail(path, f"[[ram]] {name}: {flag} must be true or false")
        regions.append(RamRegion(name, origin, size, t.get("dma", True), t.get("emulated", True)))
    if regions and not regions[0].emulated:
        _fail(path, "the first [[ram]] region holds .data and .bss: it must be one the emulator maps")
    for i, a in enumerate(regions):
        for b in regions[:i]:
            if a.name == b.name:
                _fail(path, f"two [[ram]] regions are named {a.name!r}")
            if a.origin < b.origin + b.bytes and b.origin < a.origin + a.bytes:
                _fail(path, f"[[ram]] regions {b.name} and {a.name} overlap")
    return tuple(regions)


def board_ids() -> list:
    """Ids of every board file, sorted."""
    return sorted(p.stem for p in BOARDS.glob("*.toml"))


def load_board(board_id: str) -> Board:
    """The board ``board_id`` from ``boards/<id>.toml``, or from a board file of your own given by
    its path (``my_boards/f405_small.toml``: the same fields); an unknown id lists the known ones."""
    if str(board_id).endswith(".toml"):
        if not Path(board_id).is_file():
            raise TinyCompilerError(f"board file {board_id} does not exist")
        return _parse(Path(board_id))
    path = BOARDS / f"{board_id}.toml"
    if not path.is_file():
        raise TinyCompilerError(f"unknown board {board_id!r}; known boards: {', '.join(board_ids())} "
                                f"(see `tinyc boards`)")
    return _parse(path)


def all_boards() -> list:
    """Every board, emulated first, then by id."""
    return sorted((load_board(i) for i in board_ids()), key=lambda b: (not b.emulated, b.id))
