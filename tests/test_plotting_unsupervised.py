"""Unsupervised figures: embeddings, the choice of the number of clusters and the cluster-vs-class heat map are
written as PDF and PNG, render the same inputs identically and change when their inputs change."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from matplotlib.testing.compare import compare_images
from sklearn.datasets import make_blobs

from rootml.plotting.unsupervised import plot_contingency, plot_embeddings, plot_model_selection
from rootml.unsupervised.clustering import ModelSelection, choose_n_clusters, cluster, score_clusters
from rootml.unsupervised.embeddings import embed

pytestmark = pytest.mark.usefixtures("one_blas_thread")

CLASSES = ["QCD", "W", "top"]


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """150 jets in three blobs in 5-D and their class."""
    return make_blobs(150, n_features=5, centers=3, random_state=1)


def assert_written_and_sensitive(first: list[Path], second: list[Path], changed: list[Path]) -> None:
    """PDF and PNG of each figure, non-trivial; same inputs give the same pixels, changed inputs other pixels."""
    assert [p.suffix for p in first] == [".pdf", ".png"] and all(p.stat().st_size > 1000 for p in first + changed)
    assert compare_images(str(first[1]), str(second[1]), tol=0) is None
    assert compare_images(str(first[1]), str(changed[1]), tol=0) is not None


def test_embedding_figure(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """One panel per method; moving one class's points changes the figure; bad shapes and labels are refused."""
    x, y = blobs
    embeddings = {"pca": embed(x, "pca", seed=0), "other": embed(x[:, ::-1], "pca", seed=0)}
    first = plot_embeddings(embeddings, y, CLASSES, tmp_path / "first", title="test jets")
    second = plot_embeddings(embeddings, y, CLASSES, tmp_path / "second", title="test jets")
    moved = {**embeddings, "pca": embeddings["pca"] + 3.0 * (y == 2)[:, None]}
    assert_written_and_sensitive(first, second, plot_embeddings(moved, y, CLASSES, tmp_path / "changed",
                                                                title="test jets"))
    with pytest.raises(ValueError, match=r"embedding 'pca' must have shape \(150, >=2\)"):
        plot_embeddings({"pca": x[:, :1]}, y, CLASSES, tmp_path / "bad")
    with pytest.raises(ValueError, match="index the 2 class_names"):
        plot_embeddings(embeddings, y, CLASSES[:2], tmp_path / "bad")


def test_model_selection_figure(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """Inertia, silhouette and BIC curves with the chosen k marked; another chosen k changes the figure."""
    selection = choose_n_clusters(blobs[0], range(1, 6), seed=0)
    first = plot_model_selection(selection, tmp_path / "first")
    second = plot_model_selection(selection, tmp_path / "second")
    other: ModelSelection = dataclasses.replace(selection, best={**selection.best, "bic": 5})
    assert_written_and_sensitive(first, second, plot_model_selection(other, tmp_path / "changed"))


def test_contingency_figure(tmp_path: Path, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """Cluster-vs-class counts (with a noise row); other counts change the figure; an empty table is refused."""
    x, y = blobs
    clusters = cluster(x, "kmeans", 3, seed=0)
    clusters[:5] = -1
    table = score_clusters(clusters, y, CLASSES).contingency
    first = plot_contingency(table, tmp_path / "first", title="k-means")
    second = plot_contingency(table, tmp_path / "second", title="k-means")
    changed = table.copy()
    changed.iloc[0, 0] += 40
    assert_written_and_sensitive(first, second, plot_contingency(changed, tmp_path / "changed", title="k-means"))
    with pytest.raises(ValueError, match="contingency table is empty"):
        plot_contingency(table.iloc[:0], tmp_path / "bad")
