"""The jet-images figure: the average image of each class on a log colour scale, and the difference of two classes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.colors import CenteredNorm, LogNorm
from matplotlib.figure import Figure

from rootml.plotting.style import save_figure, use_style

# Size of one panel (colour bar included) in inches; the figure is one row of panels.
PANEL_INCHES = (6.5, 5.5)
# The log colour scale spans at most this many decades below the brightest average pixel.
LOG_DECADES = 6


def average_images(images: np.ndarray, labels: np.ndarray, n_classes: int) -> dict[int, np.ndarray]:
    """Mean (n_pixels, n_pixels) image of each class index that has jets, keyed by class index."""
    return {c: images[labels == c].mean(axis=0) for c in range(n_classes) if (labels == c).any()}


def plot_average_images(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                        out_stem: str | os.PathLike[str], *, extent: float = 1.2, channel: int = 0) -> list[Path]:
    """Average jet image per class (log scale, eta'/phi' axes over +-extent) plus, for two classes, their difference."""
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 4:
        if not 0 <= channel < images.shape[1]:
            raise ValueError(f"channel {channel} out of range for images with {images.shape[1]} channels")
        images = images[:, channel]
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"images must have shape (n_jets, [n_channels,] n_pixels, n_pixels), got {images.shape}")
    if labels.shape != (len(images),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {len(images)} integer class indices, got shape {labels.shape} {labels.dtype}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must lie in [0, {len(class_names)}) to index class_names {list(class_names)}")
    averages = average_images(images, labels, len(class_names))
    if not averages:
        raise ValueError("no jets to average")

    use_style()
    n_panels = len(averages) + (len(averages) == 2)
    fig = Figure(figsize=(PANEL_INCHES[0] * n_panels, PANEL_INCHES[1]), layout="constrained")
    axes = fig.subplots(1, n_panels, squeeze=False)[0]
    box = (-extent, extent, -extent, extent)
    vmax = max(float(a.max()) for a in averages.values())
    positive = [float(a[a > 0].min()) for a in averages.values() if (a > 0).any()]
    vmin = max(min(positive, default=vmax), vmax * 10.0**-LOG_DECADES)
    # Empty pixels are off the log scale: draw them in the colour of the lowest value instead of blank.
    cmap = matplotlib.colormaps["viridis"]
    cmap = cmap.with_extremes(bad=cmap(0.0), under=cmap(0.0))
    norm = LogNorm(vmin=vmin, vmax=vmax) if vmax > 0 else None
    for ax, (c, average) in zip(axes, averages.items()):
        shown = ax.imshow(average.T, origin="lower", extent=box, cmap=cmap, norm=norm, interpolation="nearest")
        fig.colorbar(shown, ax=ax, label="mean intensity")
        ax.set_title(f"{class_names[c]} ({int((labels == c).sum())} jets)", fontsize="medium")
    if len(averages) == 2:
        (c0, a0), (c1, a1) = averages.items()
        shown = axes[2].imshow((a1 - a0).T, origin="lower", extent=box, cmap="RdBu_r", norm=CenteredNorm(),
                               interpolation="nearest")
        fig.colorbar(shown, ax=axes[2], label="difference")
        axes[2].set_title(f"{class_names[c1]} $-$ {class_names[c0]}", fontsize="medium")
    for ax in axes:
        ax.set_xlabel(r"$\eta'$")
        ax.set_ylabel(r"$\phi'$")
    return save_figure(fig, out_stem)
