"""Poisson bootstrap of the jet weights: the uncertainty of a metric that has no closed-form error."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np


def poisson_bootstrap_std(statistic: Callable[[np.ndarray], float | np.ndarray], weight: np.ndarray,
                          n_bootstrap: int, seed: int) -> float | np.ndarray:
    """Standard deviation of statistic(weights) (a number or an array of them) over replicas whose jet weights are
    scaled by Poisson(1) draws; replicas where the statistic is undefined (NaN) are left out.

    Hand-written instead of scipy.stats.bootstrap: that copies every input array per replica, whereas Poisson
    weights (the usual bootstrap for weighted events) need one weight array per replica and no resampled copies.
    """
    rng = np.random.default_rng(seed)
    replicas = [np.asarray(statistic(weight * rng.poisson(1.0, size=len(weight))), dtype=np.float64)
                for _ in range(max(n_bootstrap, 0))]
    values = np.stack(replicas) if replicas else np.empty((0, *np.shape(statistic(weight))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fewer than two defined replicas: NaN, set just below
        std = np.nanstd(values, axis=0, ddof=1)
    std = np.where(np.isfinite(values).sum(axis=0) >= 2, std, np.nan)
    return float(std) if std.ndim == 0 else std
