"""Boards from ``boards/*.toml`` as targets: the model runs on the device through the serial harness.

``BoardTarget.run`` builds the harness firmware for the graph (cached by content), boots it in
QEMU for an emulated board (or talks to ``port``, e.g. a real board or ``tinyc flash
--serial-port``), uploads the input, and returns the outputs decoded with the model's dtypes and
shapes plus what the device measured. The session stays open across calls with the same graph,
so verifying or evaluating many samples boots once.

Emulated boards count instructions (QEMU -icount has no timing model): metrics say
``instructions``, never cycles. Boards with a cycle counter (DWT) report ``cycles``.
"""

from __future__ import annotations

import atexit

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.targets.base import RunResult
from tinycompiler.verify import DEVICE_FLOAT_ULPS

#: whole inferences tried over fresh connections when the link fails beyond the protocol's retries
LINK_ATTEMPTS = 3
_NP = {"int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "int32_t": np.int32, "float": np.float32}


def _le_bytes(arrays) -> bytes:
    return b"".join(np.ascontiguousarray(x).astype(x.dtype.newbyteorder("<")).tobytes() for x in arrays)


def _input_bytes(graph, inputs) -> bytes:
    """Every input's bytes, little-endian, back to back: what the host sends."""
    from tinycompiler.tensor_io import check_inputs

    return _le_bytes(check_inputs(graph, inputs))


def _stored_bytes(graph, inputs) -> bytes:
    """What the device's input tensors then hold: float inputs quantized as they are written."""
    from tinycompiler.passes.boundary_io import stored_inputs
    from tinycompiler.tensor_io import check_inputs

    return _le_bytes(stored_inputs(graph, check_inputs(graph, inputs)))


class BoardTarget:
    layerwise = False  # outputs only: the device does not expose intermediate tensors
    #: a float tail's outputs may differ from TFLM's by this many ulps (the device's libm)
    float_ulps = DEVICE_FLOAT_ULPS

    def __init__(self, board_id: str, port: str = None, debug: bool = False, patch="off", opt="O2"):
        from tinycompiler.boards import load_board

        self.board = load_board(board_id)
        self.name = board_id
        self.title = self.board.title
        self.port = port
        self.debug = debug
        self.patch = patch  # patch-based first stage: off | auto | NxMxK (tinycompiler/plan/patch.py)
        self.opt = opt  # compiler optimization of the firmware: O2 (speed) or Os (size)
        self._graph = None
        self._firmware = None
        self._qemu = None
        self.client = None
        self.collect_layers = True  # read per-layer counts after each inference
        self._preloaded = {}  # input bytes -> index in the QEMU preload blob (see preload())
        self.timeout = 3.0  # seconds to wait for a reply before resending (not the inference itself)
        atexit.register(self.close)

    # -- the session -------------------------------------------------------------------------------

    def firmware(self, graph):
        """The built firmware for ``graph`` (built once per graph)."""
        from tinycompiler.harness.firmware import build_firmware

        if self._graph is not graph or self._firmware is None:
            self.close()
            self._firmware = build_firmware(graph, self.board, debug=self.debug, patch=self.patch, opt=self.opt)
            self._graph = graph
        return self._firmware

    def spawn(self) -> "BoardTarget":
        """Another session of this target (its own QEMU and link) with the same firmware, built
        once: for running samples in parallel (tinycompiler.targets.parallel)."""
        twin = BoardTarget(self.name, port=self.port, debug=self.debug, patch=self.patch, opt=self.opt)
        twin.collect_layers, twin.timeout = self.collect_layers, self.timeout
        twin._graph, twin._firmware = self._graph, self._firmware
        return twin

    def preload(self, graph, samples: list) -> int:
        """Place ``samples`` (input lists) in the emulated board's preload memory when QEMU boots,
        so that running them sends no input over the serial link: INFER names the sample and
        the device still checks its CRC-32 against the host's bytes. Only for an emulated board
        that QEMU starts here (no ``port``) and whose board file has a preload window; samples
        that do not fit go over the link as usual. Returns how many are preloaded."""
        from tinycompiler.boards.qemu import preload_capacity

        if self.port is not None or not self.board.emulated:
            return 0
        room = preload_capacity(self.board)
        table = {}
        for inputs in samples:
            data = _input_bytes(graph, inputs)
            if (len(table) + 1) * len(data) > room:
                break
            table.setdefault(data, len(table))
        self.close()  # the blob is loaded at boot
        self._preloaded = table
        return len(table)

    def connect(self, graph):
        """Open (or reuse) a session with the firmware of ``graph`` running; returns the DeviceClient."""
        from tinycompiler.harness.client import DeviceClient

        fw = self.firmware(graph)
        if self.client is not None:
            return self.client
        if self.port is None and self.board.emulated:
            from tinycompiler.boards.qemu import start

            # a pty, not TCP: QEMU's socket sends each UART byte as its own segment and Nagle's
            # algorithm then holds replies ~40 ms behind the host's delayed ACK
            blob = b"".join(self._preloaded)  # dicts keep insertion order: index k at k * input bytes
            self._qemu = start(self.board, fw.elf, serial="pty", preload=blob or None)
            url = self._qemu.url
        else:
            url = self.port
            if url is None:
                from tinycompiler.harness.link import detect_port

                url = detect_port()
        client = DeviceClient(url, timeout=self.timeout)
        try:
            info = client.hello()
            if info.model_id != fw.model_id and not self.board.emulated and self.port is None:
                self._upload(fw, url)
                client.close()
                client = DeviceClient(url, timeout=self.timeout)
                info = client.hello()
        except Exception:
            client.close()
            self.close()
            raise
        if info.model_id != fw.model_id:
            client.close()
            self.close()
            raise TinyCompilerError(
                f"the device at {url} runs model {info.name!r} (id {info.model_id:08x}), not this build of "
                f"{graph.name!r} (id {fw.model_id:08x}): flash it with `tinyc flash MODEL --board {self.board.id}`")
        if info.arena_bytes != fw.bundle.program.arena_bytes:
            self.close()
            raise TinyCompilerError("the device reports a different arena size than the bundle: rebuild and flash")
        self.client = client
        return client

    def _upload(self, fw, url):
        from tinycompiler.boards.realboard import upload

        upload(fw.project, self.board, upload_port=url if "://" not in url else None)

    def close(self) -> None:
        """End the session (closes the port, stops QEMU)."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._qemu is not None:
            self._qemu.stop()
            self._qemu = None

    # -- measuring ---------------------------------------------------------------------------------

    def counts(self, ticks: int) -> tuple:
        """(metric name, value) of a tick count: instructions (emulated), cycles (DWT), or
        microseconds of a plain timer on a real board."""
        info = self.client.info
        if self.board.emulated:
            from tinycompiler.boards.qemu import instructions_from_ticks

            return "instructions", instructions_from_ticks(self.board, ticks)
        if info.counter == "cycles":
            return "cycles", int(ticks)
        return "microseconds", ticks * 1e6 / info.tick_hz

    def run(self, graph, inputs) -> RunResult:
        """One inference on the device; outputs decoded with the model's dtypes and shapes.

        A link that fails beyond the protocol's own retries (LinkError) gets a fresh connection
        and the whole upload-infer-read again, ``LINK_ATTEMPTS`` times in all: every attempt is
        checked end to end, so a result is either this input's or an error."""
        from tinycompiler.harness.protocol import LinkError, crc32

        data, stored = _input_bytes(graph, inputs), _stored_bytes(graph, inputs)
        index = self._preloaded.get(data)  # in the blob QEMU booted with: nothing to upload
        for attempt in range(LINK_ATTEMPTS):
            try:
                client = self.connect(graph)
                if index is not None:
                    result = client.infer(layers=self.collect_layers, preloaded=index, expect_crc=crc32(stored))
                else:
                    client.set_input(data, stored)
                    result = client.infer(layers=self.collect_layers)
                # the stack's high-water mark, this inference included; not in accuracy-only runs
                stack = client.stats() if self.collect_layers else None
                break
            except LinkError as e:
                self._drop_client()
                if attempt == LINK_ATTEMPTS - 1:
                    raise LinkError(f"{e} (gave up after {LINK_ATTEMPTS} fresh connections to {self.board.id})") from None
        return self._result(result, stack)

    def _drop_client(self) -> None:
        """Forget the connection (not the QEMU session): the next run reconnects and says HELLO."""
        if self.client is not None:
            self.client.close()
            self.client = None

    def ram(self, stack) -> dict:
        """All the RAM the device uses (bytes): the planned arena, ``.data`` + ``.bss`` beside it
        (from the ELF), and the stack, reserved (linker script) and at most used (measured on the
        device by stack painting: ``stack`` = (region bytes, peak bytes) from STATS; None when
        not read on this run)."""
        fw = self._firmware
        elf = fw.elf_ram
        region, peak = stack or (0, 0)
        measured = bool(region)
        regions = [{"name": r.name, "origin": r.origin, "bytes": r.bytes, "dma": r.dma,
                    "reserved_bytes": elf.bytes_in(r.origin, r.bytes),
                    "stack": bool(elf.stack_bytes) and r.origin < elf.stack_top <= r.origin + r.bytes}
                   for r in self.board.regions]
        program = fw.bundle.program
        # a split arena's parts, not the offset range they span (which includes the gap up to the seam)
        arena = sum(size for _, _, size in program.arena_regions) or program.arena_bytes
        if measured:
            note = "used = .data + .bss (arena included) + the stack's measured high-water mark"
        elif stack is None:
            note = "the stack was not read on this run (accuracy only)"
        else:
            note = "this port cannot tell where its stack is: stack not measured"
        return {"arena_bytes": arena, "static_bytes": elf.static_bytes,
                "data_bss_bytes": elf.data_bss_bytes, "stack_reserved_bytes": elf.stack_bytes or region,
                "stack_peak_bytes": peak if measured else None,
                "used_bytes": elf.data_bss_bytes + peak if measured else None,
                "reserved_bytes": elf.data_bss_bytes + (elf.stack_bytes or region),
                "board_sram_bytes": self.board.sram_bytes, "regions": regions, "note": note}

    def _result(self, result, stack=None) -> RunResult:
        fw = self._firmware
        program = fw.bundle.program
        if result.status == -1:
            raise TinyCompilerError(f"model_invoke on {self.board.id} returned -1: the arena guard after "
                                    f"{program.arena_bytes} bytes was overwritten (a planner or kernel bug; please report)")
        if result.status != 0:
            raise TinyCompilerError(f"model_invoke on {self.board.id} returned {result.status}: layer "
                                    f"{result.status - 1} refused its arguments (please report)")
        outputs, pos = [], 0
        for io in program.outputs:
            dtype = np.dtype(_NP[io.ctype]).newbyteorder("<")
            arr = np.frombuffer(result.outputs[pos:pos + io.nbytes], dtype=dtype).astype(_NP[io.ctype])
            outputs.append(arr.reshape(io.shape))
            pos += io.nbytes
        unit, total = self.counts(result.ticks)
        layers = []
        for call, ticks in zip(program.calls, result.layer_ticks):
            layers.append({"layer": call.layer, "op_index": call.op_index, "kernel": call.template,
                           "what": call.comment, unit: self.counts(ticks)[1]})
        metrics = {unit: total, "arena_bytes": program.arena_bytes, "flash_bytes": fw.flash_bytes,
                   "ram_bytes": fw.ram_bytes, "ram": self.ram(stack), "elf": str(fw.elf) if fw.elf else None,
                   "layers": layers,
                   "board": self.board.id,
                   "arena_guard": "intact" if self.client.info.guard else "not built in (debug builds check it)"}
        if self.board.emulated:
            metrics["counter_note"] = "QEMU -icount: instructions, not cycles"
        return RunResult(outputs=outputs, metrics=metrics)
