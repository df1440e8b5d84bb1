"""Class balancing and kinematic (pT, eta) flattening with 2D histogram weights fitted on train."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rootml.errors import ConfigError

METHODS = ("none", "flat", "reference")
CONFIG_KEY = "preprocess.reweighting"


def histogram_edges(minima: Sequence[float], maxima: Sequence[float], bins: Sequence[int]) -> list[np.ndarray]:
    """Regular bin edges spanning the observed range of each reweighting variable."""
    return [np.linspace(lo, hi + 1e-6 * max(1.0, abs(hi)), n + 1) for lo, hi, n in zip(minima, maxima, bins)]


def fill_histogram(values: Sequence[np.ndarray], labels: np.ndarray, weights: np.ndarray,
                   edges: Sequence[np.ndarray], n_classes: int) -> np.ndarray:
    """Weighted counts per class and bin, shape (n_classes, *bins); values outside the edges are clamped. Without
    variables, the weighted counts per class."""
    if not edges:
        return np.bincount(labels, weights, minlength=n_classes).astype(np.float64)
    counts = np.zeros((n_classes, *[len(e) - 1 for e in edges]))
    clamped = [np.clip(v, e[0], np.nextafter(e[-1], -np.inf)) for v, e in zip(values, edges)]
    for cls in range(n_classes):
        sel = labels == cls
        counts[cls] += np.histogramdd([c[sel] for c in clamped], bins=list(edges), weights=weights[sel])[0]
    return counts


@dataclass(frozen=True)
class Reweighting:
    """Fitted per-bin kinematic factors and per-class balancing factors."""

    variables: tuple[str, ...]
    edges: list[np.ndarray]
    bin_factors: np.ndarray
    class_factors: np.ndarray

    def weights(self, columns: Mapping[str, np.ndarray], labels: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Per-jet training weights: base weight x kinematic bin factor x class factor."""
        index = tuple(
            np.clip(np.searchsorted(e, np.asarray(columns[v]), side="right") - 1, 0, len(e) - 2)
            for v, e in zip(self.variables, self.edges)
        )
        return (base * self.bin_factors[(labels, *index)] * self.class_factors[labels]).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable form (written to results/reweighting.json)."""
        return {"variables": list(self.variables), "edges": [e.tolist() for e in self.edges],
                "bin_factors": self.bin_factors.tolist(), "class_factors": self.class_factors.tolist()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Reweighting:
        """Rebuild from `to_json` output."""
        return cls(tuple(data["variables"]), [np.asarray(e) for e in data["edges"]],
                   np.asarray(data["bin_factors"]), np.asarray(data["class_factors"]))


def fit_reweighting(counts: np.ndarray, edges: list[np.ndarray], variables: Sequence[str], *, method: str,
                    class_balance: bool, reference_class: int | None = None, max_weight: float = 10.0) -> Reweighting:
    """Bin factors that flatten each class in the variables (or match a reference class), then class balance.

    The kinematic factors of a class average to 1 over its training jets before they are capped at
    `max_weight`; bins a class does not fill in training get 1. With `class_balance`, each class present
    in training gets the same total weight (the mean class size), classes without jets keep factor 1.
    """
    if method not in METHODS:
        raise ConfigError(f"{CONFIG_KEY}.method", f"'{method}' is not one of {METHODS}")
    n_classes = counts.shape[0]
    per_class = (n_classes, *[1] * (counts.ndim - 1))
    totals = counts.reshape(n_classes, -1).sum(axis=1)
    present = totals > 0
    if not present.any():
        raise ConfigError("classes", "no class has jets in the training split")
    density = counts / np.where(present, totals, 1.0).reshape(per_class)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "none":
            factors = np.ones_like(counts)
        elif method == "flat":
            occupied = (counts > 0).reshape(n_classes, -1).sum(axis=1).reshape(per_class)
            factors = np.where(counts > 0, 1.0 / (density * occupied), 1.0)
        else:
            if reference_class is None or not 0 <= reference_class < n_classes:
                raise ConfigError(f"{CONFIG_KEY}.reference_class", "must name one of the classes")
            if not present[reference_class]:
                raise ConfigError(f"{CONFIG_KEY}.reference_class", "the reference class has no training jets")
            factors = np.where(counts > 0, density[reference_class] / density, 1.0)
    # the flat factors already average to 1 per class; the reference ones do once the reference's empty bins are 0
    mean = (factors * counts).reshape(n_classes, -1).sum(axis=1) / np.where(present, totals, 1.0)
    factors = np.minimum(factors / np.where(mean > 0, mean, 1.0).reshape(per_class), max_weight)
    class_factors = np.ones(n_classes)
    if class_balance:
        weighted = (factors * counts).reshape(n_classes, -1).sum(axis=1)
        target = totals[present].sum() / present.sum()
        class_factors = np.where(weighted > 0, target / np.where(weighted > 0, weighted, 1.0), 1.0)
    return Reweighting(tuple(variables), list(edges), factors, class_factors)
