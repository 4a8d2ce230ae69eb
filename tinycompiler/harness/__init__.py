"""Talking to a model on a device: the serial link, the framed protocol, and the client.

``link`` opens a port (a serial device or ``socket://host:port``), ``protocol`` frames, checks and
retries, ``client`` speaks the harness commands (``boards/harness/PROTOCOL.md``), and
``model_info`` renders the per-model header the firmware harness is built with.
"""
