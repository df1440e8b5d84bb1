"""Test metrics of prediction tables, the rows of the metrics table: the signal-vs-background, one-vs-rest and
anomaly selections of a table's jets, and per task the metrics with uncertainties, computed by rootml.metrics.

Uncertainties: rejection and accuracy are binomial (exact for a fixed selection) with the effective number of
weighted jets; AUC, MSE, bias and resolution use a seeded Poisson bootstrap of the jet weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from rootml.errors import ConfigError
from rootml.metrics.binary import BinaryScores, aucs_with_errors, rejection_at, roc
from rootml.metrics.bootstrap import poisson_bootstrap_std
from rootml.metrics.multiclass import accuracy_with_error, macro_mean
from rootml.metrics.names import percent
from rootml.metrics.regression import residual_stats
from rootml.metrics.weights import jet_weights


def validate_groups(classes: Sequence[str], signal: Sequence[str], background: Sequence[str]) -> None:
    """Check signal and background are non-empty, disjoint lists of known classes (config keys evaluate.*)."""
    for key, group in (("evaluate.signal", signal), ("evaluate.background", background)):
        unknown = [name for name in group if name not in classes]
        if not group or unknown:
            raise ConfigError(key, f"must list some of the classes {list(classes)}, got {list(group)}")
    if set(signal) & set(background):
        raise ConfigError("evaluate.background", f"shares classes {sorted(set(signal) & set(background))} with signal")


def grouped_rows(frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str],
                 background: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the jets of the signal and background classes (checked groups), and which of them are signal."""
    validate_groups(classes, signal, background)
    labels = frame["label"].to_numpy()
    index = {name: i for i, name in enumerate(classes)}
    rows = np.flatnonzero(np.isin(labels, [index[name] for name in (*signal, *background)]))
    return rows, np.isin(labels[rows], [index[name] for name in signal])


def signal_vs_background(
    frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str], background: Sequence[str], *,
    weighted: bool = False,
) -> BinaryScores:
    """Jets of the signal and background classes, discriminant sum(p_signal) / (sum(p_signal) + sum(p_background))."""
    rows, is_signal = grouped_rows(frame, classes, signal, background)
    p_signal = frame[[f"score_{name}" for name in signal]].to_numpy(np.float64)[rows].sum(axis=1)
    p_background = frame[[f"score_{name}" for name in background]].to_numpy(np.float64)[rows].sum(axis=1)
    total = p_signal + p_background
    # float32 probabilities can underflow to 0 for both groups: such a jet is undecided (0.5), not NaN
    score = np.divide(p_signal, total, out=np.full_like(total, 0.5), where=total > 0)
    return BinaryScores(is_signal, score, jet_weights(frame, weighted)[rows], rows)


def anomaly_vs_background(
    frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str], background: Sequence[str], *,
    weighted: bool = False,
) -> BinaryScores:
    """Jets of the signal and background classes, discriminant the anomaly score (a cut on it selects anomalies)."""
    rows, is_signal = grouped_rows(frame, classes, signal, background)
    score = frame["anomaly_score"].to_numpy(np.float64)[rows]
    return BinaryScores(is_signal, score, jet_weights(frame, weighted)[rows], rows)


def one_vs_rest(frame: pd.DataFrame, classes: Sequence[str], name: str, *, weighted: bool = False) -> BinaryScores:
    """Jets of class `name` (signal) against all other classes, discriminant score_{name}."""
    is_signal = frame["label"].to_numpy() == list(classes).index(name)
    return BinaryScores(is_signal, frame[f"score_{name}"].to_numpy(np.float64), jet_weights(frame, weighted),
                        np.arange(len(frame)))


def anomaly_scores(frame: pd.DataFrame, classes: Sequence[str], background: Sequence[str], *,
                   weighted: bool = False) -> dict[str, BinaryScores]:
    """Anomaly score of all non-background jets ('all') and of each signal class with jets, against the background."""
    signal = [name for name in classes if name not in background]
    if not signal or not background or set(background) - set(classes):
        raise ValueError(f"anomaly background {list(background)} must be some but not all of {list(classes)}")
    labels = frame["label"].to_numpy()
    index = {name: i for i, name in enumerate(classes)}
    is_background = np.isin(labels, [index[name] for name in background])
    score = frame["anomaly_score"].to_numpy(np.float64)
    weight = jet_weights(frame, weighted)
    groups: Mapping[str, np.ndarray] = {"all": ~is_background, **{name: labels == index[name] for name in signal}}
    out = {}
    for name, is_signal in groups.items():
        if not is_signal.any():
            continue  # a signal class without test jets has no curve
        rows = np.flatnonzero(is_signal | is_background)
        out[name] = BinaryScores(is_signal[rows], score[rows], weight[rows], rows)
    return out


def rejection_metrics(scores: BinaryScores, efficiencies: Sequence[float]) -> dict[str, float]:
    """rejection_{pct} (1/eps_B at each signal efficiency) and rejection_{pct}_err; where no background jet passes
    (rejection inf), rejection_{pct}_limit: the effective number of background jets, which the rejection exceeds."""
    curve = roc(scores)
    rejection, error = rejection_at(curve, efficiencies)
    metrics = {}
    for efficiency, value, err in zip(efficiencies, rejection, error):
        metrics[f"rejection_{percent(efficiency)}"] = float(value)
        metrics[f"rejection_{percent(efficiency)}_err"] = float(err)
        if np.isinf(value) and curve.n_background > 0:
            metrics[f"rejection_{percent(efficiency)}_limit"] = float(curve.n_background)
    return metrics


def auc_metrics(named: Mapping[str, BinaryScores], weight: np.ndarray, n_bootstrap: int, seed: int) -> dict[str, float]:
    """auc_{name} and auc_{name}_err of each discriminant, from shared bootstrap replicas."""
    metrics = {}
    for name, (value, error) in aucs_with_errors(named, weight, n_bootstrap=n_bootstrap, seed=seed).items():
        metrics[f"auc_{name}"], metrics[f"auc_{name}_err"] = value, error
    return metrics


def classification_metrics(
    frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str], background: Sequence[str], *,
    efficiencies: Sequence[float], weighted: bool = False, n_bootstrap: int,
    seed: int = 0,
) -> dict[str, float]:
    """Signal-vs-background auc_sb and rejections, accuracy, and one-vs-rest auc_{class} and their mean auc_macro."""
    weight = jet_weights(frame, weighted)
    labels = frame["label"].to_numpy()
    scores = signal_vs_background(frame, classes, signal, background, weighted=weighted)
    # a class without test jets (or the only class with jets) has no one-vs-rest AUC
    present = [name for i, name in enumerate(classes) if (labels == i).any() and not (labels == i).all()]
    metrics = auc_metrics({"sb": scores, **{name: one_vs_rest(frame, classes, name, weighted=weighted)
                                            for name in present}}, weight, n_bootstrap, seed)
    metrics.update(rejection_metrics(scores, efficiencies))
    probabilities = frame[[f"score_{name}" for name in classes]].to_numpy(np.float64)
    metrics["accuracy"], metrics["accuracy_err"] = accuracy_with_error(labels, probabilities, weight)
    metrics["auc_macro"] = macro_mean([metrics[f"auc_{name}"] for name in present])
    return metrics


def regression_metrics(prediction: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, *,
                       n_bootstrap: int, seed: int = 0) -> dict[str, float]:
    """mse, bias and resolution of prediction - target (target units), each with a bootstrap *_err."""
    residual = np.asarray(prediction, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    weight = np.ones_like(residual) if weight is None else np.asarray(weight, dtype=np.float64)
    if not (np.isfinite(residual).all() and len(residual)):
        raise ValueError("regression metrics need at least one jet with finite prediction and target")
    metrics = residual_stats(residual, weight)
    errors = poisson_bootstrap_std(lambda w: np.array(list(residual_stats(residual, w).values())), weight,
                                   n_bootstrap, seed)
    return {**metrics, **{f"{key}_err": float(err) for key, err in zip(metrics, errors)}}


def anomaly_metrics(
    frame: pd.DataFrame, classes: Sequence[str], background: Sequence[str], *,
    efficiencies: Sequence[float], weighted: bool = False, n_bootstrap: int,
    seed: int = 0,
) -> dict[str, float]:
    """auc_sb and rejections of the anomaly score (signal = the non-background classes), and auc_{class} per signal
    class against the background."""
    curves = anomaly_scores(frame, classes, background, weighted=weighted)
    named = {("sb" if name == "all" else name): scores for name, scores in curves.items()}
    return {**auc_metrics(named, jet_weights(frame, weighted), n_bootstrap, seed),
            **rejection_metrics(curves["all"], efficiencies)}
