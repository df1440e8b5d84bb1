"""The detector-response figure: detector-level over generator-level jet pT and mass, histograms per class with their
mean, width and resolution."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import mplhep
import numpy as np
from matplotlib.figure import Figure

from rootml.metrics.regression import one_sigma_quantiles
from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (8.0, 6.5)
N_BINS = 40
HEADROOM = 1.7  # y-axis room above the histograms for the legend
RATIO_RANGE = {"pt": (0.7, 1.3), "mass": (0.4, 1.6)}  # axis span of each ratio (out-of-range jets still count)
AXIS_LABELS = {"pt": r"$p_T^{\mathrm{det}} / p_T^{\mathrm{gen}}$", "mass": r"$m^{\mathrm{det}} / m^{\mathrm{gen}}$"}


def response_stats(ratio: np.ndarray) -> dict[str, float]:
    """Mean and standard deviation of detector / generator ratios, their median and resolution (half the
    15.9-84.1% quantile range: the width without the tails)."""
    low, median, high = one_sigma_quantiles(np.asarray(ratio, dtype=np.float64))
    return {"mean": float(np.mean(ratio)), "std": float(np.std(ratio)), "median": float(median),
            "resolution": float((high - low) / 2)}


def plot_response(ratios: Mapping[str, Mapping[str, np.ndarray]], out_stem: str | os.PathLike[str], *,
                  title: str = "") -> list[Path]:
    """One panel per quantity of `ratios` (quantity 'pt' or 'mass' -> class -> detector / generator ratio per jet):
    unit-area histograms per class, the legend giving mean, standard deviation and resolution."""
    if not ratios or any(not per_class for per_class in ratios.values()):
        raise ValueError("no response ratios to plot")
    use_style()
    fig = Figure(figsize=(PANEL_INCHES[0] * len(ratios), PANEL_INCHES[1]), layout="constrained")
    fig.suptitle(title, fontsize="medium")
    for ax, (quantity, per_class) in zip(fig.subplots(1, len(ratios), squeeze=False)[0], ratios.items(), strict=True):
        edges = np.linspace(*RATIO_RANGE[quantity], N_BINS + 1)
        for name, ratio in per_class.items():
            stats = response_stats(ratio)
            counts, _ = np.histogram(ratio, bins=edges)
            label = (f"{name}: mean {stats['mean']:.3f}, std {stats['std']:.3f}\n"
                     f"median {stats['median']:.3f}, res. {stats['resolution']:.3f}")
            mplhep.histplot(counts / (len(ratio) * np.diff(edges)), edges, ax=ax, label=label)
        ax.axvline(1.0, color="grey", linestyle=":")
        ax.set_xlabel(AXIS_LABELS[quantity])
        ax.set_ylabel("Jets (unit area)")
        ax.set_ylim(0.0, HEADROOM * ax.get_ylim()[1])
        ax.legend(fontsize="xx-small", loc="upper left")
    return save_figure(fig, out_stem)
