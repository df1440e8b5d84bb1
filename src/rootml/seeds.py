"""Deterministic seeds and stable ids derived from names, independent of scheduling."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

import numpy as np

_MASK63 = (1 << 63) - 1


def derive_seed(seed: int, *keys: object, bits: int = 31) -> int:
    """Return a seed in [0, 2**bits) derived from the config seed and any keys (sample, chunk, ...)."""
    text = "/".join([str(seed), *map(str, keys)]).encode()
    value = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")
    return value & ((1 << bits) - 1)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """Mix uint64 values (splitmix64 finaliser): a fast, well-spread integer hash numpy lacks."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x += np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def stable_event_ids(namespace: str, entries: np.ndarray) -> np.ndarray:
    """Return int64 ids for `entries` (event numbers) of a `namespace` (e.g. 'sample/file.root')."""
    base = np.uint64(derive_seed(0, namespace, bits=63))
    with np.errstate(over="ignore"):
        mixed = _splitmix64(np.asarray(entries, dtype=np.uint64) + base)
    return (mixed & np.uint64(_MASK63)).astype(np.int64)


def hash_unit_interval(ids: np.ndarray, salt: int = 0) -> np.ndarray:
    """Map int64 ids to uniform floats in [0, 1), reproducibly (used for splits by event id)."""
    with np.errstate(over="ignore"):
        mixed = _splitmix64(np.asarray(ids).astype(np.uint64) ^ np.uint64(derive_seed(salt, "split", bits=63)))
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53)


@contextlib.contextmanager
def seeded_global_numpy(seed: int) -> Iterator[None]:
    """Seed numpy's legacy global random state for a block and restore it after.

    For libraries that draw from it and take no generator (shap's beeswarm jitters its dots with np.random), so
    that what they make is the same in every run.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
