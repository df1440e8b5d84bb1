"""Calibration in the evaluation: the expected calibration error (ECE) of each classifier, raw and temperature-scaled
(score_cal_* columns, rootml.training.calibration), for the top-class confidence and for P(signal), and the data of
its reliability diagrams. With evaluate.weighted the bins and the ECE are weighted by the jet weights."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rootml.evaluation.metrics import signal_vs_background
from rootml.evaluation.results import ModelResults
from rootml.metrics.calibration import ReliabilityBins, reliability_bins, top_class
from rootml.metrics.weights import jet_weights
from rootml.plotting.calibration import plot_reliability

# label -> (metric suffix, column prefix) of the raw and the temperature-scaled class probabilities
VERSIONS = {"raw": ("", "score_"), "calibrated": ("_cal", "score_cal_")}
# metrics.csv column -> header of the "Calibration" table of metrics.md
CALIBRATION_HEADERS = {"ece": "ECE top class", "ece_cal": "ECE top class, calibrated", "ece_sb": "ECE P(signal)",
                       "ece_sb_cal": "ECE P(signal), calibrated"}


def with_scores(frame: pd.DataFrame, classes: Sequence[str], prefix: str) -> pd.DataFrame:
    """The table with score_{class} replaced by {prefix}{class} (calibrated or MC dropout probabilities), so the
    selections of rootml.evaluation.metrics apply to them."""
    return frame.assign(**{f"score_{name}": frame[f"{prefix}{name}"] for name in classes})


def has_scores(frame: pd.DataFrame, classes: Sequence[str], prefix: str) -> bool:
    """Whether the table holds a {prefix}{class} column for every class."""
    return all(f"{prefix}{name}" in frame.columns for name in classes)


def reliability(frame: pd.DataFrame, classes: Sequence[str], signal: Sequence[str], background: Sequence[str],
                weighted: bool, n_bins: int) -> dict[str, ReliabilityBins]:
    """Reliability bins of the top-class confidence ("top") and of P(signal) for the signal and background jets
    ("sb")."""
    probabilities = frame[[f"score_{name}" for name in classes]].to_numpy(np.float64)
    confidence, correct = top_class(probabilities, frame["label"].to_numpy())
    scores = signal_vs_background(frame, classes, signal, background, weighted=weighted)
    return {"top": reliability_bins(confidence, correct, jet_weights(frame, weighted), n_bins),
            "sb": reliability_bins(scores.score, scores.is_signal, scores.weight, n_bins)}


def calibration_report(result: ModelResults, classes: Sequence[str], signal: Sequence[str],
                       background: Sequence[str], weighted: bool, n_bins: int, figures_dir: Path) -> dict[str, float]:
    """Write the reliability diagram calibration_{model} of a classifier's test jets, raw and calibrated (when its
    table has score_cal_*); return ece, ece_sb and ece_cal, ece_sb_cal."""
    curves = {label: reliability(with_scores(result.test, classes, prefix), classes, signal, background, weighted,
                                 n_bins)
              for label, (_, prefix) in VERSIONS.items() if has_scores(result.test, classes, prefix)}
    plot_reliability(curves, figures_dir / f"calibration_{result.name}", title=result.name)
    return {f"{metric}{VERSIONS[label][0]}": bins[panel].ece for label, bins in curves.items()
            for metric, panel in (("ece", "top"), ("ece_sb", "sb"))}
