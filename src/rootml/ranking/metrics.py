"""Weighted performance metrics of a model's scores, one set per task, for permutation importance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import log_loss, roc_auc_score

MetricFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


@dataclass(frozen=True)
class Metric:
    """A named metric f(truth, scores, weights) and whether higher values mean a better model."""

    name: str
    function: MetricFunction
    higher_is_better: bool

    @property
    def degradation(self) -> str:
        """How the metric worsens: 'drop' (higher is better) or 'increase' (lower is better)."""
        return "drop" if self.higher_is_better else "increase"


def cross_entropy(labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean cross entropy of class probabilities (n, n_classes) for integer labels."""
    return float(log_loss(labels, probabilities, sample_weight=weights, labels=np.arange(probabilities.shape[1])))


def macro_auc(labels: np.ndarray, probabilities: np.ndarray, weights: np.ndarray) -> float:
    """Weighted one-vs-rest ROC AUC averaged over the classes present (NaN when fewer than two are)."""
    # per class by hand: sklearn's multi-class roc_auc_score takes no class absent from `labels`
    aucs = [roc_auc_score(labels == c, probabilities[:, c], sample_weight=weights)
            for c in range(probabilities.shape[1]) if 0 < np.count_nonzero(labels == c) < len(labels)]
    return float(np.mean(aucs)) if aucs else float("nan")


def weighted_mse(target: np.ndarray, prediction: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean squared error of a regression."""
    return float(np.average(np.square(np.asarray(prediction, np.float64) - target), weights=weights))


def signal_auc(is_signal: np.ndarray, score: np.ndarray, weights: np.ndarray) -> float:
    """Weighted ROC AUC of an anomaly score for signal (True) against background jets."""
    return float(roc_auc_score(is_signal, score, sample_weight=weights))


TASK_METRICS: dict[str, tuple[Metric, ...]] = {
    "classification": (Metric("loss", cross_entropy, False), Metric("auc", macro_auc, True)),
    "regression": (Metric("mse", weighted_mse, False),),
    "anomaly": (Metric("auc", signal_auc, True),),
}
