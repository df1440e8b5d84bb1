"""The set-up every workflow job runs in: its declared log receives Python logging, warnings, the C-level standard
output and error (Pythia, FastJet, ROOT, tqdm) and the traceback of a failure.

The job's log exists from the job's first instant, whatever happens next. A failure is logged with its traceback,
then re-raised with the console's stderr restored, so the user sees it on the terminal (or the scheduler's job
output) and in the log, which is the only place a cluster user may look.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LIBC = ctypes.CDLL(None)
log = logging.getLogger(__name__)


def _flush_all() -> None:
    """Flush Python's sys.stdout/sys.stderr and every C stdio stream (std::cout is synced with C stdio)."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    _LIBC.fflush(None)


@contextlib.contextmanager
def redirected_output(path: str | Path | None) -> Iterator[None]:
    """Send standard output and error to `path` (appended; None: /dev/null), then back: file descriptors 1 and 2 (C
    and C++ libraries) and Python's sys.stdout and sys.stderr (which may be other objects, as under pytest)."""
    target = Path(path) if path is not None else Path(os.devnull)
    with open(target, "a", buffering=1) as sink:
        _flush_all()
        saved = {fd: os.dup(fd) for fd in (1, 2)}
        streams = sys.stdout, sys.stderr
        for fd in saved:
            os.dup2(sink.fileno(), fd)
        sys.stdout = sys.stderr = sink
        try:
            yield
        finally:
            _flush_all()
            sys.stdout, sys.stderr = streams
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


@contextlib.contextmanager
def job_logging(log_path: str | Path) -> Iterator[logging.Logger]:
    """Run a block as a workflow job: everything it logs, warns or prints goes to `log_path` (created anew), and a
    failure's traceback is logged there before the exception propagates."""
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    root = logging.getLogger()
    with open(path, "a", buffering=1) as stream:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        saved_handlers, saved_level = root.handlers[:], root.level
        root.handlers = [handler]
        root.setLevel(logging.INFO)  # setLevel, not an assignment: it clears the loggers' cached levels
        logging.captureWarnings(True)
        try:
            with redirected_output(path):
                try:
                    yield log
                except BaseException:
                    log.exception("job failed")
                    raise
        finally:
            logging.captureWarnings(False)
            root.handlers = saved_handlers
            root.setLevel(saved_level)


def run_job(snakemake: Any, main: Callable[[Any], None]) -> None:
    """Call main(snakemake) inside job_logging on the rule's declared log (rules of this workflow declare one), with
    the job's rule, wildcards and outputs logged before and its duration after."""
    with job_logging(snakemake.log[0]) as log:
        wildcards = ", ".join(f"{key}={value}" for key, value in snakemake.wildcards.items())
        log.info("rule %s%s: writing %s", snakemake.rule, f" ({wildcards})" if wildcards else "",
                 ", ".join(map(str, snakemake.output)))
        start = time.perf_counter()
        main(snakemake)
        log.info("rule %s done in %.1f s", snakemake.rule, time.perf_counter() - start)
