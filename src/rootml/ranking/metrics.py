"""Weighted performance metrics of a model's scores, one set per task, for permutation importance; computed by
rootml.metrics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rootml.metrics.binary import auc
from rootml.metrics.multiclass import cross_entropy, macro_auc
from rootml.metrics.regression import mse

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


def prediction_mse(target: np.ndarray, prediction: np.ndarray, weights: np.ndarray) -> float:
    """Weighted mean squared error of a regression's predictions."""
    return mse(np.asarray(prediction, np.float64) - target, weights)


# truth, scores and weights per task: labels and class probabilities (cross entropy, one-vs-rest AUC averaged over
# the classes present); the regression target and prediction; signal flags and the anomaly score (AUC)
TASK_METRICS: dict[str, tuple[Metric, ...]] = {
    "classification": (Metric("loss", cross_entropy, False), Metric("auc", macro_auc, True)),
    "regression": (Metric("mse", prediction_mse, False),),
    "anomaly": (Metric("auc", auc, True),),
}
