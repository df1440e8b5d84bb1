"""Permutation importance of any model: shuffle one feature between jets and measure how much worse it does.

The feature is a slice `index` along `axis` of one input array: a column of the high-level features (n, F),
a channel row of the particle features (n, C, P) (a whole jet's row moves to another jet, and the target
jet's padded slots stay zero), or a channel of the jet images (n, C, H, W).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from rootml.ranking.metrics import Metric
from rootml.seeds import derive_seed

Predict = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def _padding_mask(inputs: Mapping[str, np.ndarray], mask_key: str | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The real-particle mask reshaped to one feature slice (n, P), or None without a mask."""
    if mask_key is None:
        return None
    mask = np.asarray(inputs[mask_key]).astype(bool)
    if mask.size != int(np.prod(shape)):
        raise ValueError(f"input '{mask_key}' of shape {mask.shape} does not match a feature slice {shape}")
    return mask.reshape(shape)


def permutation_importance(
    predict: Predict, inputs: Mapping[str, np.ndarray], truth: np.ndarray, weights: np.ndarray,
    metrics: Sequence[Metric], *, key: str, feature_names: Sequence[str], axis: int = 1,
    mask_key: str | None = None, n_repeats: int = 5, seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Importance of each feature of inputs[key] (slices along `axis`) for each metric; also the baseline metrics.

    Columns per metric m: m_{drop|increase}_mean/_std (how much worse, > 0 for a useful feature) and
    m_ratio_mean/_std (worse over baseline: permuted/baseline for a loss, baseline/permuted for an AUC; > 1
    for a useful feature), over `n_repeats` seeded shuffles. mask_key names the particle mask whose padded
    slots are kept zero after the shuffle.
    """
    if key not in inputs:
        raise KeyError(f"input '{key}' to permute is not among the inputs {sorted(inputs)}")
    original = np.asarray(inputs[key])
    if original.shape[axis] != len(feature_names):
        raise ValueError(f"input '{key}' has {original.shape[axis]} features along axis {axis}, "
                         f"{len(feature_names)} names given")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}")

    def evaluate(array: np.ndarray) -> dict[str, float]:
        """Every metric of the model on the inputs with `array` as inputs[key]."""
        scores = predict({**inputs, key: array})
        return {metric.name: metric.function(truth, scores, weights) for metric in metrics}

    baseline = evaluate(original)
    slot = (slice(None),) * axis
    mask = _padding_mask(inputs, mask_key, original[slot + (0,)].shape)
    work = original.copy()
    rows = []
    for index, name in enumerate(feature_names):
        rng = np.random.default_rng(derive_seed(seed, "permutation", key, name))
        column = original[slot + (index,)]
        repeats: dict[str, list[tuple[float, float]]] = {metric.name: [] for metric in metrics}
        for _ in range(n_repeats):
            shuffled = column[rng.permutation(len(column))]
            work[slot + (index,)] = shuffled if mask is None else np.where(mask, shuffled, 0)
            permuted = evaluate(work)
            for metric in metrics:
                base, value = np.float64(baseline[metric.name]), np.float64(permuted[metric.name])
                worse = base - value if metric.higher_is_better else value - base
                with np.errstate(divide="ignore", invalid="ignore"):  # a perfect baseline (mse 0) gives inf
                    ratio = base / value if metric.higher_is_better else value / base
                repeats[metric.name].append((worse, ratio))
        work[slot + (index,)] = column
        row: dict[str, float] = {}
        for metric in metrics:
            worse, ratio = np.asarray(repeats[metric.name]).T
            row.update({f"{metric.name}_{metric.degradation}_mean": worse.mean(),
                        f"{metric.name}_{metric.degradation}_std": worse.std(),
                        f"{metric.name}_ratio_mean": ratio.mean(), f"{metric.name}_ratio_std": ratio.std()})
        rows.append(row)
    return pd.DataFrame(rows, index=pd.Index(list(feature_names), name="feature")), baseline
