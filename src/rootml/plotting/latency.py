"""The latency figure: inference time per jet of each way of running one model (torch dense, pruned, structured,
onnxruntime float and int8, ...) at each timed batch size, from a latency table (rootml.pruning.latency)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

REQUIRED_COLUMNS = ("backend", "batch_size", "latency_ms")
BAR_HEIGHT = 0.8  # of the space of one backend, shared by its batch sizes


def plot_latency(table: pd.DataFrame, out_stem: str | os.PathLike[str], *, model: str) -> list[Path]:
    """Horizontal bars of the median time per jet (µs, log scale) of each backend, one bar per batch size."""
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing or table.empty:
        raise ValueError(f"latency table of model '{model}' lacks columns {missing} or rows")
    use_style()
    backends = list(dict.fromkeys(table["backend"]))
    batches = sorted(table["batch_size"].unique())
    height = BAR_HEIGHT / len(batches)
    fig = Figure(figsize=(8.0, 1.2 + 0.6 * len(backends) * max(1, len(batches) / 2)), layout="constrained")
    ax = fig.subplots()
    for index, batch in enumerate(batches):
        rows = table[table["batch_size"] == batch].set_index("backend")
        per_jet = [1000.0 * rows.loc[name, "latency_ms"] / batch if name in rows.index else np.nan for name in backends]
        offsets = np.arange(len(backends)) - BAR_HEIGHT / 2 + (index + 0.5) * height
        ax.barh(offsets, per_jet, height=height, color=f"C{index % 10}", label=f"batch {batch}")
    ax.set_yticks(np.arange(len(backends)), backends)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("Time per jet [µs]")
    ax.legend(title=model, fontsize="small", loc="best")
    return save_figure(fig, out_stem)
