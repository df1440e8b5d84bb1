"""Embeddings: PCA recovers a plane, t-SNE and UMAP keep separated blobs apart, the seed fixes the result, and
bounded samples keep every class."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from rootml.unsupervised.clustering import cluster, score_clusters
from rootml.unsupervised.embeddings import bounded_sample, embed

pytestmark = pytest.mark.usefixtures("one_blas_thread")


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """240 jets in three Gaussian blobs in 8-D (features of different scales), and their blob index."""
    x, y = make_blobs(240, n_features=8, centers=3, cluster_std=1.0, center_box=(-8.0, 8.0), random_state=2)
    return x * np.geomspace(1.0, 100.0, 8), y


def test_pca_recovers_a_plane() -> None:
    """Jets on a 2-D plane in 10-D: two components reconstruct the standardised jets, a third one is zero."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 10)) + rng.normal(size=10)
    projected = embed(x, "pca", seed=0, n_components=3)
    assert projected.shape == (200, 3)
    assert projected[:, :2].std(axis=0).min() > 0.5 and projected[:, 2].std() < 1e-8
    standardised = (x - x.mean(axis=0)) / x.std(axis=0)
    coefficients, *_ = np.linalg.lstsq(projected[:, :2], standardised, rcond=None)
    np.testing.assert_allclose(projected[:, :2] @ coefficients, standardised, atol=1e-8)


@pytest.mark.parametrize("method", ["tsne", "umap"])
def test_nonlinear_embeddings_keep_blobs_apart(blobs: tuple[np.ndarray, np.ndarray], method: str) -> None:
    """k-means on the 2-D embedding finds the blobs (ARI > 0.9); the same seed gives the same embedding."""
    x, y = blobs
    embedded = embed(x, method, seed=4)
    assert embedded.shape == (len(x), 2) and np.isfinite(embedded).all()
    assert score_clusters(cluster(embedded, "kmeans", 3, seed=0), y, ["a", "b", "c"]).adjusted_rand > 0.9
    np.testing.assert_array_equal(embed(x, method, seed=4), embedded)


def test_options_and_seed_move_the_points(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """Another perplexity moves the t-SNE points (PCA-initialised: the seed does not), another seed the UMAP ones."""
    x = blobs[0][:90]
    reference = embed(x, "tsne", seed=1, max_iter=300)
    np.testing.assert_array_equal(embed(x, "tsne", seed=2, max_iter=300), reference)
    assert not np.allclose(embed(x, "tsne", seed=1, max_iter=300, perplexity=5.0), reference)
    assert not np.allclose(embed(x, "umap", seed=1, n_epochs=50), embed(x, "umap", seed=2, n_epochs=50))


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_a_handful_of_jets(method: str) -> None:
    """Three jets embed (perplexity and neighbours clipped below the number of jets, UMAP starting from random
    places: too few jets for its spectral start); two jets are refused."""
    x = np.random.default_rng(3).normal(size=(3, 5))
    embedded = embed(x, method, seed=0)
    assert embedded.shape == (3, 2) and np.isfinite(embedded).all()
    with pytest.raises(ValueError, match=f"{method}: needs at least 3 samples"):
        embed(x[:2], method, seed=0)


def test_bad_requests_are_refused() -> None:
    """Unknown methods and non-finite or non-matrix inputs name the problem."""
    x = np.ones((10, 3))
    with pytest.raises(ValueError, match="unknown embedding method 'lle'"):
        embed(x, "lle", seed=0)
    with pytest.raises(ValueError, match="2-D array"):
        embed(np.ones(10), "pca", seed=0)
    with pytest.raises(ValueError, match="1 non-finite"):
        embed(np.r_[x[:9], [[np.nan, 1.0, 1.0]]], "pca", seed=0)


def test_bounded_sample_keeps_every_class() -> None:
    """At most max_rows sorted distinct rows, every class kept, shares close to the classes', fixed by the seed."""
    labels = np.repeat([0, 1, 2, 7], [600, 300, 90, 1])
    chosen = bounded_sample(labels, 100, seed=3)
    assert len(chosen) == 100 and np.all(np.diff(chosen) > 0)
    counts = np.unique(labels[chosen], return_counts=True)
    assert list(counts[0]) == [0, 1, 2, 7]
    np.testing.assert_allclose(counts[1], [60, 30, 9, 1], atol=1)
    np.testing.assert_array_equal(bounded_sample(labels, 100, seed=3), chosen)
    assert not np.array_equal(bounded_sample(labels, 100, seed=4), chosen)
    np.testing.assert_array_equal(bounded_sample(labels[:50], 100, seed=0), np.arange(50))
    assert len(bounded_sample(labels, 4, seed=0)) == 4
    with pytest.raises(ValueError, match="max_rows = 3 cannot keep one row of each of the 4 classes"):
        bounded_sample(labels, 3, seed=0)
