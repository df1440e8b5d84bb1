"""Per-feature normalization (standard or robust), streamed over chunks of the training split."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rootml.errors import ConfigError, InputError

METHODS = ("standard", "robust")


class FeatureAccumulator:
    """Streaming moments (Chan et al. merge) and a bounded subsample for quantiles, for one feature group."""

    def __init__(self, names: Sequence[str], max_samples: int = 200_000) -> None:
        """Start with zero moments for every feature in `names`."""
        self.names = list(names)
        self.max_samples = max_samples
        self.count = 0
        self.mean = np.zeros(len(self.names))
        self.m2 = np.zeros(len(self.names))
        self.samples: list[np.ndarray] = []
        self._kept = 0

    def update(self, values: np.ndarray, keep_fraction: float, rng: np.random.Generator) -> None:
        """Add rows (n, n_features) of real entries: exact moments, a random subsample for quantiles."""
        values = np.asarray(values, dtype=np.float64)
        n = len(values)
        if n == 0:
            return
        batch_mean = values.mean(axis=0)
        batch_m2 = ((values - batch_mean) ** 2).sum(axis=0)
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * n / total
        self.m2 = self.m2 + batch_m2 + delta**2 * self.count * n / total
        self.count = total
        if self._kept < self.max_samples:
            keep = values[rng.random(n) < keep_fraction][: self.max_samples - self._kept]
            self.samples.append(keep.astype(np.float32))
            self._kept += len(keep)

    def std(self) -> np.ndarray:
        """Population standard deviation of each feature."""
        return np.sqrt(self.m2 / max(self.count, 1))


def fit_normalization(acc: FeatureAccumulator, method: str, *, skip: Sequence[str] = (), clip: float = 5.0,
                      quantiles: tuple[float, float] = (16.0, 84.0), files: Sequence[str] = ()) -> dict[str, Any]:
    """Centre and scale per feature: mean/std, or median and half the 16-84% width as in weaver-core's auto mode."""
    if method not in METHODS:
        raise ConfigError("preprocess.normalization.method", f"'{method}' is not one of {METHODS}")
    if acc.count == 0:
        raise InputError("no training entries to fit the normalization on", file=", ".join(files) or None)
    sample = np.concatenate(acc.samples) if acc.samples else np.empty((0, len(acc.names)))
    features: dict[str, dict[str, float]] = {}
    for i, name in enumerate(acc.names):
        if any(fnmatch.fnmatch(name, pattern) for pattern in skip):
            features[name] = {"center": 0.0, "scale": 1.0, "normalized": False}
            continue
        if method == "standard" or len(sample) == 0:
            center, scale = float(acc.mean[i]), float(acc.std()[i])
        else:
            lower, center, upper = np.percentile(sample[:, i], [quantiles[0], 50.0, quantiles[1]])
            scale = float(max(upper - center, center - lower))
            center = float(center)
            if scale == 0.0:  # a quantile width can vanish for peaked features: fall back to the std
                scale = float(acc.std()[i])
        if not np.isfinite(scale) or scale <= 0.0:
            raise InputError(f"feature '{name}' has zero width in the training split: cannot normalise it",
                             file=", ".join(files) or None, branch=name)
        features[name] = {"center": center, "scale": scale, "normalized": True}
    return {"method": method, "clip": clip if method == "robust" else None, "n_entries": acc.count,
            "features": features}


def apply_normalization(values: np.ndarray, names: Sequence[str], params: Mapping[str, Any],
                        mask: np.ndarray | None = None) -> np.ndarray:
    """Normalise the last axis of `values` with fitted params; masked (padded) entries stay exactly 0."""
    feats = params["features"]
    missing = [n for n in names if n not in feats]
    if missing:
        raise ConfigError("preprocess.normalization", f"features {missing} were not fitted; refit the normalization")
    center = np.array([feats[n]["center"] for n in names], dtype=np.float32)
    scale = np.array([feats[n]["scale"] for n in names], dtype=np.float32)
    out = (np.asarray(values, dtype=np.float32) - center) / scale
    if params.get("clip"):
        normalized = np.array([feats[n]["normalized"] for n in names])
        out = np.where(normalized, np.clip(out, -params["clip"], params["clip"]), out)
    if mask is not None:
        out = np.where(mask[..., None], out, 0.0)
    return out.astype(np.float32)
