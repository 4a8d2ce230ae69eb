"""The one exception type users see.

Every failure caused by user input (a malformed model, an unsupported op, a model that does not
fit a board, a serial link that cannot be trusted) raises :class:`TinyCompilerError` with a
message that fits on one line and says what to do. The CLI prints it on stderr and exits 1.
"""


class TinyCompilerError(Exception):
    """A user-facing error: one line, names the thing at fault and what would work instead."""

    def __init__(self, message: str):
        # Collapse newlines so the CLI can always print exactly one line.
        super().__init__(" ".join(str(message).split()))
