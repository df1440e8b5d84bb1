"""Reweighting: flattening a known 2D (pT, eta) distribution, matching a reference class, class balance, caps."""

from __future__ import annotations

import numpy as np
import pytest

from rootml.errors import ConfigError
from rootml.preprocess.reweighting import Reweighting, fill_histogram, fit_reweighting, histogram_edges

BINS = (10, 4)


def sample(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Two classes with different, steep (pT, eta) distributions; class 1 has three times the jets."""
    rng = np.random.default_rng(seed)
    n = np.array([4_000, 12_000])
    labels = np.repeat([0, 1], n)
    pt = np.concatenate([500 + rng.exponential(40.0, n[0]), 500 + rng.exponential(80.0, n[1])])
    eta = np.concatenate([rng.normal(0.0, 0.5, n[0]), rng.normal(0.0, 1.0, n[1])])
    keep = (pt < 800) & (np.abs(eta) < 2)
    return {"jet_pt": pt[keep], "jet_eta": eta[keep]}, labels[keep]


def histogram(columns: dict[str, np.ndarray], labels: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, list]:
    """Counts per class and (pT, eta) bin over the sample's range."""
    edges = histogram_edges([500.0, -2.0], [800.0, 2.0], BINS)
    return fill_histogram([columns["jet_pt"], columns["jet_eta"]], labels, weights, edges, 2), edges


def test_flat_weights_flatten_every_class_and_keep_its_total() -> None:
    columns, labels = sample()
    counts, edges = histogram(columns, labels, np.ones(len(labels)))
    fitted = fit_reweighting(counts, edges, ["jet_pt", "jet_eta"], method="flat", class_balance=False,
                             max_weight=1e9)
    weights = fitted.weights(columns, labels, np.ones(len(labels), dtype=np.float32))
    weighted, _ = histogram(columns, labels, weights)
    for cls in (0, 1):
        filled = counts[cls] > 0
        assert filled.sum() > 20
        np.testing.assert_allclose(weighted[cls][filled], weighted[cls][filled].mean(), rtol=1e-5)
        assert weights[labels == cls].sum() == pytest.approx((labels == cls).sum(), rel=1e-5)


def test_max_weight_caps_the_kinematic_factors() -> None:
    columns, labels = sample()
    counts, edges = histogram(columns, labels, np.ones(len(labels)))
    fitted = fit_reweighting(counts, edges, ["jet_pt", "jet_eta"], method="flat", class_balance=False,
                             max_weight=3.0)
    assert fitted.bin_factors.max() == pytest.approx(3.0)
    weights = fitted.weights(columns, labels, np.ones(len(labels), dtype=np.float32))
    assert weights.max() <= 3.0 + 1e-6


def test_reference_method_gives_each_class_the_reference_shape() -> None:
    columns, labels = sample()
    counts, edges = histogram(columns, labels, np.ones(len(labels)))
    fitted = fit_reweighting(counts, edges, ["jet_pt", "jet_eta"], method="reference", class_balance=False,
                             reference_class=0, max_weight=1e9)
    np.testing.assert_array_equal(fitted.bin_factors[0][counts[0] > 0], 1.0)
    weights = fitted.weights(columns, labels, np.ones(len(labels), dtype=np.float32))
    weighted, _ = histogram(columns, labels, weights)
    both = (counts[0] > 0) & (counts[1] > 0)
    shape0 = counts[0][both] / counts[0][both].sum()
    np.testing.assert_allclose(weighted[1][both] / weighted[1][both].sum(), shape0, rtol=1e-5)
    assert weighted[1][(counts[0] == 0) & (counts[1] > 0)].sum() == 0.0  # outside the reference: weight 0


def test_class_balance_gives_every_class_the_same_total_and_keeps_input_weights() -> None:
    columns, labels = sample()
    base = np.where(labels == 0, 2.0, 0.5).astype(np.float32)
    counts, edges = histogram(columns, labels, base)
    fitted = fit_reweighting(counts, edges, ["jet_pt", "jet_eta"], method="none", class_balance=True)
    np.testing.assert_array_equal(fitted.bin_factors, 1.0)
    weights = fitted.weights(columns, labels, base)
    totals = [weights[labels == c].sum() for c in (0, 1)]
    assert totals[0] == pytest.approx(totals[1], rel=1e-5)
    assert totals[0] == pytest.approx(base.sum() / 2, rel=1e-5)
    # within a class, the input weights' ratios survive
    assert len(np.unique(weights[labels == 0])) == 1


def test_json_round_trip_and_clamping_outside_the_edges() -> None:
    columns, labels = sample()
    counts, edges = histogram(columns, labels, np.ones(len(labels)))
    fitted = fit_reweighting(counts, edges, ["jet_pt", "jet_eta"], method="flat", class_balance=True)
    again = Reweighting.from_json(fitted.to_json())
    np.testing.assert_array_equal(again.bin_factors, fitted.bin_factors)
    outside = {"jet_pt": np.array([100.0, 5000.0]), "jet_eta": np.array([-9.0, 9.0])}
    inside = {"jet_pt": np.array([500.0, 799.9]), "jet_eta": np.array([-1.99, 1.99])}
    ones = np.ones(2, dtype=np.float32)
    np.testing.assert_array_equal(again.weights(outside, np.array([0, 1]), ones),
                                  again.weights(inside, np.array([0, 1]), ones))


def test_config_errors_name_the_key() -> None:
    counts = np.ones((2, 3, 2))
    edges = histogram_edges([0.0, 0.0], [1.0, 1.0], (3, 2))
    with pytest.raises(ConfigError, match="preprocess.reweighting.method"):
        fit_reweighting(counts, edges, ["a", "b"], method="uniform", class_balance=True)
    with pytest.raises(ConfigError, match="preprocess.reweighting.reference_class"):
        fit_reweighting(counts, edges, ["a", "b"], method="reference", class_balance=True, reference_class=None)
    counts[1] = 0
    with pytest.raises(ConfigError, match="reference class has no training jets"):
        fit_reweighting(counts, edges, ["a", "b"], method="reference", class_balance=True, reference_class=1)
