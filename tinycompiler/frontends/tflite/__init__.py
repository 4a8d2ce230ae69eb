"""TFLite flatbuffers in and out: :func:`load_tflite` reads a model into the IR, :func:`write_tflite`
writes an IR graph back as a ``.tflite`` that TFLM runs."""

from tinycompiler.frontends.tflite.reader import load_tflite
from tinycompiler.frontends.tflite.writer import save_tflite, write_tflite

__all__ = ["load_tflite", "save_tflite", "write_tflite"]
