"""The numpy reference interpreter, bit-exact with TFLite Micro's int8 kernels."""

from tinycompiler.reference.interpreter import kernels, run, supported_kinds

__all__ = ["kernels", "run", "supported_kinds"]
