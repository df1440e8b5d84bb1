"""Evaluation of all trained models: metrics tables (metrics.csv, metrics.md) and every evaluation figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.errors import ConfigError, InputError
from rootml.evaluation.calibration import calibration_report
from rootml.evaluation.captions import expected_figures
from rootml.evaluation.decorrelation import decorrelation_figure
from rootml.evaluation.ensemble import ensemble_reports, ensembles_of
from rootml.evaluation.metrics import (
    anomaly_metrics,
    anomaly_scores,
    anomaly_vs_background,
    classification_metrics,
    one_vs_rest,
    regression_metrics,
    signal_vs_background,
    validate_groups,
)
from rootml.evaluation.results import ModelResults, ResultFiles, load_model_results
from rootml.evaluation.settings import EvaluateSettings
from rootml.evaluation.tables import metrics_table, write_tables
from rootml.evaluation.uncertainty import mc_dropout_reports
from rootml.files import FileSet
from rootml.metrics.binary import roc
from rootml.metrics.names import percent
from rootml.metrics.sculpting import sculpting_jsd, selection_threshold
from rootml.metrics.weights import jet_weights
from rootml.plotting.anomaly import plot_anomaly
from rootml.plotting.confusion import plot_confusion
from rootml.plotting.curves import plot_training_curves
from rootml.plotting.inputs import FEATURE_LABELS
from rootml.plotting.regression import plot_regression
from rootml.plotting.roc import plot_class_rocs, plot_rejection
from rootml.plotting.scores import Sample, plot_score_distributions
from rootml.plotting.sculpting import plot_sculpting
from rootml.seeds import derive_seed

N_SCULPTING_BINS = 40
SCULPTING_QUANTILES = (0.005, 0.995)  # default axis of the sculpting figure: this central range of the background


def samples_per_class(frame: pd.DataFrame, scores: np.ndarray, rows: np.ndarray, classes: Sequence[str],
                      names: Sequence[str], weighted: bool) -> dict[str, Sample]:
    """(scores, weights) of the jets of each class in `names`; `scores` belong to the table rows `rows`."""
    labels = frame["label"].to_numpy()[rows]
    weight = jet_weights(frame, weighted)[rows]
    return {name: (scores[labels == classes.index(name)], weight[labels == classes.index(name)]) for name in names}


def sculpting_edges(values: np.ndarray, value_range: Sequence[float] | None) -> np.ndarray:
    """Bin edges of the sculpting figure: `value_range`, or the central range of the background values."""
    low, high = value_range if value_range is not None else np.quantile(values, SCULPTING_QUANTILES)
    return np.linspace(low, high if high > low else low + 1.0, N_SCULPTING_BINS + 1)


def check_options(results: Mapping[str, ModelResults], classes: Sequence[str], signal: Sequence[str],
                  background: Sequence[str], efficiencies: Sequence[float], reference: str | None,
                  sculpting_observable: str | None) -> None:
    """Check the evaluate.* options against the classes and the loaded models."""
    validate_groups(classes, signal, background)
    classifiers = [name for name, r in results.items() if r.task == "classification"]
    if reference is not None and reference not in classifiers:
        raise ConfigError("evaluate.reference_model", f"'{reference}' is not a classifier among {classifiers}")
    column = f"obs_{sculpting_observable}"
    sculpted = [*classifiers, *(name for name, r in results.items() if sculpted_anomaly(r, background))]
    for name in sculpted if sculpting_observable is not None else ():
        if column not in results[name].test.columns:
            raise InputError(f"no observer column for the sculpting figure of model '{name}'", branch=column)


def sculpted_anomaly(result: ModelResults, background: Sequence[str]) -> bool:
    """An anomaly detector whose training classes are all among the evaluation's background (its score then
    selects the signal as anomalous)."""
    return result.task == "anomaly" and set(result.config["background"]) <= set(background)


def sculpting_figures(
    results: Mapping[str, ModelResults], rows: Mapping[str, dict[str, Any]], classes: Sequence[str],
    signal: Sequence[str], background: Sequence[str], efficiencies: Sequence[float], weighted: bool, observable: str,
    value_range: Sequence[float] | None, figures_dir: Path,
) -> list[Path]:
    """One sculpting figure per signal efficiency over all classifiers and the anomaly detectors trained on background
    classes only (a cut on the anomaly score); adds jsd_{pct} to each one's row."""
    scores = {name: signal_vs_background(r.test, classes, signal, background, weighted=weighted)
              for name, r in results.items() if r.task == "classification"}
    scores |= {name: anomaly_vs_background(r.test, classes, signal, background, weighted=weighted)
               for name, r in results.items() if sculpted_anomaly(r, background)}
    first = next(iter(scores))
    frame = results[first].test
    for name in scores:
        if not np.array_equal(results[name].test["event_id"].to_numpy(), frame["event_id"].to_numpy()):
            raise InputError(f"test predictions of '{name}' and '{first}' hold different jets; the sculpting figure "
                             "compares cuts on the same jets",
                             file=str(results[name].files.predictions_test))
    background_rows = scores[first].rows[~scores[first].is_signal]
    values = frame[f"obs_{observable}"].to_numpy(np.float64)[background_rows]
    weight = scores[first].background_weight
    edges = sculpting_edges(values, value_range)
    written = []
    for efficiency in efficiencies:
        passed = {}
        for name, s in scores.items():
            passed[name] = s.score[~s.is_signal] >= selection_threshold(s, efficiency)
            rows[name][f"jsd_{percent(efficiency)}"] = sculpting_jsd(values, weight, passed[name], edges)
        written += plot_sculpting(values, weight, passed, figures_dir / f"sculpting_eff{percent(efficiency)}",
                                  edges=edges, efficiency=efficiency, xlabel=FEATURE_LABELS.get(observable, observable),
                                  background_label=", ".join(background))
    return written


def model_figures(result: ModelResults, classes: Sequence[str], signal: Sequence[str], background: Sequence[str],
                  weighted: bool, figures_dir: Path) -> list[Path]:
    """The figures of one model: training curves, and scores + confusion (classifier) or anomaly figure."""
    name = result.name
    written = plot_training_curves(result.history, figures_dir / f"training_{name}", title=name,
                                   x_label="Boosting round" if result.family == "bdt" else "Epoch")
    if result.task == "classification":
        groups = [*signal, *background]
        test = signal_vs_background(result.test, classes, signal, background, weighted=weighted)
        train = signal_vs_background(result.train, classes, signal, background, weighted=weighted)
        written += plot_score_distributions(
            samples_per_class(result.test, test.score, test.rows, classes, groups, weighted),
            figures_dir / f"scores_{name}",
            train=samples_per_class(result.train, train.score, train.rows, classes, groups, weighted),
            xlabel=f"Discriminant {', '.join(signal)} vs {', '.join(background)}", title=name)
        written += plot_confusion(result.test["label"].to_numpy(),
                                  result.test[[f"score_{c}" for c in classes]].to_numpy(), classes,
                                  figures_dir / f"confusion_{name}", weight=jet_weights(result.test, weighted),
                                  title=name)
    elif result.task == "anomaly":
        model_background = result.config["background"]
        curves = {("all signal" if key == "all" else key): roc(s)
                  for key, s in anomaly_scores(result.test, classes, model_background, weighted=weighted).items()}
        error = result.test["anomaly_score"].to_numpy(np.float64)
        written += plot_anomaly(
            samples_per_class(result.test, error, np.arange(len(error)), classes, classes, weighted), curves,
            figures_dir / f"anomaly_{name}", title=name, background_label=", ".join(model_background))
    return written


def model_metrics(result: ModelResults, classes: Sequence[str], signal: Sequence[str], background: Sequence[str],
                  efficiencies: Sequence[float], weighted: bool, n_bootstrap: int, seed: int) -> dict[str, Any]:
    """family, task and the test metrics of the model's task (with target or background where they apply)."""
    test = result.test
    row: dict[str, Any] = {"family": result.family, "task": result.task}
    if result.task == "classification":
        row.update(classification_metrics(test, classes, signal, background, efficiencies=efficiencies,
                                          weighted=weighted, n_bootstrap=n_bootstrap, seed=seed))
    elif result.task == "regression":
        row["target"] = result.config["target"]
        row.update(regression_metrics(test["prediction"], test["target"], jet_weights(test, weighted),
                                      n_bootstrap=n_bootstrap, seed=seed))
    else:
        row["background"] = ",".join(result.config["background"])
        row.update(anomaly_metrics(test, classes, result.config["background"], efficiencies=efficiencies,
                                   weighted=weighted, n_bootstrap=n_bootstrap, seed=seed))
    return row


@dataclass(frozen=True)
class EvaluationFiles(FileSet):
    """What the evaluate rule writes (results/evaluation/, docs/contracts.md)."""

    NAMES = {"metrics_csv": "metrics.csv", "metrics_md": "metrics.md", "figures": "figures"}

    metrics_csv: Path
    metrics_md: Path
    figures: Path


def evaluate_models(models: Mapping[str, ResultFiles], classes: Sequence[str], settings: EvaluateSettings, seed: int,
                    out: EvaluationFiles) -> dict[str, Any]:
    """Write the metrics tables and every evaluation figure (out.figures/*.{pdf,png}) of the models (name -> files).

    Returns {"metrics": DataFrame (one row per model), "tables": [csv, md paths], "figures": {stem: caption}} where
    each stem (a path without suffix) has a .pdf and a .png.
    """
    if not models:
        raise ValueError("no models to evaluate")
    classes = list(classes)
    signal, background, efficiencies = settings.signal, settings.background, settings.efficiencies
    weighted, reference = settings.weighted, settings.reference_model
    observable, value_range = settings.sculpting["observable"], settings.sculpting["range"]
    results = {name: load_model_results(name, files, classes) for name, files in models.items()}
    check_options(results, classes, signal, background, efficiencies, reference, observable)
    figures_dir = out.figures
    ensembles = ensembles_of(results, classes, signal, background, weighted)  # seed copies averaged
    evaluated = {**results, **{name: ensemble.result for name, ensemble in ensembles.items()}}
    rows = {name: model_metrics(result, classes, signal, background, efficiencies, weighted, settings.n_bootstrap,
                                derive_seed(seed, "evaluate", name)) for name, result in evaluated.items()}
    curves = {name: roc(signal_vs_background(r.test, classes, signal, background, weighted=weighted))
              for name, r in evaluated.items() if r.task == "classification"}
    if curves:
        groups = {name: evaluated[name].config["model"] for name in curves}  # seed copies -> their entry
        plot_rejection(curves, figures_dir / "roc", reference=reference, signal_label=", ".join(signal),
                       background_label=", ".join(background), groups=groups)
        if observable is not None:
            sculpting_figures(results, rows, classes, signal, background, efficiencies, weighted, observable,
                              value_range, figures_dir)
            decorrelation_figure({name: r.config for name, r in results.items()}, rows, efficiencies, observable,
                                 figures_dir)
        if len(classes) > 2:
            plot_class_rocs({name: {model: roc(one_vs_rest(evaluated[model].test, classes, name, weighted=weighted))
                                    for model in curves} for name in classes}, figures_dir / "roc_per_class",
                            groups=groups)
    for result in results.values():
        model_figures(result, classes, signal, background, weighted, figures_dir)
    for name in curves:  # reliability diagrams and ECE, raw and temperature-scaled (rootml.evaluation.calibration)
        rows[name].update(calibration_report(evaluated[name], classes, signal, background, weighted,
                                             settings.calibration_bins, figures_dir))
    ensemble_reports(ensembles, rows, figures_dir)
    mc_dropout_reports(results, rows, classes, signal, background, weighted, figures_dir)
    for target in dict.fromkeys(r.config["target"] for r in results.values() if r.task == "regression"):
        tables = {name: r.test for name, r in results.items()
                  if r.task == "regression" and r.config["target"] == target}
        plot_regression(tables, figures_dir / f"regression_{target}", target_label=FEATURE_LABELS.get(target, target),
                        weighted=weighted)
    table = metrics_table(rows)
    write_tables(table, out.metrics_csv, out.metrics_md, classes, signal, background, efficiencies)
    captions = expected_figures({name: r.config for name, r in results.items()}, signal, background, efficiencies,
                                reference, observable, classes)
    return {"metrics": table, "tables": [out.metrics_csv, out.metrics_md],
            "figures": {figures_dir / stem: caption for stem, caption in captions.items()}}
