"""The part of the prepared inputs a model reads: the first `n_particles` elements of each of its sets, a subset of
high-level features.

The datasets of a set are ordered (a jet's particles by decreasing pT), so a model on N elements reads the first N
slots of features, points, vectors and mask of every set it reads. A `features` subset keeps the prepared column
order, so a subset equal to all features is the identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rootml.errors import ConfigError
from rootml.models.specs import SET_INPUTS, set_input_parts


@dataclass(frozen=True)
class InputView:
    """How many elements of each set (None: all) and which high-level features (None: all) a model reads."""

    n_particles: int | None = None
    features: tuple[str, ...] | None = None

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> InputView:
        """The view of a model entry or a model_config.json (keys `n_particles`, `features`)."""
        features = entry.get("features")
        return cls(entry.get("n_particles"), None if features is None else tuple(features))

    def columns(self, names: Sequence[str], key: str) -> np.ndarray | None:
        """Indices of the selected features among the prepared high-level `names` (None: all, no selection)."""
        if self.features is None:
            return None
        unknown = [name for name in self.features if name not in names]
        if unknown:
            raise ConfigError(key, f"feature '{unknown[0]}' is not a prepared high-level feature: {list(names)}")
        return np.array([i for i, name in enumerate(names) if name in self.features], dtype=np.int64)

    def check_particles(self, set_name: str, available: int, key: str) -> None:
        """Raise ConfigError when more elements of set `set_name` are asked for than the prepared data holds."""
        if self.n_particles is not None and self.n_particles > available:
            raise ConfigError(key, f"{self.n_particles} elements asked for, the prepared data holds {available} "
                                   f"(features.sets.{set_name}.max_length)")

    def slice(self, key: str, values: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
        """The part of dataset `key` (rows first) the model reads; other datasets are returned as they are."""
        if set_input_parts(key)[1] in SET_INPUTS and self.n_particles is not None:
            return values[..., :self.n_particles]  # the set's slots are the last axis: (n, C, P), (n, P) or (n, 1, P)
        if key == "highlevel" and columns is not None:
            return values[:, columns]
        return values
