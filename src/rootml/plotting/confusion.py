"""The confusion-matrix figure: fraction of the jets of each true class assigned to each predicted class."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

from rootml.plotting.style import save_figure, use_style

PANEL_INCHES = 1.4  # per class, so that the cell annotations stay legible


def row_normalised_confusion(labels: np.ndarray, predicted: np.ndarray, n_classes: int,
                             weight: np.ndarray | None = None) -> np.ndarray:
    """(n_classes, n_classes) weighted counts divided by each true class's total (rows of absent classes stay 0)."""
    counts = confusion_matrix(labels, predicted, labels=np.arange(n_classes), sample_weight=weight)
    totals = counts.sum(axis=1, keepdims=True)
    # sklearn's normalize="true" would fill a class without jets with NaN and warn; here such a row is 0
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


def plot_confusion(labels: np.ndarray, probabilities: np.ndarray, class_names: Sequence[str],
                   out_stem: str | os.PathLike[str], *, weight: np.ndarray | None = None,
                   title: str | None = None) -> list[Path]:
    """Confusion matrix of the highest-probability class against the true class, normalised per true class."""
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or probabilities.shape != (len(labels), len(class_names)):
        expected = (len(labels), len(class_names))
        raise ValueError(f"probabilities must have shape {expected}, got {probabilities.shape}")
    matrix = row_normalised_confusion(np.asarray(labels), probabilities.argmax(axis=1), len(class_names), weight)
    use_style()
    side = max(6.0, PANEL_INCHES * len(class_names) + 2.0)
    fig = Figure(figsize=(side + 1.5, side), layout="constrained")
    ax = fig.subplots()
    display = ConfusionMatrixDisplay(matrix, display_labels=list(class_names))
    display.plot(ax=ax, cmap="Blues", values_format=".2f", colorbar=False, im_kw={"vmin": 0.0, "vmax": 1.0},
                 text_kw={"fontsize": "small"})
    fig.colorbar(display.im_, ax=ax, label="Fraction of true class")
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.minorticks_off()
    if title is not None:
        ax.set_title(title, fontsize="medium")
    return save_figure(fig, out_stem)
