"""Signal-vs-background metrics of a discriminant: weighted ROC curve, background efficiency and rejection at fixed
signal efficiency with binomial uncertainty, and the weighted AUC with its Poisson-bootstrap uncertainty."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score, roc_curve

from rootml.metrics.bootstrap import poisson_bootstrap_std
from rootml.metrics.weights import effective_count


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


def auc(is_signal: np.ndarray, score: np.ndarray, weight: np.ndarray | None = None) -> float:
    """Weighted ROC AUC (sklearn) of `score` for signal (True) against the other jets; NaN when either is absent."""
    is_signal = np.asarray(is_signal, dtype=bool)
    if is_signal.all() or not is_signal.any():
        return float("nan")
    return float(roc_auc_score(is_signal, score, sample_weight=weight))


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


def aucs_with_errors(named: Mapping[str, BinaryScores], weight: np.ndarray, *, n_bootstrap: int,
                     seed: int = 0) -> dict[str, tuple[float, float]]:
    """Weighted AUC of several discriminants on rows of the same jets, and their Poisson-bootstrap standard
    deviations from shared replicas of the jet weights `weight` (indexed by each BinaryScores' rows)."""
    functions = [(scores.rows, auc_of_weights(scores)) for scores in named.values()]
    errors = poisson_bootstrap_std(lambda w: np.array([auc_for(w[rows]) for rows, auc_for in functions]), weight,
                                   n_bootstrap, seed)
    return {name: (auc(scores.is_signal, scores.score, scores.weight), float(error))
            for (name, scores), error in zip(named.items(), errors)}
