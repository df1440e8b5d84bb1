"""The anomaly figure: reconstruction-error distribution per class (log axis), and the background rejection of the
error used as a signal-vs-background discriminant."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from rootml.metrics.binary import RocCurve
from rootml.plotting.roc import EFFICIENCY_LABEL, REJECTION_LABEL, draw_rejection, efficiency_grid
from rootml.plotting.scores import Sample, draw_distributions
from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (8.0, 6.5)
N_BINS = 50
# Central fraction of the positive errors (all classes together) spanned by the logarithmic axis.
AXIS_QUANTILES = (0.001, 0.999)


def log_edges(samples: Mapping[str, Sample], n_bins: int = N_BINS) -> np.ndarray:
    """Logarithmic bin edges over the central range of the positive values of all samples."""
    values = np.concatenate([sample[0] for sample in samples.values()])
    positive = values[values > 0]
    if len(positive) == 0:
        raise ValueError("anomaly scores must include positive values for a logarithmic axis")
    low, high = np.quantile(positive, AXIS_QUANTILES)
    high = high if high > low else low * 10.0
    return np.geomspace(low, high, n_bins + 1)


def plot_anomaly(
    samples: Mapping[str, Sample], curves: Mapping[str, RocCurve], out_stem: str | os.PathLike[str], *,
    title: str | None = None, background_label: str = "background",
    efficiency_range: tuple[float, float] = (0.1, 1.0),
) -> list[Path]:
    """Error distribution per class (name -> (errors, weights)) and rejection curves (signal name -> ROC)."""
    if not curves:
        raise ValueError("no anomaly ROC curves to plot")
    samples = {name: sample for name, sample in samples.items() if len(sample[0])}
    if not samples:
        raise ValueError("no anomaly scores to plot")
    edges = log_edges(samples)
    grid = efficiency_grid(efficiency_range)
    use_style()
    fig = Figure(figsize=(2 * PANEL_INCHES[0], PANEL_INCHES[1]), layout="constrained")
    left, right = fig.subplots(1, 2)
    draw_distributions(left, samples, edges)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlim(edges[0], edges[-1])
    left.set_xlabel("Reconstruction error")
    left.set_ylabel("Fraction of jets / bin width")
    left.legend(fontsize="small", ncols=2)
    for name, curve in curves.items():
        draw_rejection(right, curve, grid, name)
    right.plot(grid, 1.0 / grid, color="grey", linestyle="--", label="Random")
    right.set_yscale("log")
    right.set_xlim(*efficiency_range)
    right.set_xlabel(EFFICIENCY_LABEL)
    right.set_ylabel(REJECTION_LABEL)
    right.legend(title=f"signal vs {background_label}", fontsize="small", title_fontsize="small")
    if title is not None:
        fig.suptitle(title)
    return save_figure(fig, out_stem)
