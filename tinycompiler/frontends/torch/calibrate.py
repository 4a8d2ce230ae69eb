"""Activation ranges from calibration data: min/max, percentile or MSE-optimal clipping.

The folded float graph runs on the calibration inputs batch by batch (nothing is kept but
running statistics). ``minmax`` needs one pass; ``percentile`` and ``mse`` a second pass that
fills a histogram of each value over its min/max range.
"""

from __future__ import annotations

import numpy as np

from tinycompiler.errors import TinyCompilerError
from tinycompiler.frontends.torch.execute import run_float

METHODS = ("minmax", "percentile", "mse")
#: histogram resolution of the percentile/mse methods
BINS = 2048
#: the percentile method keeps this central fraction of the values (percent)
PERCENTILE = 99.99
#: clipping candidates of the mse method, as fractions of the observed min and max
_MSE_FRACTIONS = np.linspace(0.25, 1.0, 31)


def _batches(calib, batch):
    for i in range(0, len(calib), batch):
        yield calib[i:i + batch]


def _check_calib(fg, calib) -> np.ndarray:
    calib = np.asarray(calib)
    want = fg.shapes[fg.input]
    if calib.ndim != len(want) or tuple(calib.shape[1:]) != tuple(want[1:]) or len(calib) == 0:
        raise TinyCompilerError(f"calibration data has shape {list(calib.shape)}; the model wants a batch "
                                f"of inputs shaped [N, {', '.join(map(str, want[1:]))}] (its own layout)")
    if not np.issubdtype(calib.dtype, np.floating) or not np.all(np.isfinite(calib)):
        raise TinyCompilerError("calibration data must be finite floating-point values (the model's "
                                "float inputs, preprocessed as for the float model)")
    return calib.astype(np.float32)


def _minmax(fg, calib, batch) -> dict:
    lo, hi = {}, {}

    def observe(name, t):
        a, b = float(t.min()), float(t.max())
        lo[name] = min(lo.get(name, a), a)
        hi[name] = max(hi.get(name, b), b)

    for xb in _batches(calib, batch):
        run_float(fg, xb, observe)
    return {k: (lo[k], hi[k]) for k in lo}


def _histograms(fg, calib, batch, ranges) -> dict:
    hists = {k: np.zeros(BINS, np.float64) for k in ranges}

    def observe(name, t):
        a, b = ranges[name]
        if b > a:
            hists[name] += np.histogram(t.numpy().reshape(-1), bins=BINS, range=(a, b))[0]

    for xb in _batches(calib, batch):
        run_float(fg, xb, observe)
    return hists


def _percentile_range(hist, lo, hi) -> tuple:
    if hi <= lo or hist.sum() == 0:
        return lo, hi
    edges = np.linspace(lo, hi, BINS + 1)
    cdf = np.cumsum(hist) / hist.sum()
    tail = (100.0 - PERCENTILE) / 200.0
    a = edges[int(np.searchsorted(cdf, tail))]
    b = edges[min(int(np.searchsorted(cdf, 1.0 - tail)) + 1, BINS)]
    return float(a), float(b)


def _mse_range(hist, lo, hi) -> tuple:
    """The (lo, hi) clipping that minimizes the int8 quantization error over the histogram."""
    if hi <= lo or hist.sum() == 0:
        return lo, hi
    centers = (np.linspace(lo, hi, BINS + 1)[:-1] + np.linspace(lo, hi, BINS + 1)[1:]) / 2
    lo0, hi0 = min(lo, 0.0), max(hi, 0.0)
    los = lo0 * _MSE_FRACTIONS if lo0 < 0 else np.zeros(1)
    his = hi0 * _MSE_FRACTIONS if hi0 > 0 else np.zeros(1)
    cand_lo, cand_hi = (g.reshape(-1) for g in np.meshgrid(los, his, indexing="ij"))
    span = np.maximum(cand_hi - cand_lo, 1e-12)
    scale = span / 255.0
    zp = np.clip(np.round(-128.0 - cand_lo / scale), -128, 127)
    q = np.clip(np.round(centers[None, :] / scale[:, None]) + zp[:, None], -128, 127)
    err = ((centers[None, :] - (q - zp[:, None]) * scale[:, None]) ** 2 * hist[None, :]).sum(axis=1)
    best = int(np.argmin(err))
    return float(cand_lo[best]), float(cand_hi[best])


def calibrate(fg, calib, method: str = "minmax", batch: int = 64) -> dict:
    """``{value name: (lo, hi)}`` for the graph input and every layer output (floats)."""
    if method not in METHODS:
        raise TinyCompilerError(f"unknown calibration method {method!r}; supported: {', '.join(METHODS)}")
    calib = _check_calib(fg, calib)
    ranges = _minmax(fg, calib, batch)
    if method == "minmax":
        return ranges
    hists = _histograms(fg, calib, batch, ranges)
    pick = _percentile_range if method == "percentile" else _mse_range
    return {k: pick(hists[k], *ranges[k]) for k in ranges}
