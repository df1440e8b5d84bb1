"""Delphes' log-normal smearing (MomentumSmearing::LogNormal, SimpleCalorimeter::LogNormal), vectorised."""

from __future__ import annotations

import numpy as np


def log_normal(mean: np.ndarray, sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A log-normal draw of given mean and standard deviation per entry (0 where the mean is not positive)."""
    mean = np.asarray(mean, dtype=float)
    positive = mean > 0
    safe = np.where(positive, mean, 1.0)
    b = np.sqrt(np.log1p((np.asarray(sigma, dtype=float) / safe) ** 2))
    draw = rng.lognormal(mean=np.log(safe) - 0.5 * b**2, sigma=b)
    return np.where(positive, draw, 0.0)
