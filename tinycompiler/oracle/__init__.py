"""Independent oracles the compiler is checked against (TFLite Micro's own interpreter)."""
