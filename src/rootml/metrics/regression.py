"""Metrics of regression residuals (prediction - target): mse, bias and resolution, from weighted quantiles."""

from __future__ import annotations

import numpy as np

# The median and the quantiles whose half distance is the resolution (a Gaussian's +-1 sigma).
ONE_SIGMA_QUANTILES = (0.15865, 0.5, 0.84135)


def one_sigma_quantiles(values: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Weighted 15.865%, 50% and 84.135% quantiles (numpy's inverted CDF, the method that takes weights)."""
    return np.quantile(values, ONE_SIGMA_QUANTILES, weights=weight, method="inverted_cdf")


def mse(residual: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Weighted mean squared residual."""
    return float(np.average(np.square(residual), weights=weight))


def residual_stats(residual: np.ndarray, weight: np.ndarray | None = None) -> dict[str, float]:
    """mse, bias (weighted median residual) and resolution (half the 15.865-84.135% weighted quantile range)."""
    low, median, high = one_sigma_quantiles(residual, weight)
    return {"mse": mse(residual, weight), "bias": float(median), "resolution": float((high - low) / 2)}
