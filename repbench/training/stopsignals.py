"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM, the signal SLURM and Snakemake send.

The handler only raises a flag; the loop finishes its current step, writes a checkpoint and
returns an "interrupted" record, so a rerun resumes bit-identically. A second signal aborts
at once (Ctrl-C raises KeyboardInterrupt, SIGTERM terminates), for a user who cannot wait.
"""
from __future__ import annotations

import signal
import sys
import threading
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """Context manager; `set` turns true on the first stop signal, `signum` says which."""

    def __init__(self) -> None:
        self.set = False
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "StopFlag":
        # Python delivers signals to the main thread only; elsewhere (a test's worker thread) do nothing.
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.set = True
        self.signum = signum
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\n{name} received: stopping after this iteration to save a checkpoint "
              f"(send it again to abort without one)", file=sys.stderr)

    def __exit__(self, *_exc: Any) -> None:
        for sig, previous in self._previous.items():
            if previous is not None:
                signal.signal(sig, previous)

    @property
    def exit_code(self) -> int | None:
        """The shell's code for death by the signal received (130 for SIGINT, 143 for SIGTERM)."""
        return 128 + self.signum if self.signum else None
