"""Reports on a compiled model: the memory plan as a text table, a JSON object and an HTML page.

:func:`build_memory_report` gathers the facts once (from the graph, the memory plan, the analysis,
optionally a board and TFLM's arena); the formatters only present them.
"""

from tinycompiler.report.memory_data import MemoryReport, build_memory_report

__all__ = ["MemoryReport", "build_memory_report"]
