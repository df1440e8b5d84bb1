"""Calibration metrics: the ECE of perfectly calibrated toy scores is ~0; temperature scaling of an over-confident
model (a well-calibrated toy's logits times 5) finds T near 5 and lowers its ECE; reliability bins by hand."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from rootml.metrics.calibration import (
    expected_calibration_error,
    fit_temperature,
    reliability_bins,
    scale_temperature,
    top_class_ece,
)

N_JETS, N_CLASSES = 20_000, 3


def calibrated_toy(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits and labels drawn from softmax(logits): a perfectly calibrated three-class model."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (N_JETS, N_CLASSES))
    probabilities = softmax(logits, axis=1)
    labels = (rng.random(N_JETS)[:, None] > np.cumsum(probabilities, axis=1)).sum(axis=1)
    return logits, labels


def test_calibrated_scores_have_ece_near_zero() -> None:
    """Outcomes drawn with the predicted probability: ECE of P(signal) and of the top class both ~0."""
    rng = np.random.default_rng(1)
    predicted = rng.random(N_JETS)
    outcome = rng.random(N_JETS) < predicted
    assert expected_calibration_error(predicted, outcome) < 0.015
    logits, labels = calibrated_toy()
    assert top_class_ece(softmax(logits, axis=1), labels) < 0.015


def test_temperature_scaling_undoes_overconfidence() -> None:
    """Logits times 5: ECE well above 0.1, T fitted near 5, the scaled probabilities calibrated again."""
    logits, labels = calibrated_toy()
    overconfident = 5.0 * logits
    before = top_class_ece(softmax(overconfident, axis=1), labels)
    temperature = fit_temperature(overconfident, labels)
    after = top_class_ece(scale_temperature(overconfident, temperature), labels)
    assert before > 0.1
    assert temperature == pytest.approx(5.0, rel=0.05)
    assert after < 0.02 < before


def test_temperature_uses_the_weights() -> None:
    """Jets of zero weight do not move T: the fit on the good jets alone equals the weighted fit on all."""
    logits, labels = calibrated_toy()
    shuffled = np.random.default_rng(2).permutation(labels)  # random labels on the second half: T would grow
    mixed = np.concatenate([labels[: N_JETS // 2], shuffled[N_JETS // 2:]])
    weight = np.r_[np.ones(N_JETS // 2), np.zeros(N_JETS - N_JETS // 2)]
    alone = fit_temperature(logits[: N_JETS // 2], labels[: N_JETS // 2])
    assert fit_temperature(logits, mixed, weight) == pytest.approx(alone, rel=1e-3)
    assert fit_temperature(logits, mixed) > 1.5 * alone


def test_reliability_bins_by_hand() -> None:
    """Four jets in two of 2 bins, weighted; a prediction of 1 falls in the last bin; ECE is the weighted gap."""
    bins = reliability_bins(np.array([0.1, 0.3, 0.8, 1.0]), np.array([0, 1, 1, 1]), np.array([1.0, 3.0, 1.0, 1.0]),
                            n_bins=2)
    np.testing.assert_allclose(bins.weight, [4.0, 2.0])
    np.testing.assert_allclose(bins.predicted, [(0.1 + 0.9) / 4, 0.9])
    np.testing.assert_allclose(bins.observed, [0.75, 1.0])
    assert bins.ece == pytest.approx((4 * abs(0.75 - 0.25) + 2 * 0.1) / 6)
    with pytest.raises(ValueError, match="at least one bin"):
        reliability_bins(np.array([0.5]), np.array([1]), n_bins=0)
