"""Calibration of predicted probabilities: reliability bins and the expected calibration error (ECE) over
equal-width bins of the predicted probability, and temperature scaling (one scalar T for all classes, fitted by the
weighted negative log-likelihood of softmax(logits / T), Guo et al., arXiv:1706.04599)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import softmax

from rootml.metrics.multiclass import cross_entropy

N_BINS = 15  # equal-width bins of the ECE and the reliability diagrams (the usual choice since Guo et al.)
LOG_TEMPERATURE_BOUNDS = (-5.0, 5.0)  # T searched in [e^-5, e^5], in log space (T > 0 by construction)


@dataclass(frozen=True)
class ReliabilityBins:
    """Equal-width bins of a predicted probability: per bin the mean prediction, the observed frequency of the
    outcome and the summed jet weight (0 for an empty bin, whose mean and frequency are NaN)."""

    edges: np.ndarray
    predicted: np.ndarray
    observed: np.ndarray
    weight: np.ndarray

    @property
    def filled(self) -> np.ndarray:
        """Bins that hold jets."""
        return self.weight > 0

    @property
    def ece(self) -> float:
        """Expected calibration error: the mean over the bins of |observed frequency - mean prediction|, each bin
        weighted by its jets' summed weight (their count for unit weights)."""
        filled = self.filled
        if not filled.any():
            raise ValueError("no jets (or only zero weights) to compute a calibration error")
        return float(np.average(np.abs(self.observed[filled] - self.predicted[filled]), weights=self.weight[filled]))


def reliability_bins(predicted: np.ndarray, outcome: np.ndarray, weight: np.ndarray | None = None,
                     n_bins: int = N_BINS) -> ReliabilityBins:
    """Weighted mean of `predicted` (probabilities in [0, 1]) and of the 0/1 `outcome` in each of `n_bins`
    equal-width bins of [0, 1] (a prediction of exactly 1 in the last bin).

    Hand-written with np.bincount: sklearn's calibration_curve takes no sample weights and drops empty bins.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    outcome = np.asarray(outcome, dtype=np.float64)
    weight = np.ones_like(predicted) if weight is None else np.asarray(weight, dtype=np.float64)
    if n_bins < 1:
        raise ValueError(f"need at least one bin, got {n_bins}")
    index = np.clip(np.floor(predicted * n_bins).astype(np.int64), 0, n_bins - 1)
    total = np.bincount(index, weights=weight, minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_predicted = np.bincount(index, weights=weight * predicted, minlength=n_bins) / total
        frequency = np.bincount(index, weights=weight * outcome, minlength=n_bins) / total
    return ReliabilityBins(np.linspace(0.0, 1.0, n_bins + 1), mean_predicted, frequency, total)


def expected_calibration_error(predicted: np.ndarray, outcome: np.ndarray, weight: np.ndarray | None = None,
                               n_bins: int = N_BINS) -> float:
    """ECE of `predicted` against the 0/1 `outcome` over `n_bins` equal-width bins (ReliabilityBins.ece)."""
    return reliability_bins(predicted, outcome, weight, n_bins).ece


def top_class(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confidence (the highest class probability) of each jet and whether that class is its label."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    return probabilities.max(axis=1), probabilities.argmax(axis=1) == np.asarray(labels)


def top_class_ece(probabilities: np.ndarray, labels: np.ndarray, weight: np.ndarray | None = None,
                  n_bins: int = N_BINS) -> float:
    """ECE of the top-class confidence against the accuracy (the multi-class ECE of Guo et al.)."""
    return expected_calibration_error(*top_class(probabilities, labels), weight, n_bins)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, weight: np.ndarray | None = None) -> float:
    """The temperature T > 0 minimising the weighted mean cross entropy of softmax(logits / T) (scipy's bounded
    Brent search on log T); logits may be log-probabilities (a BDT's), which softmax maps back to the probabilities
    at T = 1."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)

    def loss(log_temperature: float) -> float:
        """Weighted NLL at T = exp(log_temperature)."""
        return cross_entropy(labels, logits / np.exp(log_temperature), weight, from_logits=True)

    result = minimize_scalar(loss, bounds=LOG_TEMPERATURE_BOUNDS, method="bounded", options={"xatol": 1e-5})
    return float(np.exp(result.x))


def scale_temperature(logits: np.ndarray, temperature: float) -> np.ndarray:
    """Calibrated class probabilities softmax(logits / T) (n, n_classes)."""
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
