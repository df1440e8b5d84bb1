"""Per-jet uncertainty of a classifier's P(signal): the spread of an ensemble's members or of MC dropout passes,
and how it tracks the error |is_signal - P(signal)| (the "uncertainty vs error" check). Summary numbers: the weighted
mean spread and the Spearman rank correlation of spread and error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from rootml.errors import InputError
from rootml.evaluation.calibration import has_scores, with_scores
from rootml.evaluation.groups import mc_dropout_runs
from rootml.evaluation.metrics import signal_vs_background
from rootml.evaluation.results import ModelResults
from rootml.metrics.binary import BinaryScores, auc
from rootml.plotting.uncertainty import plot_uncertainty_vs_error

MC_DROPOUT, MC_DROPOUT_STD = "score_mcd_", "score_mcd_std_"  # column prefixes (rootml.training.mc_dropout)
# metrics.csv column -> header of the "Per-jet uncertainty" table of metrics.md
UNCERTAINTY_HEADERS = {"uncertainty": "Method", "uncertainty_samples": "Members / passes",
                       "uncertainty_auc_sb": "AUC (ensemble / MC dropout mean)",
                       "reference_auc_sb": "AUC (mean member / deterministic)", "spread_mean": "Mean spread",
                       "spread_error_corr": "Spearman corr(spread, |y - p|)"}


@dataclass(frozen=True)
class PerJetUncertainty:
    """The mean prediction of the signal and background jets (BinaryScores) and the per-jet spread of P(signal)."""

    scores: BinaryScores
    spread: np.ndarray

    @property
    def error(self) -> np.ndarray:
        """|is_signal - P(signal)| of each jet."""
        return np.abs(self.scores.is_signal - self.scores.score)

    @property
    def misclassified(self) -> np.ndarray:
        """Jets on the wrong side of P(signal) = 0.5."""
        return (self.scores.score >= 0.5) != self.scores.is_signal

    def summary(self) -> dict[str, float]:
        """spread_mean (weighted) and spread_error_corr (Spearman; NaN when the spread or the error is constant)."""
        constant = np.ptp(self.spread) == 0 or np.ptp(self.error) == 0
        corr = float("nan") if constant else float(spearmanr(self.spread, self.error).statistic)
        return {"spread_mean": float(np.average(self.spread, weights=self.scores.weight)), "spread_error_corr": corr}

    @property
    def auc(self) -> float:
        """Weighted AUC of the mean prediction."""
        return auc(self.scores.is_signal, self.scores.score, self.scores.weight)

    def report(self, method: str, samples: int, reference_auc: float, out_stem: Path, title: str) -> dict[str, Any]:
        """Write the uncertainty-vs-error figure `out_stem`; return the row of the "Per-jet uncertainty" table."""
        plot_uncertainty_vs_error(self.spread, self.error, self.misclassified, self.scores.weight, out_stem,
                                  title=title)
        return {"uncertainty": method, "uncertainty_samples": samples, "uncertainty_auc_sb": self.auc,
                "reference_auc_sb": reference_auc, **self.summary()}


def mc_dropout_uncertainty(frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str],
                           background: Sequence[str], weighted: bool) -> PerJetUncertainty:
    """P(signal) of the MC dropout mean (score_mcd_*) and its spread: the summed per-class standard deviations of the
    signal classes (exact for one signal class against all others, where P(signal) is that class's probability; an
    upper bound of the spread of their sum otherwise, the passes themselves not being stored)."""
    scores = signal_vs_background(with_scores(frame, classes, MC_DROPOUT), classes, signal, background,
                                  weighted=weighted)
    spread = frame[[f"{MC_DROPOUT_STD}{name}" for name in signal]].to_numpy(np.float64).sum(axis=1)[scores.rows]
    return PerJetUncertainty(scores, spread)


def mc_dropout_reports(results: Mapping[str, ModelResults], rows: Mapping[str, dict[str, Any]],
                       classes: Sequence[str], signal: Sequence[str], background: Sequence[str], weighted: bool,
                       figures_dir: Path) -> None:
    """Add the per-jet uncertainty columns to the row of each MC dropout classifier (its deterministic AUC as the
    reference) and write its uncertainty_{run} figure."""
    for name in mc_dropout_runs({run: result.config for run, result in results.items()}):
        test = results[name].test
        if not has_scores(test, classes, MC_DROPOUT_STD):
            raise InputError(f"model '{name}' has training.mc_dropout but no {MC_DROPOUT_STD}* columns",
                             file=str(results[name].files.predictions_test))
        uncertainty = mc_dropout_uncertainty(test, classes, signal, background, weighted)
        rows[name].update(uncertainty.report("MC dropout", results[name].config["training"]["mc_dropout"],
                                             rows[name]["auc_sb"], figures_dir / f"uncertainty_{name}", name))
