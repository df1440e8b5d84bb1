"""Clustering jets: well-separated blobs are found by every method and every criterion picks their number; random
clusters score zero; purity, contingency and the knee rule by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from rootml.unsupervised.clustering import METHODS, choose_n_clusters, cluster, knee, score_clusters

pytestmark = pytest.mark.usefixtures("one_blas_thread")

CENTRES = np.array([[0.0, 0.0, 0.0, 0.0], [10.0, 0.0, 0.0, 0.0], [0.0, 10.0, 0.0, 5.0]])
CLASSES = ["g", "q", "t"]


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """300 jets in three unit-width Gaussian blobs 10 apart in 4-D, and their blob index."""
    x, y = make_blobs(300, centers=CENTRES, cluster_std=1.0, random_state=3)
    return x, y


@pytest.mark.parametrize("method", METHODS)
def test_every_method_finds_separated_blobs(blobs: tuple[np.ndarray, np.ndarray], method: str) -> None:
    """ARI > 0.95 against the blobs; the same seed gives the same labels; DBSCAN finds 3 clusters, little noise."""
    x, y = blobs
    labels = cluster(x, method, 3, seed=5)
    scores = score_clusters(labels, y, CLASSES)
    assert scores.adjusted_rand > 0.95 and scores.normalized_mutual_info > 0.9 and scores.purity > 0.97
    np.testing.assert_array_equal(cluster(x, method, 3, seed=5), labels)
    assert set(np.unique(labels)) - {-1} == {0, 1, 2}
    if method == "dbscan":
        assert scores.noise_fraction < 0.05


def test_dbscan_marks_far_outliers_as_noise(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """Two jets 100 away from every blob are noise (-1); the blobs stay clustered."""
    x, y = blobs
    outliers = np.array([[100.0, 0.0, 0.0, 0.0], [0.0, -100.0, 0.0, 0.0]])
    labels = cluster(np.vstack([x, outliers]), "dbscan", 0, seed=0)
    assert list(labels[-2:]) == [-1, -1]
    assert score_clusters(labels[:-2], y, CLASSES).adjusted_rand > 0.95


def test_choose_n_clusters_picks_three(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """Elbow, silhouette and BIC all pick k = 3; inertia falls with k; k = 1 has no silhouette; JSON-ready."""
    selection = choose_n_clusters(blobs[0], range(1, 8), seed=0, silhouette_rows=200)
    assert selection.best == {"elbow": 3, "silhouette": 3, "bic": 3}
    assert selection.k_values == list(range(1, 8))
    assert np.all(np.diff(selection.inertia) < 0)
    assert np.isnan(selection.silhouette[0]) and selection.silhouette[2] > 0.7
    assert json.loads(json.dumps(selection.to_dict()))["silhouette"][0] is None
    with pytest.raises(ValueError, match="at least 3 distinct"):
        choose_n_clusters(blobs[0], [2, 3], seed=0)


def test_knee_by_hand() -> None:
    """The knee of a sharp elbow is its corner, whatever the inertia's units; a straight line gives its first k."""
    assert knee([1, 2, 3, 4, 5], [100.0, 20.0, 10.0, 8.0, 7.0]) == 2
    assert knee([1, 2, 3, 4, 5], [1e6, 8e5, 1.5e5, 1.2e5, 1e5]) == 3
    assert knee([2, 4, 6], [3.0, 2.0, 1.0]) == 2


def test_random_clusters_score_zero() -> None:
    """Cluster labels drawn independently of the truth give |ARI| < 0.05 and NMI near zero."""
    rng = np.random.default_rng(11)
    truth, clusters = rng.integers(0, 3, 3000), rng.integers(0, 4, 3000)
    scores = score_clusters(clusters, truth, CLASSES)
    assert abs(scores.adjusted_rand) < 0.05 and scores.normalized_mutual_info < 0.05
    assert scores.purity < 0.45  # about the largest class's share, 1/3


def test_purity_and_contingency_by_hand() -> None:
    """Counts per cluster and class, noise last; purity per cluster and over the clustered jets; total == n."""
    clusters = np.array([1, 0, 0, 0, 1, -1, 1])
    truth = np.array([1, 0, 0, 1, 1, 2, 2])
    scores = score_clusters(clusters, truth, CLASSES)
    assert list(scores.contingency.index) == ["cluster 0", "cluster 1", "noise"]
    assert list(scores.contingency.columns) == CLASSES
    np.testing.assert_array_equal(scores.contingency.to_numpy(), [[2, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert scores.contingency.to_numpy().sum() == len(clusters)
    assert scores.cluster_purity == pytest.approx({"cluster 0": 2 / 3, "cluster 1": 2 / 3})
    assert scores.purity == pytest.approx(4 / 6)
    assert scores.noise_fraction == pytest.approx(1 / 7)
    document = json.loads(json.dumps(scores.to_dict()))
    assert document["contingency"]["noise"] == {"g": 0, "q": 0, "t": 1}
    assert document["purity"] == pytest.approx(4 / 6)


def test_errors_name_the_problem(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """Unknown method, too many clusters, truth outside the classes, mismatched lengths."""
    x, y = blobs
    with pytest.raises(ValueError, match="unknown clustering method 'spectral'"):
        cluster(x, "spectral", 3, seed=0)
    with pytest.raises(ValueError, match="kmeans: n_clusters"):
        cluster(x[:5], "kmeans", 6, seed=0)
    with pytest.raises(ValueError, match="index the 2 class_names"):
        score_clusters(np.zeros(3, dtype=int), np.array([0, 1, 2]), ["g", "q"])
    with pytest.raises(ValueError, match="one length"):
        score_clusters(np.zeros(3, dtype=int), np.zeros(4, dtype=int), CLASSES)
