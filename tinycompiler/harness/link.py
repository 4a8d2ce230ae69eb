"""Opening the byte link to a device: a serial device path or a pyserial URL.

``socket://127.0.0.1:PORT`` reaches a QEMU board's UART (``-serial tcp:...,server=on``);
``loop://`` is pyserial's loopback (tests); anything else is a serial device such as
``/dev/ttyACM0``. :func:`detect_port` finds a real board among the attached USB serial ports.
"""

from __future__ import annotations

from tinycompiler.errors import TinyCompilerError

#: default UART rate of the real-board ports (boards/ports/*); QEMU ignores it
DEFAULT_BAUD = 115200

#: USB vendor ids of the debug probes that carry a board's UART (ST-LINK, SEGGER J-Link,
#: Nordic, Raspberry Pi, Arm CMSIS-DAP / DAPLink, NXP LPC-Link)
PROBE_VENDORS = {0x0483: "ST-LINK", 0x1366: "SEGGER J-Link", 0x1915: "Nordic", 0x2E8A: "Raspberry Pi",
                 0x0D28: "DAPLink", 0x1FC9: "NXP"}


def open_link(url: str, baudrate: int = DEFAULT_BAUD, timeout: float = 0.05):
    """An open pyserial port for ``url`` (read timeout ``timeout`` seconds per read call)."""
    import serial

    try:
        if "://" in url:
            return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout, write_timeout=30)
        return serial.Serial(url, baudrate=baudrate, timeout=timeout, write_timeout=30)
    except (serial.SerialException, ValueError, OSError) as e:
        raise TinyCompilerError(f"cannot open serial port {url}: {e} (check the cable/port, or pass --port)") from None


def detect_port() -> str:
    """The device path of the one attached board; a clear error when there is none or several."""
    from serial.tools import list_ports

    found = [(p.device, PROBE_VENDORS[p.vid]) for p in list_ports.comports() if p.vid in PROBE_VENDORS]
    if not found:
        raise TinyCompilerError("no board found on USB serial ports (ST-LINK, J-Link, DAPLink, ...); "
                                "connect one or pass --port /dev/ttyACMx")
    if len(found) > 1:
        listed = ", ".join(f"{dev} ({probe})" for dev, probe in found)
        raise TinyCompilerError(f"several boards found: {listed}; choose one with --port")
    return found[0][0]
