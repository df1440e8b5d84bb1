"""The one figure style of rootml (mplhep) and atomic PDF + PNG output."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import mplhep
from matplotlib.figure import Figure

from rootml.atomic import atomic_output

# PNG resolution; fixed here (not taken from rcParams) so a figure's pixel size is its size in inches times DPI.
DPI = 150
# Formats written by save_figure; the PDF gets no creation date, so the same figure gives the same bytes.
FORMATS = {"pdf": {"CreationDate": None}, "png": {}}


def use_style() -> None:
    """Switch matplotlib to the experiment-neutral mplhep ROOT style used by every rootml figure."""
    mplhep.style.use("ROOT")
    matplotlib.rcParams["savefig.dpi"] = DPI


def save_figure(fig: Figure, path_without_suffix: str | os.PathLike[str]) -> list[Path]:
    """Write `fig` as <path>.pdf and <path>.png, each atomically; return the two paths."""
    written = []
    for fmt, metadata in FORMATS.items():
        path = Path(f"{os.fspath(path_without_suffix)}.{fmt}")
        with atomic_output(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=metadata)
        written.append(path)
    return written
