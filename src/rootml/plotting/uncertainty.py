"""The uncertainty-vs-error figure of an ensemble or an MC dropout model: the mean |is_signal - P(signal)| and the
misclassification rate in bins of the per-jet spread (left), and the spread of correctly and wrongly classified jets
(right, unit area)."""

from __future__ import annotations

import os
from pathlib import Path

import mplhep
import numpy as np
from matplotlib.figure import Figure

from rootml.plotting.scores import unit_area
from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = (6.5, 6.0)
N_SPREAD_BINS = 10  # quantile bins of the spread in the left panel (fewer where the spread has ties)
N_HISTOGRAM_BINS = 30


def spread_bins(spread: np.ndarray, error: np.ndarray, misclassified: np.ndarray, weight: np.ndarray,
                n_bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted mean spread, mean error and misclassification rate in quantile bins of the spread (empty bins and
    repeated edges dropped)."""
    edges = np.unique(np.quantile(spread, np.linspace(0.0, 1.0, n_bins + 1)))
    index = np.clip(np.searchsorted(edges, spread, side="right") - 1, 0, max(len(edges) - 2, 0))
    total = np.bincount(index, weights=weight)
    filled = total > 0

    def mean(values: np.ndarray) -> np.ndarray:
        """Weighted mean of `values` in each filled bin."""
        return np.bincount(index, weights=weight * values)[filled] / total[filled]

    return mean(spread), mean(error), mean(misclassified.astype(np.float64))


def plot_uncertainty_vs_error(spread: np.ndarray, error: np.ndarray, misclassified: np.ndarray, weight: np.ndarray,
                              out_stem: str | os.PathLike[str], *, title: str | None = None,
                              n_bins: int = N_SPREAD_BINS) -> list[Path]:
    """Per jet: the spread of P(signal), its error |y - p|, whether it is misclassified and its weight. Error and
    misclassification rate against the binned spread; spread distributions of correct and misclassified jets."""
    if not len(spread):
        raise ValueError("no jets to plot")
    use_style()
    fig = Figure(figsize=(PANEL_INCHES[0] * 2, PANEL_INCHES[1]), layout="constrained")
    left, right = fig.subplots(1, 2)
    binned_spread, binned_error, wrong = spread_bins(spread, error, misclassified, weight, n_bins)
    left.plot(binned_spread, binned_error, marker="o", label=r"mean $|y - p|$")
    left.plot(binned_spread, wrong, marker="s", label="misclassification rate")
    left.set_xlabel("Per-jet spread of P(signal)")
    left.set_ylabel("Error in the bin")
    left.set_ylim(bottom=0)
    left.legend(title=title, fontsize="x-small", title_fontsize="small")
    high = float(spread.max())
    edges = np.linspace(0.0, high if high > 0 else 1.0, N_HISTOGRAM_BINS + 1)
    for label, chosen in (("correct", ~misclassified), ("misclassified", misclassified)):
        if chosen.any():
            density, err = unit_area((spread[chosen], weight[chosen]), edges)
            mplhep.histplot(density, edges, yerr=err, ax=right, label=label)
    right.set_xlabel("Per-jet spread of P(signal)")
    right.set_ylabel("Fraction of jets / bin width")
    right.legend(title=title, fontsize="x-small", title_fontsize="small")
    return save_figure(fig, out_stem)
