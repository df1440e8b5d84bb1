"""The cut on a discriminant at a signal efficiency, and how much it sculpts a background distribution."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import jensenshannon

from rootml.metrics.binary import BinaryScores


def selection_threshold(scores: BinaryScores, efficiency: float) -> float:
    """Discriminant cut that keeps the fraction `efficiency` of the (weighted) signal jets."""
    signal = scores.score[scores.is_signal]
    return float(np.quantile(signal, 1.0 - efficiency, weights=scores.signal_weight, method="inverted_cdf"))


def clip_to_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values moved into the first and last bin when they lie beyond the edges (so that no jet is dropped)."""
    return np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf))


def sculpting_jsd(values: np.ndarray, weight: np.ndarray, passed: np.ndarray, edges: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2) between the histograms of `values` before and after a selection, jets
    beyond the edges counted in the edge bins."""
    values = clip_to_edges(values, edges)
    before, _ = np.histogram(values, bins=edges, weights=weight)
    after, _ = np.histogram(values[passed], bins=edges, weights=weight[passed])
    if before.sum() <= 0 or after.sum() <= 0:
        return float("nan")
    return float(jensenshannon(before, after, base=2) ** 2)
