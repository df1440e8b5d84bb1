"""Send the C-level standard output (Pythia's and FastJet's std::cout) to a log file for a while."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

_LIBC = ctypes.CDLL(None)


def _flush_all() -> None:
    """Flush Python's sys.stdout and every C stdio stream (std::cout is synced with C stdio)."""
    sys.stdout.flush()
    _LIBC.fflush(None)


@contextlib.contextmanager
def stdout_to_log(log_path: str | Path | None) -> Iterator[Callable[[str], None]]:
    """Point file descriptor 1 at `log_path` (or /dev/null) and restore it after; yield a note-taker for the log."""
    target = Path(log_path) if log_path is not None else Path(os.devnull)
    if log_path is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "w") as log:

        def note(line: str) -> None:
            """Append a line to the log after everything printed so far."""
            _flush_all()
            log.write(line + "\n")
            log.flush()

        _flush_all()
        saved = os.dup(1)
        os.dup2(log.fileno(), 1)
        try:
            yield note
        finally:
            log.flush()
            _flush_all()
            os.dup2(saved, 1)
            os.close(saved)
