"""The ops the IR supports, and the attribute keys each one carries.

Inputs follow TFLite's order, constant parameter tensors included. Attributes:

========================  ==========================================================================
op                        attrs
========================  ==========================================================================
CONV_2D                   padding, stride_h, stride_w, dilation_h, dilation_w, activation
                          inputs: input NHWC, filter OHWI, bias int32 [O] or None
DEPTHWISE_CONV_2D         padding, stride_h, stride_w, dilation_h, dilation_w, depth_multiplier,
                          activation; inputs: input, filter [1,H,W,C*M], bias or None
FULLY_CONNECTED           activation, keep_num_dims; inputs: input, weights [O,I], bias or None
ADD, MUL                  activation (inputs broadcast as in TFLite)
AVERAGE_POOL_2D,          padding, stride_h, stride_w, filter_h, filter_w, activation
MAX_POOL_2D
MEAN                      keep_dims; inputs: input, axes (const int32)
PAD                       inputs: input, paddings (const int32 [rank, 2])
RESHAPE                   (output shape is the output tensor's shape); inputs: input[, shape]
SQUEEZE                   squeeze_dims (list)
SOFTMAX                   beta
CONCATENATION             axis, activation
TRANSPOSE                 inputs: input, perm (const int32)
RESIZE_NEAREST_NEIGHBOR   align_corners, half_pixel_centers; inputs: input, size (const int32 [2])
LOG_SOFTMAX, LOGISTIC,    (none)
TANH, HARD_SWISH, RELU, RELU6,
QUANTIZE, DEQUANTIZE
========================  ==========================================================================

``activation`` is one of :data:`ACTIVATIONS`.

Activations are int8, except at the graph's edges: a float32 input read by QUANTIZE, and a float32
*tail* after a DEQUANTIZE: the ops of :data:`FLOAT_TAIL_OPS` on float32 tensors that only lead to
graph outputs (TANH runs only there).

CONV_2D and DEPTHWISE_CONV_2D may also carry ``explicit_pads = (top, bottom, left, right)``
(elements, >= 0), which then wins over ``padding``: the window is laid over the input padded by
those amounts (padded taps contribute nothing, as SAME's do). No importer sets it; the code
generation pass :mod:`tinycompiler.passes.fold_pad` does when it folds a PAD into the conv.
"""

SUPPORTED_OPS = (
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "FULLY_CONNECTED",
    "ADD",
    "MUL",
    "AVERAGE_POOL_2D",
    "MAX_POOL_2D",
    "MEAN",
    "PAD",
    "RESHAPE",
    "SQUEEZE",
    "SOFTMAX",
    "LOG_SOFTMAX",
    "LOGISTIC",
    "TANH",
    "HARD_SWISH",
    "RELU",
    "RELU6",
    "CONCATENATION",
    "TRANSPOSE",
    "RESIZE_NEAREST_NEIGHBOR",
    "QUANTIZE",
    "DEQUANTIZE",
)

#: ops that may run on float32 after a DEQUANTIZE at the end of the graph (TFLM's float kernels)
FLOAT_TAIL_OPS = ("SOFTMAX", "LOG_SOFTMAX", "LOGISTIC", "TANH", "RELU", "ADD", "MUL", "RESHAPE", "SQUEEZE",
                  "FULLY_CONNECTED", "MEAN", "CONCATENATION")

#: fused activations an op may carry
ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")

#: ops whose output aliases the input bytes unchanged
VIEW_OPS = ("RESHAPE", "SQUEEZE")


def supported_list() -> str:
    """The supported op names as one comma-separated string, for error messages."""
    return ", ".join(SUPPORTED_OPS)
