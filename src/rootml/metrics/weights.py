"""Jet weights: the weight column of a prediction table and the effective number of weighted jets."""

from __future__ import annotations

import numpy as np
import pandas as pd


def jet_weights(frame: pd.DataFrame, weighted: bool) -> np.ndarray:
    """The `weight` column as float64, or ones when `weighted` is False."""
    return frame["weight"].to_numpy(np.float64) if weighted else np.ones(len(frame))


def effective_count(weight: np.ndarray) -> float:
    """Effective number of weighted jets, (sum w)^2 / sum w^2 (the count itself for unit weights)."""
    sum_squares = float(np.sum(np.square(weight)))
    return float(np.sum(weight)) ** 2 / sum_squares if sum_squares > 0 else 0.0
