"""The float "layer list" between the aten graph and the int8 IR.

Layers keep PyTorch's semantics and layout (NCHW activations, OIHW conv weights, [out, in]
Linear weights, torch dims in attrs); only :mod:`.to_ir` converts to NHWC. Values are named by
the fx node that produced them; ``shapes`` holds each value's torch shape.

Layer kinds and their attrs (weights are float32 numpy arrays):

=============  ==================================================================================
kind           attrs
=============  ==================================================================================
conv           weight [O, I/groups, kh, kw], bias [O] or None, stride, padding, dilation (pairs),
               groups, act ("NONE"/"RELU"/"RELU6")
batchnorm      scale [C], shift [C] (``y = x * scale + shift`` per channel; folded into a conv)
linear         weight [O, I], bias [O] or None, act
add, mul       act; const (numpy array broadcasting against the input) when one operand is a
               constant, else two inputs
mean           dims (torch dims, non-negative), keepdim
maxpool        kernel, stride, padding (pairs), ceil_mode
avgpool        kernel, stride, padding (pairs), ceil_mode, count_include_pad
pad            pads (top, bottom, left, right), zero value only
relu, relu6,   (none)
hardswish,
sigmoid,
hardsigmoid
softmax        dim
reshape        (the output shape is ``shapes[output]``)
concat         dim
=============  ==================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Layer:
    """One float op. ``where`` names it for error messages: fx node and module path."""

    kind: str
    inputs: list
    output: str
    attrs: dict = field(default_factory=dict)
    where: str = ""


@dataclass
class FloatGraph:
    """A float model as a list of layers in execution order over named values."""

    input: str
    outputs: list
    layers: list
    shapes: dict
    name: str = "model"

    def consumers(self, value: str) -> list:
        """Layers that read ``value``, in order."""
        return [layer for layer in self.layers if value in layer.inputs]

    def producer(self, value: str):
        """The layer writing ``value`` (None for the graph input)."""
        for layer in self.layers:
            if layer.output == value:
                return layer
        return None

    def rename(self, old: str, new: str) -> None:
        """Make every reader of ``old`` (and the graph outputs) read ``new`` instead."""
        for layer in self.layers:
            layer.inputs = [new if v == old else v for v in layer.inputs]
        self.outputs = [new if v == old else v for v in self.outputs]
