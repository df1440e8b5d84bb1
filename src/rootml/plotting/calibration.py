"""The reliability diagram of a classifier: observed frequency against the mean predicted probability in equal-width
bins, for the top-class confidence and for P(signal), raw and temperature-scaled, with each curve's ECE."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure

from rootml.metrics.calibration import ReliabilityBins
from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (6.5, 6.0)
# panel key -> (x label, y label)
PANELS = {"top": ("Top-class confidence", "Accuracy"), "sb": ("P(signal)", "Fraction of signal jets")}


def plot_reliability(curves: Mapping[str, Mapping[str, ReliabilityBins]], out_stem: str | os.PathLike[str], *,
                     title: str | None = None) -> list[Path]:
    """One panel per key of PANELS, one line per curve (label -> panel -> bins, e.g. raw and calibrated), the
    diagonal of perfect calibration dashed."""
    if not curves:
        raise ValueError("no reliability curves to plot")
    use_style()
    fig = Figure(figsize=(PANEL_INCHES[0] * len(PANELS), PANEL_INCHES[1]), layout="constrained")
    for ax, (panel, (xlabel, ylabel)) in zip(fig.subplots(1, len(PANELS)), PANELS.items()):
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="Perfect calibration")
        for label, bins in curves.items():
            filled = bins[panel].filled
            ax.plot(bins[panel].predicted[filled], bins[panel].observed[filled], marker="o", markersize=4,
                    label=f"{label} (ECE {bins[panel].ece:.3f})")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(title=title, fontsize="x-small", title_fontsize="small", loc="upper left")
    return save_figure(fig, out_stem)
