"""Figures of the unsupervised studies: embeddings coloured by true class, the choice of the number of clusters, and
the cluster-vs-class table as a heat map."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rootml.plotting.style import save_figure, use_style
from rootml.unsupervised.clustering import ModelSelection

PANEL_INCHES = 6.0
MARKER_SIZE = 4.0
DRAW_ORDER_SEED = 0  # jets are drawn in one fixed random order, so no class systematically hides another
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
CRITERIA = {  # ModelSelection field -> (criterion in ModelSelection.best, axis label, how it chooses)
    "inertia": ("elbow", "k-means inertia", "elbow"), "silhouette": ("silhouette", "Silhouette score", "maximum"),
    "bic": ("bic", "Gaussian-mixture BIC", "minimum"),
}


def cycle_colors(n: int) -> list[str]:
    """n colours from the style's colour cycle (repeating when there are more classes than colours)."""
    cycle = rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[index % len(cycle)] for index in range(n)]


def embedding_figure(embeddings: Mapping[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str], *,
                     title: str | None = None) -> Figure:
    """One panel per method (name -> (n, >=2) embedding): the first two components, each jet coloured by its class."""
    labels = np.asarray(labels)
    if not embeddings:
        raise ValueError("no embeddings to plot")
    for method, points in embeddings.items():
        if np.ndim(points) != 2 or np.shape(points)[1] < 2 or len(points) != len(labels):
            raise ValueError(f"embedding '{method}' must have shape ({len(labels)}, >=2), got {np.shape(points)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise ValueError(f"labels must index the {len(class_names)} class_names {list(class_names)}")
    use_style()
    colors = np.array(cycle_colors(len(class_names)))
    order = np.random.default_rng(DRAW_ORDER_SEED).permutation(len(labels))
    fig = Figure(figsize=(PANEL_INCHES * len(embeddings), PANEL_INCHES + 0.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(embeddings)))
    for ax, (method, points) in zip(axes, embeddings.items()):
        points = np.asarray(points)[order]
        ax.scatter(points[:, 0], points[:, 1], s=MARKER_SIZE, c=colors[labels[order]], alpha=0.7, linewidths=0,
                   rasterized=True)  # thousands of dots: pixels in the PDF too
        name = METHOD_LABELS.get(method, method)
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
        ax.set_title(name, fontsize="medium")
    handles = [Line2D([], [], linestyle="", marker="o", color=color, label=name)
               for name, color in zip(class_names, colors)]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(class_names), 6), fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def plot_embeddings(embeddings: Mapping[str, np.ndarray], labels: np.ndarray, class_names: Sequence[str],
                    out_stem: str | os.PathLike[str], *, title: str | None = None) -> list[Path]:
    """Save embedding_figure as out_stem.{pdf,png}."""
    return save_figure(embedding_figure(embeddings, labels, class_names, title=title), out_stem)


def plot_model_selection(selection: ModelSelection, out_stem: str | os.PathLike[str], *,
                         title: str | None = None) -> list[Path]:
    """k-means inertia, silhouette and GMM BIC against the number of clusters k, each with its chosen k marked."""
    use_style()
    fig = Figure(figsize=(3 * PANEL_INCHES, PANEL_INCHES), layout="constrained")
    for ax, (field, (criterion, label, rule)) in zip(fig.subplots(1, 3), CRITERIA.items()):
        values = np.asarray(getattr(selection, field), dtype=np.float64)
        ax.plot(selection.k_values, values, marker="o", color="tab:blue")
        chosen = selection.best[criterion]
        ax.axvline(chosen, color="tab:red", linestyle="--", linewidth=1.5, label=f"{rule}: k = {chosen}")
        ax.plot([chosen], [values[selection.k_values.index(chosen)]], marker="*", markersize=16, color="tab:red")
        ax.set_xlabel("Number of clusters k")
        ax.set_ylabel(label)
        ax.set_xticks(selection.k_values)
        ax.minorticks_off()
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title, fontsize="medium")
    return save_figure(fig, out_stem)


def plot_contingency(contingency: pd.DataFrame, out_stem: str | os.PathLike[str], *,
                     title: str | None = None) -> list[Path]:
    """Heat map of jets per cluster (rows) and true class (columns), coloured by the fraction of the cluster's jets
    in each class and annotated with the counts."""
    if contingency.empty:
        raise ValueError("the contingency table is empty: no clusters or no classes")
    counts = contingency.to_numpy(dtype=np.int64)
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    n_rows, n_cols = counts.shape
    use_style()
    fig = Figure(figsize=(max(9.0, 1.6 * n_cols + 4.0), max(7.0, 0.7 * n_rows + 3.0)), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    for (row, col), count in np.ndenumerate(counts):
        ax.text(col, row, str(count), ha="center", va="center", fontsize="small",
                color="white" if fractions[row, col] > 0.5 else "black")
    fig.colorbar(image, ax=ax, label="Fraction of the cluster")
    ax.set_xticks(range(n_cols), [str(name) for name in contingency.columns])
    ax.set_yticks(range(n_rows), [str(name) for name in contingency.index])
    ax.set_xlabel("True class")
    ax.set_ylabel("Cluster")
    ax.minorticks_off()
    if title:
        ax.set_title(title, fontsize="medium")
    return save_figure(fig, out_stem)
