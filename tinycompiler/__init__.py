"""tinycompiler: an int8 TinyML deployment compiler for Cortex-M microcontrollers."""

from tinycompiler.errors import TinyCompilerError

__all__ = ["TinyCompilerError", "__version__"]
__version__ = "0.1.0"
