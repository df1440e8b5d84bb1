"""Performance metrics on prediction tables: weighted ROC, AUC, accuracy and background rejection at fixed signal
efficiency with uncertainties; one-vs-rest AUC per class; regression (bias, resolution, MSE) and anomaly metrics.

Uncertainties: rejection and accuracy are binomial (exact for a fixed selection) with the effective number of
weighted jets; AUC, MSE, bias and resolution use a seeded Poisson bootstrap of the jet weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import roc_auc_score, roc_curve

from rootml.errors import ConfigError
from rootml.evaluation.names import DEFAULT_EFFICIENCIES, percent

N_BOOTSTRAP = 100
# Quantiles of the residuals whose half distance is the resolution (a Gaussian's +-1 sigma).
RESOLUTION_QUANTILES = (0.15865, 0.84135)


@dataclass(frozen=True)
class BinaryScores:
    """Jets of a signal-vs-background problem: which are signal, their discriminant, weight and row in the table."""

    is_signal: np.ndarray
    score: np.ndarray
    weight: np.ndarray
    rows: np.ndarray

    def __post_init__(self) -> None:
        """Check the arrays have one entry per jet, finite values, and both signal and background jets."""
        n = len(self.score)
        if any(len(array) != n for array in (self.is_signal, self.weight, self.rows)):
            raise ValueError("is_signal, score, weight and rows must have one entry per jet")
        if not (np.isfinite(self.score).all() and np.isfinite(self.weight).all()):
            raise ValueError("scores and weights must be finite")
        if self.is_signal.all() or not self.is_signal.any():
            raise ValueError(f"need both signal and background jets, got {int(self.is_signal.sum())} signal of {n}")

    @property
    def signal_weight(self) -> np.ndarray:
        """Weights of the signal jets."""
        return self.weight[self.is_signal]

    @property
    def background_weight(self) -> np.ndarray:
        """Weights of the background jets."""
        return self.weight[~self.is_signal]


@dataclass(frozen=True)
class RocCurve:
    """A weighted ROC: signal and background efficiency at each threshold, with the effective jet counts."""

    signal_efficiency: np.ndarray
    background_efficiency: np.ndarray
    n_signal: float
    n_background: float


def binary_scores(is_signal: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None) -> BinaryScores:
    """BinaryScores from plain arrays (unit weights when `weight` is None)."""
    score = np.asarray(score, dtype=np.float64)
    weight = np.ones_like(score) if weight is None else np.asarray(weight, dtype=np.float64)
    return BinaryScores(np.asarray(is_signal, dtype=bool), score, weight, np.arange(len(score)))


def validate_groups(classes: Sequence[str], signal: Sequence[str], background: Sequence[str]) -> None:
    """Check signal and background are non-empty, disjoint lists of known classes (config keys evaluate.*)."""
    for key, group in (("evaluate.signal", signal), ("evaluate.background", background)):
        unknown = [name for name in group if name not in classes]
        if not group or unknown:
            raise ConfigError(key, f"must list some of the classes {list(classes)}, got {list(group)}")
    if set(signal) & set(background):
        raise ConfigError("evaluate.background", f"shares classes {sorted(set(signal) & set(background))} with signal")


def jet_weights(frame: pd.DataFrame, weighted: bool) -> np.ndarray:
    """The `weight` column as float64, or ones when `weighted` is False."""
    return frame["weight"].to_numpy(np.float64) if weighted else np.ones(len(frame))


def signal_vs_background(
    frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str], background: Sequence[str], *,
    weighted: bool = False,
) -> BinaryScores:
    """Jets of the signal and background classes, discriminant sum(p_signal) / (sum(p_signal) + sum(p_background))."""
    validate_groups(classes, signal, background)
    labels = frame["label"].to_numpy()
    index = {name: i for i, name in enumerate(classes)}
    rows = np.flatnonzero(np.isin(labels, [index[name] for name in (*signal, *background)]))
    p_signal = frame[[f"score_{name}" for name in signal]].to_numpy(np.float64)[rows].sum(axis=1)
    p_background = frame[[f"score_{name}" for name in background]].to_numpy(np.float64)[rows].sum(axis=1)
    total = p_signal + p_background
    # float32 probabilities can underflow to 0 for both groups: such a jet is undecided (0.5), not NaN
    score = np.divide(p_signal, total, out=np.full_like(total, 0.5), where=total > 0)
    is_signal = np.isin(labels[rows], [index[name] for name in signal])
    return BinaryScores(is_signal, score, jet_weights(frame, weighted)[rows], rows)


def one_vs_rest(frame: pd.DataFrame, classes: Sequence[str], name: str, *, weighted: bool = False) -> BinaryScores:
    """Jets of class `name` (signal) against all other classes, discriminant score_{name}."""
    is_signal = frame["label"].to_numpy() == list(classes).index(name)
    return BinaryScores(is_signal, frame[f"score_{name}"].to_numpy(np.float64), jet_weights(frame, weighted),
                        np.arange(len(frame)))


def effective_count(weight: np.ndarray) -> float:
    """Effective number of weighted jets, (sum w)^2 / sum w^2 (the count itself for unit weights)."""
    sum_squares = float(np.sum(np.square(weight)))
    return float(np.sum(weight)) ** 2 / sum_squares if sum_squares > 0 else 0.0


def roc(scores: BinaryScores) -> RocCurve:
    """Weighted ROC curve of the discriminant (sklearn), with the effective signal and background counts."""
    background_efficiency, signal_efficiency, _ = roc_curve(scores.is_signal, scores.score, sample_weight=scores.weight)
    return RocCurve(signal_efficiency, background_efficiency, effective_count(scores.signal_weight),
                    effective_count(scores.background_weight))


def background_efficiency_at(curve: RocCurve, efficiencies: Sequence[float] | np.ndarray) -> np.ndarray:
    """Background efficiency at each signal efficiency, linear between the ROC's working points."""
    # the ROC can step up in background at a fixed signal efficiency: keep the lowest background efficiency there
    signal_efficiency, first = np.unique(curve.signal_efficiency, return_index=True)
    return np.interp(np.asarray(efficiencies, dtype=np.float64), signal_efficiency, curve.background_efficiency[first])


def rejection_at(curve: RocCurve, efficiencies: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Background rejection 1/eps_B at each signal efficiency and its binomial uncertainty (inf where eps_B is 0)."""
    eps = background_efficiency_at(curve, efficiencies)
    sigma = np.sqrt(eps * (1.0 - eps) / curve.n_background) if curve.n_background > 0 else np.full_like(eps, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        rejection = np.where(eps > 0, 1.0 / eps, np.inf)
        error = np.where(eps > 0, sigma / np.square(eps), np.inf)
    return rejection, error


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


def auc_of_weights(scores: BinaryScores) -> Callable[[np.ndarray], float]:
    """The weighted AUC of fixed scores as a function of the jet weights.

    Hand-written next to sklearn's roc_auc_score because it sorts the scores once: each bootstrap replica then
    costs two bincounts instead of a new sort. Ties count one half, as in roc_auc_score.
    """
    _, group = np.unique(scores.score, return_inverse=True)
    n_groups = int(group.max()) + 1

    def auc_for(weight: np.ndarray) -> float:
        """AUC with these jet weights."""
        signal = np.bincount(group, weights=weight * scores.is_signal, minlength=n_groups)
        background = np.bincount(group, weights=weight * ~scores.is_signal, minlength=n_groups)
        below = np.cumsum(background) - background
        denominator = signal.sum() * background.sum()
        return float(np.sum(signal * (below + 0.5 * background)) / denominator) if denominator > 0 else float("nan")

    return auc_for


def aucs_with_errors(named: Mapping[str, BinaryScores], weight: np.ndarray, *, n_bootstrap: int = N_BOOTSTRAP,
                     seed: int = 0) -> dict[str, tuple[float, float]]:
    """Weighted AUC (sklearn) of several discriminants on rows of the same jets, and their Poisson-bootstrap standard
    deviations from shared replicas of the jet weights `weight` (indexed by each BinaryScores' rows)."""
    functions = [(scores.rows, auc_of_weights(scores)) for scores in named.values()]
    errors = poisson_bootstrap_std(lambda w: np.array([auc_for(w[rows]) for rows, auc_for in functions]), weight,
                                   n_bootstrap, seed)
    return {name: (float(roc_auc_score(scores.is_signal, scores.score, sample_weight=scores.weight)), float(error))
            for (name, scores), error in zip(named.items(), errors)}


def auc_with_error(scores: BinaryScores, *, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> tuple[float, float]:
    """Weighted ROC AUC (sklearn) and its Poisson-bootstrap standard deviation."""
    alone = replace(scores, rows=np.arange(len(scores.score)))
    return aucs_with_errors({"auc": alone}, scores.weight, n_bootstrap=n_bootstrap, seed=seed)["auc"]


def accuracy_with_error(labels: np.ndarray, probabilities: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted fraction of jets whose highest-probability class is their label, with its binomial uncertainty."""
    correct = np.asarray(probabilities).argmax(axis=1) == np.asarray(labels)
    value = float(np.average(correct, weights=weight))
    return value, float(np.sqrt(value * (1.0 - value) / effective_count(weight)))


def selection_threshold(scores: BinaryScores, efficiency: float) -> float:
    """Discriminant cut that keeps the fraction `efficiency` of the (weighted) signal jets."""
    signal = scores.score[scores.is_signal]
    return float(np.quantile(signal, 1.0 - efficiency, weights=scores.signal_weight, method="inverted_cdf"))


def clip_to_edges(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Values moved into the first and last bin when they lie beyond the edges (so that no jet is dropped)."""
    return np.clip(values, edges[0], np.nextafter(edges[-1], -np.inf))


def sculpting_jsd(values: np.ndarray, weight: np.ndarray, passed: np.ndarray, edges: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2) between the histograms of `values` before and after a selection, jets
    beyond the edges counted in the edge bins."""
    values = clip_to_edges(values, edges)
    before, _ = np.histogram(values, bins=edges, weights=weight)
    after, _ = np.histogram(values[passed], bins=edges, weights=weight[passed])
    if before.sum() <= 0 or after.sum() <= 0:
        return float("nan")
    return float(jensenshannon(before, after, base=2) ** 2)


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
    efficiencies: Sequence[float] = DEFAULT_EFFICIENCIES, weighted: bool = False, n_bootstrap: int = N_BOOTSTRAP,
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
    metrics["auc_macro"] = float(np.mean([metrics[f"auc_{name}"] for name in present])) if present else float("nan")
    return metrics


def weighted_residual_stats(residual: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    """mse, bias (weighted median residual) and resolution (half the 15.9-84.1% quantile range)."""
    low, median, high = np.quantile(residual, [RESOLUTION_QUANTILES[0], 0.5, RESOLUTION_QUANTILES[1]], weights=weight,
                                    method="inverted_cdf")
    return {"mse": float(np.average(np.square(residual), weights=weight)), "bias": float(median),
            "resolution": float((high - low) / 2)}


def regression_metrics(prediction: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, *,
                       n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> dict[str, float]:
    """mse, bias and resolution of prediction - target (target units), each with a bootstrap *_err."""
    residual = np.asarray(prediction, dtype=np.float64) - np.asarray(target, dtype=np.float64)
    weight = np.ones_like(residual) if weight is None else np.asarray(weight, dtype=np.float64)
    if not (np.isfinite(residual).all() and len(residual)):
        raise ValueError("regression metrics need at least one jet with finite prediction and target")
    metrics = weighted_residual_stats(residual, weight)
    errors = poisson_bootstrap_std(lambda w: np.array(list(weighted_residual_stats(residual, w).values())), weight,
                                   n_bootstrap, seed)
    return {**metrics, **{f"{key}_err": float(err) for key, err in zip(metrics, errors)}}


def anomaly_metrics(
    frame: pd.DataFrame, classes: Sequence[str], background: Sequence[str], *,
    efficiencies: Sequence[float] = DEFAULT_EFFICIENCIES, weighted: bool = False, n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, float]:
    """auc_sb and rejections of the anomaly score (signal = the non-background classes), and auc_{class} per signal
    class against the background."""
    curves = anomaly_scores(frame, classes, background, weighted=weighted)
    named = {("sb" if name == "all" else name): scores for name, scores in curves.items()}
    return {**auc_metrics(named, jet_weights(frame, weighted), n_bootstrap, seed),
            **rejection_metrics(curves["all"], efficiencies)}


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
