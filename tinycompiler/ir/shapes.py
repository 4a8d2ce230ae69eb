"""Shape arithmetic shared by every stage, written exactly as TFLite computes it."""

from __future__ import annotations


def effective_size(filter_size: int, dilation: int) -> int:
    """Extent of a dilated filter, in elements."""
    return (filter_size - 1) * dilation + 1


def conv_output_size(in_size: int, filter_size: int, stride: int, dilation: int, padding: str) -> int:
    """Output length along one axis for SAME or VALID padding (TFLite's ComputeOutSize)."""
    eff = effective_size(filter_size, dilation)
    if padding == "SAME":
        return (in_size + stride - 1) // stride
    if padding == "VALID":
        return (in_size - eff + stride) // stride
    raise ValueError(f"padding must be SAME or VALID, not {padding!r}")


def same_pads(in_size: int, filter_size: int, stride: int, dilation: int, padding: str) -> tuple:
    """(before, after) padding along one axis. SAME pads the extra element at the end, as TFLite."""
    out = conv_output_size(in_size, filter_size, stride, dilation, padding)
    total = max((out - 1) * stride + effective_size(filter_size, dilation) - in_size, 0)
    if padding == "VALID":
        # TFLite still computes an offset for VALID, but it is always 0 when out is VALID's size
        total = 0
    return total // 2, total - total // 2


def conv_pads(in_hw, filter_hw, stride_hw, dilation_hw, padding) -> tuple:
    """(top, bottom, left, right) padding of a 2-D window op."""
    top, bottom = same_pads(in_hw[0], filter_hw[0], stride_hw[0], dilation_hw[0], padding)
    left, right = same_pads(in_hw[1], filter_hw[1], stride_hw[1], dilation_hw[1], padding)
    return top, bottom, left, right
