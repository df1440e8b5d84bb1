"""Per-feature normalization (standard, robust or none), streamed over chunks of the training split."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from rootml.errors import ConfigError, InputError

METHODS = ("standard", "robust", "none")
CONFIG_KEY = "preprocess.normalization"


class FeatureAccumulator:
    """Streaming moments (Chan et al. merge) over every entry, and the rows the caller keeps for quantiles."""

    def __init__(self, names: Sequence[str]) -> None:
        """Start with zero moments for every feature in `names`."""
        self.names = list(names)
        self.count = 0
        self.mean = np.zeros(len(self.names))
        self.m2 = np.zeros(len(self.names))
        self.samples: list[np.ndarray] = []

    def update(self, values: np.ndarray, keep: np.ndarray) -> None:
        """Add rows (n, n_features) of real entries to the moments; the rows where `keep` is True to the sample."""
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
        if keep.any():
            self.samples.append(values[keep].astype(np.float32))

    def std(self) -> np.ndarray:
        """Population standard deviation of each feature."""
        return np.sqrt(self.m2 / max(self.count, 1))


def is_skipped(name: str, skip: Sequence[str]) -> bool:
    """Whether `name` matches one of the glob patterns of preprocess.normalization.skip."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in skip)


def fit_normalization(acc: FeatureAccumulator, method: str, *, skip: Sequence[str] = (), clip: float | None = 5.0,
                      quantiles: tuple[float, float] = (16.0, 84.0), files: Sequence[str] = ()) -> dict[str, Any]:
    """Centre and scale per feature: mean/std, or the median and the wider half of the 16-84% band (weaver auto)."""
    if method not in METHODS:
        raise ConfigError(f"{CONFIG_KEY}.method", f"'{method}' is not one of {METHODS}")
    if acc.count == 0:
        raise InputError("no training entries to fit the normalization on", file=", ".join(files) or None)
    sample = np.concatenate(acc.samples) if acc.samples else np.empty((0, len(acc.names)), dtype=np.float32)
    features: dict[str, dict[str, Any]] = {}
    for i, name in enumerate(acc.names):
        if method == "none" or is_skipped(name, skip):
            features[name] = {"center": 0.0, "scale": 1.0, "normalized": False}
            continue
        if method == "standard" or len(sample) == 0:
            center, scale = float(acc.mean[i]), float(acc.std()[i])
        else:
            lower, center, upper = np.percentile(sample[:, i].astype(np.float64), [quantiles[0], 50.0, quantiles[1]])
            scale = float(max(upper - center, center - lower))
            center = float(center)
            if scale == 0.0:  # a quantile width vanishes for peaked features (e.g. rare flags): fall back to the std
                scale = float(acc.std()[i])
        if not np.isfinite(scale) or scale <= 0.0:
            raise InputError(f"feature '{name}' has zero width in the training split: cannot normalise it "
                             f"(add it to {CONFIG_KEY}.skip)", file=", ".join(files) or None, branch=name)
        features[name] = {"center": center, "scale": scale, "normalized": True}
    return {"method": method, "clip": None if method == "none" else clip, "n_entries": acc.count,
            "features": features}


def apply_normalization(values: np.ndarray, names: Sequence[str], params: Mapping[str, Any],
                        mask: np.ndarray | None = None) -> np.ndarray:
    """Normalise the last axis of `values` with fitted params; masked (padded) entries stay exactly 0."""
    feats = params["features"]
    missing = [n for n in names if n not in feats]
    if missing:
        raise ConfigError(CONFIG_KEY, f"features {missing} were not fitted; refit the normalization")
    center = np.array([feats[n]["center"] for n in names], dtype=np.float32)
    scale = np.array([feats[n]["scale"] for n in names], dtype=np.float32)
    out = (np.asarray(values, dtype=np.float32) - center) / scale
    if params.get("clip"):
        normalized = np.array([feats[n]["normalized"] for n in names])
        out = np.where(normalized, np.clip(out, -params["clip"], params["clip"]), out)
    if mask is not None:
        out = np.where(mask[..., None], out, 0.0)
    return out.astype(np.float32)


def select_features(params: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The fitted parameters restricted to `names` (what one prepared file records as applied)."""
    return {**{k: v for k, v in params.items() if k != "features"},
            "features": {name: params["features"][name] for name in names}}
