"""kNN graphs on padded jets against scipy's KD-tree, and the model's own kNN (ParticleNet) against them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from rootml.models.particlenet import knn
from rootml.represent.graphs import knn_indices


def random_jets(n_jets: int, n: int, seed: int = 0, dims: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Padded points (n_jets, n, dims) with zeros where masked, and masks with 1..n real particles in front."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, n + 1, n_jets)
    mask = np.arange(n)[None, :] < counts[:, None]
    points = rng.normal(0.0, 0.3, (n_jets, n, dims)) * mask[:, :, None]
    return points, mask


def test_knn_matches_kdtree_per_jet() -> None:
    points, mask = random_jets(200, 40, seed=1)
    k = 7
    got = knn_indices(points, mask, k)
    assert got.shape == (200, 40, k) and got.dtype == np.int64
    for b in range(len(points)):
        real = points[b, mask[b]]
        n_real = len(real)
        tree = cKDTree(real)
        _, idx = tree.query(real, k=min(k + 1, n_real))
        idx = np.asarray(idx).reshape(n_real, -1)[:, 1:]
        n_found = idx.shape[1]
        np.testing.assert_array_equal(got[b, :n_real, :n_found], idx)
        # Missing neighbours (fewer than k+1 real particles) and padded rows hold the particle's own index.
        np.testing.assert_array_equal(got[b, :n_real, n_found:], np.arange(n_real)[:, None].repeat(k - n_found, 1))
        np.testing.assert_array_equal(got[b, n_real:], np.arange(n_real, 40)[:, None].repeat(k, 1))


def test_knn_ignores_padded_particles_wherever_they_sit() -> None:
    # Four real particles on a line at 0, 1, 3, 7 and padded ones at 0.5 and 2 (closer than any real one).
    x = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 7.0])
    mask = np.array([[True, False, True, False, True, True]])
    points = np.stack([x, np.zeros_like(x)], axis=-1)[None]
    got = knn_indices(points, mask, 2)
    np.testing.assert_array_equal(got[0], [[2, 4], [1, 1], [0, 4], [3, 3], [2, 0], [4, 2]])


def test_the_models_knn_agrees_with_the_stored_graph() -> None:
    """ParticleNet builds its graph with its own kNN (torch, in the model's learned space too): same neighbours as
    knn_indices wherever a real neighbour exists, in 2 (deta, dphi), 3 (hits in x, y, z) and 16 dimensions."""
    for dims, seed in ((2, 2), (3, 4), (16, 5)):
        points, mask = random_jets(64, 50, seed=seed, dims=dims)
        expected = knn_indices(points, mask, 16)
        index, valid = knn(torch.from_numpy(points).transpose(1, 2).contiguous(),
                           torch.from_numpy(mask)[:, None, :].double(), 16)
        real = valid[:, 0].bool().numpy() & mask[:, :, None]
        np.testing.assert_array_equal(index.numpy()[real], expected[real])
        assert real.sum() == sum(int(n) * min(16, int(n) - 1) for n in mask.sum(axis=1))


def test_k_larger_than_the_jet_fills_with_self() -> None:
    points, mask = random_jets(5, 4, seed=3)
    got = knn_indices(points, mask, 10)
    assert got.shape == (5, 4, 10)
    for b in range(5):
        n_real = int(mask[b].sum())
        for i in range(n_real):
            assert set(got[b, i, : n_real - 1]) == set(range(n_real)) - {i}
            assert (got[b, i, n_real - 1:] == i).all()


def test_bad_inputs_raise_clear_errors() -> None:
    points, mask = random_jets(3, 5)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        knn_indices(points, mask, 0)
    with pytest.raises(ValueError, match="mask has shape"):
        knn_indices(points, mask[:, :4], 2)
