"""Test metrics of prediction tables against hand-computed values: the signal-vs-background selection, rejection
limits, per-class AUCs, regression and anomaly metrics, and the metrics tables. The metric core: test_metrics.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from rootml.errors import ConfigError
from rootml.evaluation.metrics import anomaly_metrics, classification_metrics, regression_metrics, signal_vs_background
from rootml.evaluation.tables import format_with_error, markdown_tables, metrics_table

CLASSES = ["g", "q", "t"]
EFFICIENCIES = [0.3, 0.5]


def test_no_background_left_is_reported_as_a_lower_limit() -> None:
    """Where no background jet passes the cut, the table says the rejection exceeds the background count."""
    rng = np.random.default_rng(3)
    is_signal = np.repeat([False, True], [700, 300])
    score = np.where(is_signal, rng.uniform(0.5, 1.5, is_signal.size), rng.uniform(0.0, 1.0, is_signal.size))
    weight = np.where(is_signal, 1.0, 2.0)  # weighted background: the limit is its effective count
    frame = pd.DataFrame({"label": is_signal.astype(int), "score_b": 1 - score, "score_t": score, "weight": weight})
    metrics = classification_metrics(frame, ["b", "t"], ["t"], ["b"], efficiencies=[0.3, 0.9], weighted=True,
                                     n_bootstrap=0)
    assert metrics["rejection_30"] == np.inf and metrics["rejection_30_limit"] == pytest.approx(700.0)
    assert np.isfinite(metrics["rejection_90"]) and "rejection_90_limit" not in metrics
    table = metrics_table({"cut": {"task": "classification", "family": "bdt", **metrics}})
    text = markdown_tables(table, ["b", "t"], ["t"], ["b"], [0.3, 0.9])
    row = next(line for line in text.splitlines() if line.startswith("| cut"))
    assert "> 700" in row and "inf" not in row


def frame_of(labels: list[int], probabilities: list[list[float]], weight: list[float] | None = None) -> pd.DataFrame:
    """A prediction table of classes g, q, t."""
    p = np.asarray(probabilities)
    return pd.DataFrame({"event_id": np.arange(len(labels)), "label": labels,
                         "weight": np.ones(len(labels)) if weight is None else weight,
                         **{f"score_{c}": p[:, i] for i, c in enumerate(CLASSES)}})


def test_signal_vs_background_discriminant_and_rows() -> None:
    """The discriminant on three hand-written jets; bad class lists name the config key."""
    frame = frame_of([2, 0, 1, 2], [[0.2, 0.2, 0.6], [0.5, 0.4, 0.1], [0.1, 0.6, 0.3], [0.0, 0.0, 0.0]])
    scores = signal_vs_background(frame, CLASSES, ["t"], ["g"])
    assert scores.rows.tolist() == [0, 1, 3]  # the q jet is neither signal nor background
    assert scores.is_signal.tolist() == [True, False, True]
    assert scores.score == pytest.approx([0.6 / 0.8, 0.1 / 0.6, 0.5])  # 0/0 counts as undecided
    with pytest.raises(ConfigError, match="evaluate.signal"):
        signal_vs_background(frame, CLASSES, ["W"], ["g"])
    with pytest.raises(ConfigError, match="evaluate.background"):
        signal_vs_background(frame, CLASSES, ["t"], ["t", "g"])


def test_classification_metrics_one_vs_rest_and_determinism() -> None:
    """Per-class AUCs skip absent classes; the same seed gives the same errors."""
    rng = np.random.default_rng(11)
    labels = rng.integers(0, 2, 400) * 2  # classes g and t only: q has no jets and no one-vs-rest AUC
    logits = rng.normal(0, 1, (400, 3))
    logits[np.arange(400), labels] += 2.0
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = frame_of(labels.tolist(), p.tolist())
    metrics = classification_metrics(frame, CLASSES, ["t"], ["g", "q"], efficiencies=EFFICIENCIES, n_bootstrap=20,
                                     seed=7)
    assert "auc_q" not in metrics
    assert metrics["auc_macro"] == pytest.approx((metrics["auc_g"] + metrics["auc_t"]) / 2)
    assert metrics["auc_t"] == pytest.approx(roc_auc_score(labels == 2, p[:, 2]))
    assert metrics == classification_metrics(frame, CLASSES, ["t"], ["g", "q"], efficiencies=EFFICIENCIES,
                                             n_bootstrap=20, seed=7)
    assert metrics["auc_sb_err"] != classification_metrics(frame, CLASSES, ["t"], ["g"], efficiencies=EFFICIENCIES,
                                                            n_bootstrap=20, seed=8)["auc_sb_err"]


def test_regression_metrics_by_hand() -> None:
    """Bias, resolution and MSE of a constant shift and of Gaussian residuals."""
    target = np.arange(1.0, 6.0)
    metrics = regression_metrics(target + 3.0, target, n_bootstrap=10)
    assert (metrics["bias"], metrics["resolution"], metrics["mse"]) == (3.0, 0.0, 9.0)
    assert metrics["bias_err"] == 0.0
    rng = np.random.default_rng(2)
    target = rng.uniform(50, 150, 20000)
    metrics = regression_metrics(target + rng.normal(-1.0, 5.0, 20000), target, n_bootstrap=30, seed=1)
    assert metrics["bias"] == pytest.approx(-1.0, abs=0.15)
    assert metrics["resolution"] == pytest.approx(5.0, rel=0.03)
    assert metrics["mse"] == pytest.approx(26.0, rel=0.03)
    assert 0 < metrics["resolution_err"] < 0.1


def test_anomaly_metrics_per_signal_class() -> None:
    """AUC of the anomaly score by counting ordered signal-background pairs."""
    labels = np.array([0, 0, 1, 1, 2, 2])
    frame = pd.DataFrame({"label": labels, "weight": np.ones(6), "anomaly_score": [0.1, 0.2, 0.3, 0.15, 0.9, 0.25]})
    metrics = anomaly_metrics(frame, CLASSES, ["g"], efficiencies=EFFICIENCIES, n_bootstrap=0)
    # signal q and t: scores 0.3, 0.15, 0.9, 0.25 against background 0.1, 0.2: 7 of 8 pairs ordered
    assert metrics["auc_sb"] == pytest.approx(7 / 8)
    assert metrics["auc_q"] == pytest.approx(3 / 4) and metrics["auc_t"] == 1.0
    with pytest.raises(ValueError, match="some but not all"):
        anomaly_metrics(frame, CLASSES, CLASSES, efficiencies=EFFICIENCIES, n_bootstrap=0)


def test_format_and_markdown_tables() -> None:
    """Value-error formatting and the markdown tables per task."""
    assert format_with_error(0.98765, 0.00123) == "0.9877 ± 0.0012"
    assert format_with_error(1234.4, 56.7) == "1234 ± 57"
    assert format_with_error(3.14159, float("nan")) == "3.142"
    table = metrics_table({"pnet": {"task": "classification", "family": "particlenet", "auc_sb": 0.9,
                                    "auc_sb_err": 0.01, "auc_t": 0.95, "auc_t_err": 0.002},
                           "mreg": {"task": "regression", "family": "mlp", "target": "jet_mass", "mse": 4.0,
                                    "mse_err": 0.5}})
    assert list(table.columns[:3]) == ["model", "family", "task"]
    text = markdown_tables(table, CLASSES, ["t"], ["g", "q"], [0.5])
    assert "## Classification: t vs g, q" in text and "| pnet    | particlenet | 0.900 ± 0.010 |" in text
    assert "4.00 ± 0.50" in text and "Anomaly" not in text
