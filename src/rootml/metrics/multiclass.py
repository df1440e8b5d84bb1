"""Metrics of class probabilities: one-vs-rest AUC per class and their macro mean, accuracy with its binomial
uncertainty, and cross entropy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import log_softmax

from rootml.metrics.binary import auc
from rootml.metrics.weights import effective_count


def class_aucs(labels: np.ndarray, probabilities: np.ndarray, weight: np.ndarray | None = None) -> list[float]:
    """Weighted one-vs-rest AUC of each class's probability column (n, n_classes); NaN for a class without jets or
    with all of them."""
    # per class by hand: sklearn's multi-class roc_auc_score takes no class absent from `labels`
    return [auc(labels == c, probabilities[:, c], weight) for c in range(probabilities.shape[1])]


def macro_mean(aucs: Sequence[float]) -> float:
    """Mean of the defined (not NaN) per-class AUCs; NaN when none is."""
    defined = [value for value in aucs if not np.isnan(value)]
    return float(np.mean(defined)) if defined else float("nan")


def macro_auc(labels: np.ndarray, probabilities: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Weighted one-vs-rest AUC averaged over the classes with an AUC (NaN when fewer than two have jets)."""
    return macro_mean(class_aucs(labels, probabilities, weight))


def accuracy(labels: np.ndarray, probabilities: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Weighted fraction of jets whose highest-probability class is their label."""
    return float(np.average(np.asarray(probabilities).argmax(axis=1) == np.asarray(labels), weights=weight))


def accuracy_with_error(labels: np.ndarray, probabilities: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted accuracy with its binomial uncertainty from the effective number of jets."""
    value = accuracy(labels, probabilities, weight)
    return value, float(np.sqrt(value * (1.0 - value) / effective_count(weight)))


def cross_entropy(labels: np.ndarray, values: np.ndarray, weight: np.ndarray | None = None, *,
                  from_logits: bool = False) -> float:
    """Weighted mean of -log p(label): `values` (n, n_classes) are probabilities, clipped to [eps, 1 - eps] of their
    dtype as in sklearn's log_loss, or with `from_logits` logits, through scipy's log_softmax (exact where a
    probability would round to 0)."""
    if from_logits:
        log_probabilities = log_softmax(values, axis=1)
    else:
        eps = np.finfo(values.dtype).eps
        log_probabilities = np.log(np.clip(values, eps, 1 - eps))
    return float(np.average(-log_probabilities[np.arange(len(labels)), labels], weights=weight))
