"""Clustering jets (k-means, Gaussian mixture, Ward agglomerative, DBSCAN), choosing the number of clusters, and
scoring clusters against the true classes.

The rows of x are clustered as given: standardise features of different units first (embed does so before it
embeds). The algorithms and scores are scikit-learn's; each is deterministic given the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

METHODS = ("kmeans", "gmm", "agglomerative", "dbscan")
NOISE = -1  # DBSCAN's label of jets in no cluster
KMEANS_INITS = 10  # k-means restarts from different centroids; the lowest inertia wins
GMM_INITS = 3  # Gaussian-mixture restarts; the highest likelihood wins
SILHOUETTE_ROWS = 2000  # silhouette is O(n^2): scored on a random sample of this many jets
# DBSCAN's eps: this quantile of the distances of each jet to its min_samples-th nearest neighbour (itself included,
# as DBSCAN counts it), i.e. the radius that makes this fraction of the jets core points, so that at most the rest
# is noise. The median (0.5) leaves a third of the jets of well-separated 2-D blobs as noise in ~20 fragments; 0.95
# finds the blobs of 2-D embeddings and of raw features alike.
DBSCAN_EPS_QUANTILE = 0.95


def _as_matrix(x: np.ndarray, what: str) -> np.ndarray:
    """x as a finite float 2-D array, or a ValueError naming `what` needs it."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{what}: x must be a 2-D array (jets, features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{what}: x has {int((~np.isfinite(x)).sum())} non-finite values")
    return x


def dbscan_eps(x: np.ndarray, min_samples: int) -> float:
    """k-distance heuristic for DBSCAN's eps: the DBSCAN_EPS_QUANTILE quantile of the min_samples-neighbour distance."""
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(x).kneighbors(x)
    eps = float(np.quantile(distances[:, -1], DBSCAN_EPS_QUANTILE))
    return eps if eps > 0 else float(np.finfo(np.float64).eps)  # duplicated jets: any positive radius


def cluster(x: np.ndarray, method: str, n_clusters: int, *, seed: int, min_samples: int | None = None,
            eps: float | None = None) -> np.ndarray:
    """Cluster label (0..K-1) of each row of x by "kmeans", "gmm", "agglomerative" (Ward) or "dbscan".

    DBSCAN ignores n_clusters: it finds its own number, with min_samples (default: twice the dimension, at most
    n - 1) and eps (default: dbscan_eps); jets in no cluster keep the label NOISE (-1). Ward's memory grows as n^2.
    """
    if method not in METHODS:
        raise ValueError(f"unknown clustering method '{method}'; known: {list(METHODS)}")
    x = _as_matrix(x, method)
    if method == "dbscan":
        min_samples = min(min_samples or 2 * x.shape[1], len(x) - 1)
        if min_samples < 1:
            raise ValueError(f"dbscan: needs at least 2 jets, got {len(x)}")
        return DBSCAN(eps=eps or dbscan_eps(x, min_samples), min_samples=min_samples).fit_predict(x)
    if not 1 <= n_clusters <= len(x):
        raise ValueError(f"{method}: n_clusters must be between 1 and the {len(x)} jets, got {n_clusters}")
    if method == "kmeans":
        return KMeans(n_clusters, n_init=KMEANS_INITS, random_state=seed).fit_predict(x)
    if method == "gmm":
        return GaussianMixture(n_clusters, n_init=GMM_INITS, random_state=seed).fit_predict(x)
    return AgglomerativeClustering(n_clusters, linkage="ward").fit_predict(x)


def knee(k_values: Sequence[int], inertia: Sequence[float]) -> int:
    """The elbow of a decreasing inertia curve: the k farthest below the chord from its first to its last point.

    Written here because no library among rootml's dependencies has a knee finder (kneed is not one); both axes are
    scaled to [0, 1] first so that the distance does not depend on the units of the inertia.
    """
    k = np.asarray(k_values, dtype=np.float64)
    y = np.asarray(inertia, dtype=np.float64)
    k_unit = (k - k[0]) / (k[-1] - k[0])
    span = y[0] - y[-1]
    y_unit = (y - y[-1]) / span if span > 0 else np.zeros_like(y)
    below_chord = (1.0 - k_unit) - y_unit  # the chord runs from (0, 1) to (1, 0); distance up to a constant factor
    return int(k_values[int(np.argmax(below_chord))])


@dataclass(frozen=True)
class ModelSelection:
    """Per number of clusters k: k-means inertia, silhouette score (NaN for k = 1) and GMM BIC, and the k each
    criterion chooses (best: "elbow" the knee of the inertia, "silhouette" its maximum, "bic" its minimum)."""

    k_values: list[int]
    inertia: list[float]
    silhouette: list[float]
    bic: list[float]
    best: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (NaN silhouettes as null)."""
        return {"k_values": self.k_values, "inertia": self.inertia,
                "silhouette": [None if np.isnan(s) else s for s in self.silhouette], "bic": self.bic,
                "best": self.best}


def choose_n_clusters(x: np.ndarray, k_values: Sequence[int], *, seed: int,
                      silhouette_rows: int = SILHOUETTE_ROWS) -> ModelSelection:
    """Score each k of k_values (at least 3 distinct, each >= 1) by k-means inertia, silhouette and GMM BIC.

    The silhouette of each k-means clustering is computed on a random sample of silhouette_rows jets.
    """
    x = _as_matrix(x, "choose_n_clusters")
    ks = sorted({int(k) for k in k_values})
    if len(ks) < 3 or ks[0] < 1 or ks[-1] >= len(x):
        raise ValueError(f"choose_n_clusters: k_values must hold at least 3 distinct values between 1 and "
                         f"{len(x) - 1} (the number of jets - 1), got {list(k_values)}")
    inertia, silhouette, bic = [], [], []
    for k in ks:
        kmeans = KMeans(k, n_init=KMEANS_INITS, random_state=seed).fit(x)
        inertia.append(float(kmeans.inertia_))
        silhouette.append(float("nan") if k == 1 else float(silhouette_score(
            x, kmeans.labels_, sample_size=min(silhouette_rows, len(x)), random_state=seed)))
        bic.append(float(GaussianMixture(k, n_init=GMM_INITS, random_state=seed).fit(x).bic(x)))
    best = {"elbow": knee(ks, inertia), "silhouette": ks[int(np.nanargmax(silhouette))],
            "bic": ks[int(np.argmin(bic))]}
    return ModelSelection(ks, inertia, silhouette, bic, best)


@dataclass(frozen=True)
class ClusterScores:
    """How well clusters match the true classes: adjusted Rand index and normalised mutual information (DBSCAN's
    noise counts as one more cluster in both), purity (share of each cluster's jets in its most common class;
    overall: over the jets in clusters, noise left out), the share of noise, and the cluster-vs-class counts."""

    adjusted_rand: float
    normalized_mutual_info: float
    purity: float
    cluster_purity: dict[str, float]
    noise_fraction: float
    contingency: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (purity null when every jet is noise); contingency as {cluster row: {class: count}}."""
        return {"adjusted_rand_index": self.adjusted_rand, "normalized_mutual_info": self.normalized_mutual_info,
                "purity": None if np.isnan(self.purity) else self.purity, "cluster_purity": self.cluster_purity,
                "noise_fraction": self.noise_fraction,
                "contingency": {row: {col: int(count) for col, count in counts.items()}
                                for row, counts in self.contingency.iterrows()}}


def contingency_table(clusters: np.ndarray, truth: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Jets per cluster (rows "cluster 0", ..., then "noise" for label -1) and true class (columns class_names)."""
    ids = np.unique(clusters)
    if ids.size and ids[0] < NOISE:
        raise ValueError(f"cluster labels must be >= {NOISE} (noise), got {int(ids[0])}")
    counts = np.zeros((len(ids), len(class_names)), dtype=np.int64)
    np.add.at(counts, (np.searchsorted(ids, clusters), truth), 1)
    rows = [f"cluster {i}" for i in ids if i != NOISE]
    order = [index for index, i in enumerate(ids) if i != NOISE] + [index for index, i in enumerate(ids) if i == NOISE]
    return pd.DataFrame(counts[order], index=rows + ["noise"] * (NOISE in ids), columns=list(class_names))


def score_clusters(clusters: np.ndarray, truth: np.ndarray, class_names: list[str]) -> ClusterScores:
    """Scores of cluster labels (noise -1) against true class indices into class_names."""
    clusters, truth = np.asarray(clusters).astype(np.int64), np.asarray(truth)
    if clusters.shape != truth.shape or clusters.ndim != 1:
        raise ValueError(f"clusters {clusters.shape} and truth {truth.shape} must be 1-D arrays of one length")
    if len(truth) == 0:
        raise ValueError("no jets to score")
    truth = truth.astype(np.int64)
    if truth.min() < 0 or truth.max() >= len(class_names):
        raise ValueError(f"true labels must index the {len(class_names)} class_names {list(class_names)}, "
                         f"got values from {int(truth.min())} to {int(truth.max())}")
    table = contingency_table(clusters, truth, class_names)
    clustered = table.drop(index="noise", errors="ignore")
    sizes = clustered.sum(axis=1)
    cluster_purity = {row: float(clustered.loc[row].max() / sizes[row]) for row in clustered.index}
    n_clustered = int(sizes.sum())
    purity = float(clustered.max(axis=1).sum() / n_clustered) if n_clustered else float("nan")
    return ClusterScores(float(adjusted_rand_score(truth, clusters)),
                         float(normalized_mutual_info_score(truth, clusters)), purity, cluster_purity,
                         float(np.mean(clusters == NOISE)), table)
