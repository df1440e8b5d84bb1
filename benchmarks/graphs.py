"""kNN graph construction throughput: rootml's batched knn_indices (stored graphs) and ParticleNet's torch kNN (the
graph the model builds in training) against scipy cKDTree per jet.

Run: .venv/bin/python benchmarks/graphs.py [--jets 10000] [--k 16] [--threads 1]
All three run on one core by default (cKDTree and numpy are single-threaded; torch gets --threads).
Prints jets/s of each method and the ratios to the reference, and asserts that the neighbour sets agree
(ties aside: the sorted neighbour distances must match, so a swap between equidistant particles is allowed).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy.spatial import cKDTree

from rootml.models.particlenet import knn
from rootml.represent.graphs import knn_indices

# Jets per torch kNN call: a typical training batch.
TORCH_BATCH = 512


def realistic_jets(n_jets: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(deta, dphi) points (n_jets, n, 2) float32 of one- and two-prong jets inside R=0.8, and their masks."""
    rng = np.random.default_rng(seed)
    counts = np.clip(rng.normal(0.6 * n, 0.2 * n, n_jets).round().astype(int), 5, n)
    mask = np.arange(n)[None, :] < counts[:, None]
    core = rng.normal(0.0, 0.12, (n_jets, n, 2))
    angle = rng.uniform(0, 2 * np.pi, n_jets)
    offset = rng.uniform(0.2, 0.6, n_jets)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=-1)
    second = (rng.random((n_jets, n)) < 0.3) & (rng.random(n_jets) < 0.5)[:, None]
    points = core + second[:, :, None] * offset[:, None, :]
    radius = np.linalg.norm(points, axis=-1, keepdims=True)
    points = np.where(radius > 0.8, points * 0.8 / radius, points)
    return (points * mask[:, :, None]).astype(np.float32), mask


def kdtree_reference(points: np.ndarray, mask: np.ndarray, k: int) -> list[np.ndarray]:
    """Per jet, the (n_real, <=k) neighbour indices from a cKDTree built and queried on its real particles."""
    out = []
    for jet, m in zip(points, mask):
        real = jet[m].astype(np.float64)
        n_query = min(k + 1, len(real))
        _, idx = cKDTree(real).query(real, k=n_query)
        out.append(np.asarray(idx).reshape(len(real), n_query)[:, 1:])
    return out


def model_knn(points: torch.Tensor, mask: torch.Tensor, k: int) -> torch.Tensor:
    """ParticleNet's kNN of weaver-layout points (B, D, N), mask (B, 1, N), with missing neighbours set to self."""
    index, valid = knn(points, mask, k)
    own = torch.arange(points.size(-1)).view(1, -1, 1)
    return torch.where(valid[:, 0].bool() & mask[:, 0, :, None].bool(), index, own)


def run_torch(points: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """The model's kNN over the jets in training-sized batches, weaver layout (B, D, N), back to numpy."""
    x = torch.from_numpy(points).transpose(1, 2).contiguous()
    m = torch.from_numpy(mask)[:, None, :].float()
    with torch.no_grad():
        return torch.cat([model_knn(x[s:s + TORCH_BATCH], m[s:s + TORCH_BATCH], k)
                          for s in range(0, len(x), TORCH_BATCH)]).numpy()


def check_agreement(name: str, got: np.ndarray, reference: list[np.ndarray], points: np.ndarray,
                    mask: np.ndarray, atol: float) -> float:
    """Assert `got` has the reference's neighbour distances per particle; return the fraction of identical sets."""
    same = total = 0
    for b, ref in enumerate(reference):
        n_real, n_found = ref.shape
        real = points[b, mask[b]].astype(np.float64)
        mine = got[b, :n_real, :n_found]
        d_ref = np.linalg.norm(real[ref] - real[:, None, :], axis=-1)
        d_mine = np.linalg.norm(real[mine] - real[:, None, :], axis=-1)
        np.testing.assert_allclose(np.sort(d_mine, axis=1), np.sort(d_ref, axis=1), atol=atol,
                                   err_msg=f"{name}: neighbour distances differ from cKDTree in jet {b}")
        assert (got[b, :n_real, n_found:] == np.arange(n_real)[:, None]).all(), f"{name}: missing slots not self"
        same += int((np.sort(mine, axis=1) == np.sort(ref, axis=1)).all(axis=1).sum())
        total += n_real
    return same / total


def timed(function, *args) -> tuple[object, float]:
    """The function's result and its wall time in seconds."""
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def main() -> None:
    """Benchmark at N = 64 and 128 and print jets/s and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for the model's kNN")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"kNN graphs, k={args.k}, {args.jets} jets, torch {torch.__version__} on CPU "
          f"({torch.get_num_threads()} threads)")
    print(f"{'N':>4} {'mean n':>7} {'cKDTree/jet':>14} {'knn_indices':>14} {'model kNN':>14} "
          f"{'ratio np':>9} {'ratio torch':>12} {'same sets':>10}")
    for n in (64, 128):
        points, mask = realistic_jets(args.jets, n, seed=n)
        reference, t_ref = timed(kdtree_reference, points, mask, args.k)
        mine, t_np = timed(knn_indices, points, mask, args.k)
        model_knn(torch.zeros(2, 2, n), torch.ones(2, 1, n), args.k)  # warm-up: first-call allocations
        theirs, t_torch = timed(run_torch, points, mask, args.k)
        same_np = check_agreement("knn_indices", mine, reference, points, mask, atol=1e-9)
        same_torch = check_agreement("model kNN", theirs, reference, points, mask, atol=1e-5)
        rate = [args.jets / t for t in (t_ref, t_np, t_torch)]
        print(f"{n:>4} {mask.sum(1).mean():>7.1f} {rate[0]:>10.0f} j/s {rate[1]:>10.0f} j/s {rate[2]:>10.0f} j/s "
              f"{rate[1] / rate[0]:>8.2f}x {rate[2] / rate[0]:>11.2f}x {min(same_np, same_torch):>10.6f}")


if __name__ == "__main__":
    main()
