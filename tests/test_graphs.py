"""Graph construction on padded jets: kNN (numpy and torch) against scipy's KD-tree, full graphs, PyG edge lists."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree

from rootml.represent.graphs import edge_index_batch, fully_connected, knn_indices, knn_torch


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
    np.testing.assert_array_equal(knn_torch(torch.from_numpy(points).transpose(1, 2),
                                            torch.from_numpy(mask)[:, None, :].float(), 2)[0].numpy(), got[0])


def test_knn_torch_agrees_with_numpy_in_a_learned_space() -> None:
    points, mask = random_jets(64, 50, seed=2, dims=16)
    expected = knn_indices(points, mask, 16)
    tensor = torch.from_numpy(points).transpose(1, 2).contiguous().requires_grad_(True)
    got = knn_torch(tensor, torch.from_numpy(mask)[:, None, :], 16)
    assert got.dtype == torch.int64 and not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), expected)


def test_k_larger_than_the_jet_fills_with_self() -> None:
    points, mask = random_jets(5, 4, seed=3)
    got = knn_indices(points, mask, 10)
    assert got.shape == (5, 4, 10)
    for b in range(5):
        n_real = int(mask[b].sum())
        for i in range(n_real):
            assert set(got[b, i, : n_real - 1]) == set(range(n_real)) - {i}
            assert (got[b, i, n_real - 1:] == i).all()
    np.testing.assert_array_equal(knn_torch(torch.from_numpy(points).transpose(1, 2),
                                            torch.from_numpy(mask)[:, None, :], 10).numpy(), got)


def test_fully_connected_links_real_pairs_only() -> None:
    mask = np.array([[True, True, True, False], [True, False, False, False], [False] * 4])
    adjacency = fully_connected(mask)
    assert adjacency.shape == (3, 4, 4)
    assert adjacency.sum(axis=(1, 2)).tolist() == [6, 0, 0]
    assert not adjacency[:, np.arange(4), np.arange(4)].any()
    assert not adjacency[0, 3].any() and not adjacency[0, :, 3].any()


def test_edge_index_batch_from_knn_renumbers_real_particles() -> None:
    points, mask = random_jets(30, 12, seed=4)
    mask[:, 1] = False  # a hole inside the jets: node numbering must skip it
    k = 3
    indices = knn_indices(points, mask, k)
    edge_index, batch = edge_index_batch(indices, mask)
    counts = mask.sum(axis=1)
    np.testing.assert_array_equal(batch, np.repeat(np.arange(30), counts))
    assert edge_index.shape == (2, int((counts * np.minimum(k, np.maximum(counts - 1, 0))).sum()))
    assert (edge_index[0] != edge_index[1]).all()
    # Every edge source -> target is target's neighbour, in the same jet, in padded-slot terms.
    slots = np.nonzero(mask)
    jet, slot = slots[0], slots[1]
    src, dst = edge_index
    assert (jet[src] == jet[dst]).all()
    assert all(slot[s] in indices[jet[d], slot[d]] for s, d in zip(src, dst))


def test_edge_index_batch_from_adjacency_counts_ordered_pairs() -> None:
    mask = np.array([[True, False, True, True], [True, True, False, False], [False] * 4])
    edge_index, batch = edge_index_batch(fully_connected(mask), mask)
    np.testing.assert_array_equal(batch, [0, 0, 0, 1, 1])
    pairs = {tuple(e) for e in edge_index.T.tolist()}
    assert pairs == {(1, 0), (2, 0), (0, 1), (2, 1), (0, 2), (1, 2), (4, 3), (3, 4)}


def test_bad_inputs_raise_clear_errors() -> None:
    points, mask = random_jets(3, 5)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        knn_indices(points, mask, 0)
    with pytest.raises(ValueError, match="mask has shape"):
        knn_indices(points, mask[:, :4], 2)
    with pytest.raises(ValueError, match="mask has shape"):
        knn_torch(torch.from_numpy(points).transpose(1, 2), torch.from_numpy(mask), 2)
    with pytest.raises(ValueError, match=r"neighbour indices must lie in \[0, 5\)"):
        edge_index_batch(np.full((3, 5, 2), 5), mask)
