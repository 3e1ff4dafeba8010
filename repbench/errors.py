"""One exception type for every user-facing failure: the CLI prints its message, never a traceback."""


class RepbenchError(Exception):
    """A bad input or state the user can fix; the message says what to do."""
