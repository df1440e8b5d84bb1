"""Two-dimensional (or n_components) embeddings of jets with PCA, t-SNE or UMAP, and bounded class-stratified samples.

Every method first standardises each input column (scikit-learn StandardScaler: zero mean, unit variance), so that
features in GeV and dimensionless ones weigh alike; a constant column stays zero. The methods are those of
scikit-learn (PCA, TSNE) and umap-learn (UMAP), deterministic given the seed (UMAP then runs single-threaded).
t-SNE and UMAP scale worse than linearly with the number of jets: embed a bounded_sample of a large split.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.preprocessing import StandardScaler

MIN_SAMPLES = 3  # below this t-SNE's perplexity and UMAP's neighbourhood have nothing to work with
TSNE_PERPLEXITY = 30.0  # scikit-learn's default, clipped below the number of jets
UMAP_NEIGHBOURS = 15  # umap-learn's default, clipped below the number of jets


def _pca(x: np.ndarray, seed: int, n_components: int, options: dict[str, Any]) -> np.ndarray:
    """Projection on the leading principal components."""
    return PCA(n_components=n_components, random_state=seed, **options).fit_transform(x)


def _tsne(x: np.ndarray, seed: int, n_components: int, options: dict[str, Any]) -> np.ndarray:
    """t-SNE with its perplexity clipped below the number of jets (scikit-learn requires perplexity < n_samples).

    Initialised from PCA (more stable global layout than random starts), so the seed does not change the result.
    """
    perplexity = min(float(options.pop("perplexity", TSNE_PERPLEXITY)), len(x) - 1.0)
    tsne = TSNE(n_components=n_components, perplexity=perplexity, random_state=seed, init="pca", **options)
    return tsne.fit_transform(x)


def _umap(x: np.ndarray, seed: int, n_components: int, options: dict[str, Any]) -> np.ndarray:
    """UMAP with n_neighbors clipped below the number of jets; random_state makes it single-threaded."""
    import umap  # on use: umap-learn imports numba, which takes seconds

    n_neighbors = min(int(options.pop("n_neighbors", UMAP_NEIGHBOURS)), len(x) - 1)
    # the spectral start needs n_components + 1 eigenvectors of the jets' graph: fewer jets start from random places
    options.setdefault("init", "spectral" if len(x) > n_components + 1 else "random")
    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, random_state=seed, n_jobs=1, **options)
    return reducer.fit_transform(x)


EMBEDDERS: dict[str, Callable[[np.ndarray, int, int, dict[str, Any]], np.ndarray]] = {
    "pca": _pca, "tsne": _tsne, "umap": _umap,
}


def embed(x: np.ndarray, method: str, *, seed: int, n_components: int = 2, **options: Any) -> np.ndarray:
    """Embedding (n, n_components) of the standardised rows of x (n, d) by `method`: "pca", "tsne" or "umap".

    options go to the method's estimator (e.g. perplexity=50 for t-SNE, n_neighbors=30 or min_dist=0.1 for UMAP);
    the same seed gives the same embedding (t-SNE starts from PCA: its result does not depend on the seed).
    """
    if method not in EMBEDDERS:
        raise ValueError(f"unknown embedding method '{method}'; known: {list(EMBEDDERS)}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{method}: x must be a 2-D array (jets, features), got shape {x.shape}")
    if len(x) < MIN_SAMPLES:
        raise ValueError(f"{method}: needs at least {MIN_SAMPLES} samples to embed, got {len(x)}")
    if not np.isfinite(x).all():
        raise ValueError(f"{method}: x has {int((~np.isfinite(x)).sum())} non-finite values")
    scaled = StandardScaler().fit_transform(x)
    return np.asarray(EMBEDDERS[method](scaled, seed, n_components, dict(options)), dtype=np.float64)


def bounded_sample(labels: np.ndarray, max_rows: int, seed: int) -> np.ndarray:
    """Sorted indices of a class-stratified random subsample of at most max_rows rows that keeps every class.

    Each class gets its share of max_rows (at least one row), the remainder going to the largest fractional shares;
    all rows when there are no more than max_rows.
    """
    labels = np.asarray(labels)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    if max_rows < len(classes):
        raise ValueError(f"max_rows = {max_rows} cannot keep one row of each of the {len(classes)} classes")
    if len(labels) <= max_rows:
        return np.arange(len(labels))
    exact = max_rows * counts / len(labels)
    quota = np.clip(np.floor(exact).astype(np.int64), 1, counts)
    while quota.sum() > max_rows:  # the one-row minimum of small classes is taken from the largest quotas
        quota[np.argmax(quota)] -= 1
    order = np.argsort(quota - exact, kind="stable")  # largest fractional remainder first
    while quota.sum() < max_rows:  # ends: the classes hold more rows (len(labels)) than max_rows
        for index in order:
            if quota.sum() < max_rows and quota[index] < counts[index]:
                quota[index] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(inverse == index), size=int(n), replace=False) for index, n in
              enumerate(quota)]
    return np.sort(np.concatenate(chosen))
