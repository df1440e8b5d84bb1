"""Train/validation/test split by a hash of the stable event id: independent of file order and jobs."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rootml.errors import ConfigError
from rootml.seeds import hash_unit_interval

SPLITS: tuple[str, ...] = ("train", "val", "test")


def assign_splits(event_ids: np.ndarray, fractions: Mapping[str, float], seed: int) -> np.ndarray:
    """Split index (0 train, 1 val, 2 test) per jet; jets of one event always share a split."""
    missing = [s for s in SPLITS if s not in fractions]
    if missing:
        raise ConfigError("preprocess.splits", f"missing fractions for {missing}")
    values = np.array([float(fractions[s]) for s in SPLITS])
    if np.any(values < 0) or not np.isclose(values.sum(), 1.0):
        raise ConfigError("preprocess.splits", f"fractions must be >= 0 and sum to 1, got {dict(fractions)}")
    edges = np.cumsum(values)[:-1]
    return np.searchsorted(edges, hash_unit_interval(event_ids, seed), side="right").astype(np.int8)
