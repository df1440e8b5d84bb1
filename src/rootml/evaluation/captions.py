"""Captions of the evaluation figures by figure stem, light enough for the Snakefile to import (no numpy,
matplotlib, scipy or scikit-learn)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rootml.evaluation.groups import ensemble_members, mc_dropout_runs
from rootml.metrics.names import percent


def calibration_caption(name: str) -> str:
    """Caption of the reliability diagram of a classifier or an ensemble."""
    return (f"{name}: reliability diagrams of the test jets, top-class confidence against accuracy (left) and "
            "P(signal) against the fraction of signal jets (right), in equal-width bins, raw and temperature-scaled "
            "(T fitted on the validation jets); legend: expected calibration error.")


def uncertainty_caption(name: str, spread: str) -> str:
    """Caption of the uncertainty-vs-error figure of an ensemble or an MC dropout model, its spread described."""
    return (f"{name}: per-jet uncertainty ({spread}) against the error: mean |y - P(signal)| and misclassification "
            "rate in quantile bins of the spread (left); spread of correctly and wrongly classified jets, unit area "
            "(right).")


def expected_figures(
    models: Mapping[str, Mapping[str, Any]], signal: Sequence[str], background: Sequence[str],
    efficiencies: Sequence[float], reference: str | None = None,
    sculpting_observable: str | None = "jet_mass", classes: Sequence[str] = (),
) -> dict[str, str]:
    """Figure stem (under figures/, no suffix) -> caption, for models given as name -> config entry (family, task,
    target, background): exactly the figures evaluate_models writes (roc_per_class with more than two classes, the
    sculpting figures when there is an observable to sculpt)."""
    groups = f"{', '.join(signal)} vs {', '.join(background)}"
    classifiers = [name for name, entry in models.items() if entry.get("task", "classification") == "classification"]
    figures: dict[str, str] = {}
    if classifiers:
        figures["roc"] = (f"Background rejection 1/ε_B against signal efficiency ε_S ({groups}) of every classifier, "
                          f"with binomial uncertainty bands; lower panel: ratio to {reference or classifiers[0]}.")
        if len(classes) > 2:
            figures["roc_per_class"] = ("One-vs-rest ROC per class (one panel each): rejection of all other classes "
                                        "against the efficiency of the class, every classifier, binomial bands.")
        for efficiency in efficiencies if sculpting_observable is not None else ():
            figures[f"sculpting_eff{percent(efficiency)}"] = (
                f"Background ({', '.join(background)}) {sculpting_observable} distribution (unit area) before and "
                f"after each classifier's cut at {percent(efficiency)}% signal efficiency, jets beyond the axis in the "
                "edge bins; legend: Jensen-Shannon divergence to the inclusive distribution.")
        decorrelated = [name for name in classifiers if (models[name].get("training") or {}).get("decorrelation")]
        if sculpting_observable is not None and decorrelated:
            figures["decorrelation"] = (
                f"Mass decorrelation (DisCo): background rejection against 1/JSD of the background "
                f"{sculpting_observable} after the cut, per signal efficiency (panels); the runs that differ only by "
                "the decorrelation strength λ joined and labelled with it, the other classifiers as squares.")
    for name, entry in models.items():
        task = entry.get("task", "classification")
        if task == "classification":
            figures[f"scores_{name}"] = (
                f"{name}: {groups} discriminant per class, test (points) over train (filled), unit area; legend: "
                "Kolmogorov-Smirnov p-value of train vs test (overtraining check).")
            figures[f"confusion_{name}"] = (
                f"{name}: confusion matrix of the most probable class on the test split, normalised per true class.")
            figures[f"calibration_{name}"] = calibration_caption(name)
        elif task == "anomaly":
            figures[f"anomaly_{name}"] = (
                f"{name}: reconstruction error per class (left); background rejection of the error against signal "
                "efficiency, per signal class and combined (right).")
        figures[f"training_{name}"] = (f"{name}: training and validation loss, validation accuracy and AUC, and "
                                       "learning rate per epoch (per boosting round for BDTs).")
    for name, members in ensemble_members(models).items():
        figures[f"calibration_{name}"] = calibration_caption(name)
        figures[f"uncertainty_{name}"] = uncertainty_caption(name, f"standard deviation of the P(signal) of its "
                                                                   f"members {', '.join(members)}")
    for name in mc_dropout_runs(models):
        figures[f"uncertainty_{name}"] = uncertainty_caption(name, "standard deviation of P(signal) over the MC "
                                                                   "dropout passes")
    for target in dict.fromkeys(e["target"] for e in models.values() if e.get("task") == "regression"):
        figures[f"regression_{target}"] = (
            f"Regression of {target}: residual distribution (left); response prediction/true in bins of the true "
            "value, median and 15.9-84.1% band (right).")
    return figures
