"""The metric core against hand-computed values and scikit-learn on small arrays: ROC, AUC, rejection and their
uncertainties, per-class AUCs, accuracy, cross entropy, residual statistics, the selection cut and sculpting."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax, softmax
from sklearn.metrics import log_loss, roc_auc_score

from rootml.metrics.binary import BinaryScores, auc, auc_of_weights, aucs_with_errors, rejection_at, roc
from rootml.metrics.multiclass import accuracy, accuracy_with_error, class_aucs, cross_entropy, macro_auc, macro_mean
from rootml.metrics.names import percent
from rootml.metrics.regression import residual_stats
from rootml.metrics.sculpting import sculpting_jsd, selection_threshold


def binary_scores(is_signal: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None) -> BinaryScores:
    """BinaryScores of plain arrays, unit weights when `weight` is None."""
    score = np.asarray(score, dtype=np.float64)
    weight = np.ones_like(score) if weight is None else np.asarray(weight, dtype=np.float64)
    return BinaryScores(np.asarray(is_signal, dtype=bool), score, weight, np.arange(len(score)))


def auc_with_error(scores: BinaryScores, n_bootstrap: int, seed: int = 0) -> tuple[float, float]:
    """AUC and bootstrap error of one discriminant."""
    return aucs_with_errors({"auc": scores}, scores.weight, n_bootstrap=n_bootstrap, seed=seed)["auc"]


def shifted_uniforms(n: int) -> tuple[np.ndarray, np.ndarray]:
    """is_signal and score: background evenly on [0, 1], signal evenly on [0.25, 1.25]."""
    score = np.concatenate([np.linspace(0.0, 1.0, n), np.linspace(0.25, 1.25, n)])
    return np.repeat([False, True], n), score


def test_perfect_classifier_has_auc_one_and_no_background_left() -> None:
    """A perfectly separating score: AUC 1 with zero spread, infinite rejection."""
    scores = binary_scores([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    value, err = auc_with_error(scores, n_bootstrap=20, seed=1)
    assert value == 1.0 and err == 0.0
    rejection, error = rejection_at(roc(scores), [0.5])
    assert rejection[0] == np.inf and error[0] == np.inf


def test_rejection_of_shifted_uniforms_is_known() -> None:
    """Rejection, its binomial error and the AUC of two shifted uniform distributions."""
    # signal efficiency 50% cuts at 0.75, leaving 25% of the background: rejection 4; 30% cuts at 0.95 -> 5% -> 20
    n = 10001
    scores = binary_scores(*shifted_uniforms(n))
    rejection, error = rejection_at(roc(scores), [0.3, 0.5])
    assert rejection == pytest.approx([20.0, 4.0], rel=2e-3)
    assert error[1] == pytest.approx(np.sqrt(0.25 * 0.75 / n) / 0.25**2, rel=1e-2)
    # AUC of two unit-width uniforms shifted by 0.25: 1 - 0.75^2 / 2
    assert auc_with_error(scores, n_bootstrap=0)[0] == pytest.approx(1 - 0.75**2 / 2, abs=1e-4)


def test_random_classifier_auc_is_half_within_its_error() -> None:
    """A score independent of the label: AUC 0.5 within errors, bootstrap error as Mann-Whitney's."""
    rng = np.random.default_rng(5)
    n = 4000
    scores = binary_scores(rng.integers(0, 2, n).astype(bool), rng.uniform(size=n))
    value, err = auc_with_error(scores, n_bootstrap=200, seed=2)
    assert abs(value - 0.5) < 3 * err
    n_s = scores.is_signal.sum()
    expected = np.sqrt((n + 1) / (12 * n_s * (n - n_s)))  # Mann-Whitney standard deviation under no separation
    assert err == pytest.approx(expected, rel=0.25)


def test_uncertainties_shrink_with_statistics() -> None:
    """16 times more jets: AUC and rejection uncertainties four times smaller."""
    rng = np.random.default_rng(9)
    errors = {}
    for n in (500, 8000):
        is_signal = np.repeat([False, True], n)
        scores = binary_scores(is_signal, rng.normal(is_signal.astype(float), 1.0))
        auc_err = auc_with_error(scores, n_bootstrap=60, seed=4)[1]
        rejection_err = rejection_at(roc(scores), [0.5])[1][0]
        errors[n] = (auc_err, rejection_err)
    for small, large in zip(errors[500], errors[8000]):
        assert small / large == pytest.approx(4.0, rel=0.35)  # sqrt(8000 / 500)


def test_integer_weights_equal_repeated_jets() -> None:
    """A jet of weight k counts as k copies of the jet in the AUC and the ROC."""
    rng = np.random.default_rng(3)
    is_signal = rng.integers(0, 2, 300).astype(bool)
    score = np.round(rng.normal(is_signal * 0.8, 1.0), 1)  # rounded: ties must be handled as sklearn does
    weight = rng.integers(1, 4, 300).astype(float)
    weighted = binary_scores(is_signal, score, weight)
    repeated = binary_scores(np.repeat(is_signal, weight.astype(int)), np.repeat(score, weight.astype(int)))
    assert auc_with_error(weighted, n_bootstrap=0)[0] == pytest.approx(auc_with_error(repeated, n_bootstrap=0)[0])
    assert rejection_at(roc(weighted), [0.3, 0.5])[0] == pytest.approx(rejection_at(roc(repeated), [0.3, 0.5])[0])
    assert auc_of_weights(weighted)(weight) == pytest.approx(roc_auc_score(is_signal, score, sample_weight=weight))


def test_auc_by_hand_and_undefined_without_both_groups() -> None:
    """AUC as the fraction of ordered signal-background pairs, weighted; NaN when one group is absent."""
    is_signal = np.array([False, False, True, True])
    score = np.array([0.1, 0.4, 0.35, 0.8])
    assert auc(is_signal, score) == 0.75  # pairs (0.35 > 0.1), (0.8 > 0.1), (0.8 > 0.4) of four
    # the 0.4 background jet counts twice: 4 of 6 weighted pairs ordered
    assert auc(is_signal, score, np.array([1.0, 2.0, 1.0, 1.0])) == pytest.approx(4 / 6)
    assert np.isnan(auc(np.ones(4, dtype=bool), score)) and np.isnan(auc(np.zeros(4, dtype=bool), score))


def test_per_class_aucs_skip_absent_classes_and_match_sklearn() -> None:
    """One-vs-rest AUC per class equals sklearn's; a class without jets has NaN and no part in the macro mean."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 2, 300) * 2  # classes 0 and 2 only
    probabilities = softmax(rng.normal(0, 1, (300, 3)) + 2.0 * np.eye(3)[labels], axis=1)
    weight = rng.uniform(0.5, 1.5, 300)
    aucs = class_aucs(labels, probabilities, weight)
    assert aucs[0] == pytest.approx(roc_auc_score(labels == 0, probabilities[:, 0], sample_weight=weight))
    assert aucs[2] == pytest.approx(roc_auc_score(labels == 2, probabilities[:, 2], sample_weight=weight))
    assert np.isnan(aucs[1])
    assert macro_auc(labels, probabilities, weight) == pytest.approx((aucs[0] + aucs[2]) / 2)
    assert np.isnan(macro_mean([float("nan")])) and macro_mean([0.6, float("nan"), 0.8]) == pytest.approx(0.7)


def test_accuracy_and_binomial_error_by_hand() -> None:
    """Accuracy of four jets and its binomial error, unweighted and weighted."""
    probabilities = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.3, 0.4, 0.3]])
    value, err = accuracy_with_error(np.array([0, 1, 2, 1]), probabilities, np.ones(4))
    assert value == 0.75 and err == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    value, _ = accuracy_with_error(np.array([0, 1, 2, 1]), probabilities, np.array([1.0, 1.0, 2.0, 0.0]))
    assert value == 0.5
    assert accuracy(np.array([0, 1, 2, 1]), probabilities) == 0.75


def test_cross_entropy_by_hand_from_probabilities_and_logits() -> None:
    """Mean -log p(label): by hand, as sklearn's log_loss (weighted), and from logits as log_softmax."""
    probabilities = np.array([[0.5, 0.5], [0.2, 0.8], [0.9, 0.1]])
    labels = np.array([0, 1, 0])
    assert cross_entropy(labels, probabilities) == pytest.approx(-(np.log(0.5) + np.log(0.8) + np.log(0.9)) / 3)
    weight = np.array([1.0, 2.0, 0.5])
    assert cross_entropy(labels, probabilities, weight) == log_loss(labels, y_proba=probabilities,
                                                                    sample_weight=weight)
    logits = np.array([[2.0, -1.0], [0.0, 40.0], [-50.0, 0.0]])  # p(label) of the last jet: e^-50, below any clip
    expected = -log_softmax(logits, axis=1)[[0, 1, 2], [1, 1, 0]].mean()
    assert cross_entropy(np.array([1, 1, 0]), logits, from_logits=True) == expected == pytest.approx(
        (np.log1p(np.exp(3.0)) + np.log1p(np.exp(-40.0)) + np.log1p(np.exp(-50.0)) + 50.0) / 3)


def test_residual_stats_by_hand() -> None:
    """mse, bias (median) and resolution (half the 15.865-84.135% range) of residuals, unweighted and weighted."""
    residual = np.arange(-3.0, 4.0)  # -3..3: quantiles 15.865% -> -2, 50% -> 0, 84.135% -> 2 (inverted CDF)
    assert residual_stats(residual) == {"mse": 4.0, "bias": 0.0, "resolution": 2.0}
    # a weight of 4 on +3: cumulative fractions 0.1, ..., 0.6, 1.0 put the median at 1 and the upper quantile at 3
    stats = residual_stats(residual, np.array([1.0, 1, 1, 1, 1, 1, 4]))
    assert stats == {"mse": pytest.approx((9 + 4 + 1 + 0 + 1 + 4 + 36) / 10), "bias": 1.0, "resolution": 2.5}


def test_threshold_and_sculpting_divergence() -> None:
    """Cut at a signal efficiency; JS divergence 0 for no cut and by hand for a one-bin cut."""
    scores = binary_scores(*shifted_uniforms(1001))
    threshold = selection_threshold(scores, 0.5)
    assert threshold == pytest.approx(0.75, abs=1e-3)
    assert np.mean(scores.score[scores.is_signal] >= threshold) == pytest.approx(0.5, abs=1e-3)
    values = np.array([10.0, 20.0, 30.0, 40.0])
    edges = np.array([0.0, 25.0, 50.0])
    everything = np.ones(4, dtype=bool)
    assert sculpting_jsd(values, np.ones(4), everything, edges) == 0.0
    # keeping only the low bin: (1, 0) against the inclusive (1/2, 1/2), whose mixture is (3/4, 1/4)
    low = values < 25
    expected = 0.5 * (np.log2(1 / 0.75)) + 0.5 * (0.5 * np.log2(0.5 / 0.75) + 0.5 * np.log2(0.5 / 0.25))
    assert sculpting_jsd(values, np.ones(4), low, edges) == pytest.approx(expected)


def test_percent_names_an_efficiency() -> None:
    """The name suffix of a signal efficiency."""
    assert [percent(e) for e in (0.3, 0.5, 0.05, 0.125)] == ["30", "50", "5", "12.5"]
