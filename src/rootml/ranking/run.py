"""rank_model: a trained-model directory + the prepared test split -> importance tables, their comparison, the
feature-selection curve, plots and a summary (ranking.json), the rank rule's single entry point."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import shap
import xgboost as xgb

from rootml.atomic import atomic_output
from rootml.errors import ConfigError
from rootml.files import FileSet
from rootml.plotting.ranking import (
    plot_importance_panels,
    plot_ranking_comparison,
    plot_selection_curves,
    plot_shap_bar,
    plot_shap_beeswarm,
    plot_shap_waterfall,
)
from rootml.ranking.compare import compare_rankings, method_importances
from rootml.ranking.metrics import TASK_METRICS
from rootml.ranking.permutation import permutation_importance
from rootml.ranking.selection import SELECTION_METRICS, retrainer, selection_curve
from rootml.ranking.settings import RankingSettings
from rootml.ranking.shap_values import OutputOf, shap_importance, torch_shap, tree_shap
from rootml.ranking.xgb import IMPORTANCE_TYPES, xgb_importance
from rootml.seeds import derive_seed
from rootml.training.data import Prepared, SplitReader, attr_list
from rootml.training.device import configure_torch
from rootml.training.load import TrainedModel, load_trained
from rootml.training.objectives import Anomaly, Classification, Regression
from rootml.training.records import write_json

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("xgb", "permutation", "shap", "selection")
METRIC_LABELS = {"loss": "cross entropy", "auc": "AUC", "mse": "MSE", "resolution": "resolution"}
N_TOP = 5  # features listed per method in ranking.json


@dataclass(frozen=True)
class FeatureAxis:
    """Where ranked features live: an input key, the names along its feature axis, and the mask keeping padded slots
    padded."""

    key: str
    names: list[str]
    mask_key: str | None = None


def check_settings(settings: RankingSettings) -> None:
    """ConfigError naming ranking.<key> for an unknown method or an unknown `selection_by` ranking."""
    bad = [method for method in settings.methods if method not in METHODS]
    if bad:
        raise ConfigError("ranking.methods", f"unknown method {bad[0]!r}; known: {list(METHODS)}")
    orders = [*(f"xgb_{kind}" for kind in IMPORTANCE_TYPES),
              *dict.fromkeys(f"permutation_{m.name}" for metrics in TASK_METRICS.values() for m in metrics), "shap"]
    if settings.selection_by not in (None, *orders):
        raise ConfigError("ranking.selection_by", f"got {settings.selection_by!r}; expected null (mean rank) "
                                                  f"or one of {orders}")


@dataclass(frozen=True)
class RankFiles(FileSet):
    """What the rank rule writes for one model (results/ranking/{model}/, docs/contracts.md); the importance
    tables of the methods that ran ({xgb,permutation,shap}_importance.csv, selection.csv) go next to them."""

    NAMES = {"summary": "ranking.json", "comparison": "comparison.csv", "plots": "plots"}

    summary: Path
    comparison: Path
    plots: Path


def feature_axes(trained: TrainedModel, reader: SplitReader) -> list[FeatureAxis]:
    """The ranked features: high-level columns, the feature channels of each set the model reads, or image
    channels."""
    keys = trained.input_keys
    if "highlevel" in keys:
        return [FeatureAxis("highlevel", reader.feature_names["highlevel"])]
    if reader.sets:
        return [FeatureAxis(reader.set_key(name, "features"), reader.feature_names[name], reader.set_key(name, "mask"))
                for name in reader.sets]
    if "image" in keys:
        path = reader.datasets["image"].path
        with h5py.File(path, "r") as h5:
            return [FeatureAxis("image", attr_list(h5, "channels", path))]
    raise ValueError(f"model {trained.config['name']}: no rankable input among {list(keys)}")


def truth_of(trained: TrainedModel, batch: Mapping[str, np.ndarray]) -> np.ndarray:
    """What the permutation metrics compare the scores with: labels, the regression target, or signal flags."""
    objective = trained.objective
    if isinstance(objective, Regression):
        return batch[objective.target_key]
    if isinstance(objective, Anomaly):
        return ~np.isin(batch["label"], objective.train_labels)
    return batch["label"]


def output_names(trained: TrainedModel, n_outputs: int) -> list[str]:
    """Names of the outputs SHAP explains: classes (a binary booster: class 1's log-odds), target, anomaly score."""
    objective = trained.objective
    if isinstance(objective, Classification):
        return list(objective.classes[-n_outputs:])
    if isinstance(objective, Regression):
        return [objective.target, "log_variance"][:n_outputs]
    return ["anomaly_score"]


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """Write a table (with its feature index) atomically."""
    with atomic_output(path) as tmp:
        table.to_csv(tmp)


class Ranking:
    """One rank_model run: the model, its test jets and settings, and what each method has produced."""

    def __init__(self, trained: TrainedModel, prepared: Prepared, out: RankFiles, settings: RankingSettings) -> None:
        """Take the model and read its first `max_jets` test jets."""
        self.settings, self.prepared = settings, prepared
        self.out_dir, self.plots = out.summary.parent, out.plots
        self.out = out
        self.trained = trained
        self.config = self.trained.config
        objective = self.trained.objective
        reader = SplitReader({rep: prepared["test"][rep] for rep in self.config["representations"]}, "test",
                             max_jets_in_memory=settings.max_jets or np.iinfo(np.int64).max, view=self.trained.view)
        self.axes = feature_axes(self.trained, reader)
        self.highlevel = [axis.key for axis in self.axes] == ["highlevel"]
        self.names = [name for axis in self.axes for name in axis.names]
        rows = reader.n_rows if settings.max_jets is None else min(settings.max_jets, reader.n_rows)
        keys = [*self.trained.input_keys, "weight", *([objective.target_key] if objective.target_key else [])]
        self.batch = next(reader.batches(keys, rows, max_rows=rows))
        self.inputs = {key: self.batch[key] for key in self.trained.input_keys}
        self.metrics = TASK_METRICS[objective.task]
        self.tables: dict[str, pd.DataFrame] = {}
        self.summary: dict[str, Any] = {
            "model": self.config["name"], "family": self.config["family"], "task": objective.task,
            "n_jets": rows, "feature_keys": [axis.key for axis in self.axes],
            "features": self.names, "methods": [],
            "skipped": {}, "seconds": {}, "settings": settings.as_dict(),
        }

    def run(self, method: str) -> None:
        """Run one method when it applies to the model (else record why not), timing it."""
        reason = self.skip_reason(method)
        if reason:
            log.info("%s: %s skipped: %s", self.config["name"], method, reason)
            self.summary["skipped"][method] = reason
            return
        start = time.perf_counter()
        getattr(self, method)()
        self.summary["methods"].append(method)
        self.summary["seconds"][method] = time.perf_counter() - start
        log.info("%s: %s done in %.1f s", self.config["name"], method, self.summary["seconds"][method])

    def skip_reason(self, method: str) -> str | None:
        """Why `method` does not apply to this model, or None."""
        if method == "xgb" and self.config["family"] != "bdt":
            return "XGBoost importances exist for family bdt only"
        if method == "shap" and not self.highlevel:
            return "SHAP values are computed for models on the high-level features only"
        task = self.trained.objective.task
        if method == "selection" and (not self.highlevel or task not in SELECTION_METRICS):
            return "the selection curve retrains classifiers and regressions on the high-level features only"
        return None

    def xgb(self) -> None:
        """weight, cover, gain, total_gain, total_cover of the booster."""
        table = xgb_importance(self.trained.model, self.names)
        self.tables["xgb"] = table
        write_csv(table, self.out_dir / "xgb_importance.csv")
        plot_importance_panels(table, {kind: f"XGBoost {kind.replace('_', ' ')}" for kind in IMPORTANCE_TYPES},
                               self.plots / "xgb_importance", title=f"Model {self.config['name']}")

    def permutation(self) -> None:
        """Loss increase and AUC drop (or the task's metrics) when each feature is shuffled between jets."""
        tables = []
        for axis in self.axes:  # one per set of a model on several sets (the set's name prefixes its features')
            table, baseline = permutation_importance(
                self.trained.predict, self.inputs, truth_of(self.trained, self.batch), self.batch["weight"],
                self.metrics, key=axis.key, feature_names=axis.names, mask_key=axis.mask_key,
                n_repeats=self.settings.n_repeats, seed=derive_seed(self.config["seed"], "rank", "permutation"))
            tables.append(table)
        table = pd.concat(tables)
        self.tables["permutation"] = table
        self.summary["baseline"] = baseline
        write_csv(table, self.out_dir / "permutation_importance.csv")
        columns = {f"{m.name}_{m.degradation}_mean": f"{METRIC_LABELS[m.name]} {m.degradation}" for m in self.metrics}
        plot_importance_panels(table, columns, self.plots / "permutation_importance",
                               errors={column: column.replace("_mean", "_std") for column in columns},
                               title=f"Model {self.config['name']}, {self.settings.n_repeats} shuffles per feature")

    def shap(self) -> None:
        """SHAP values of the first n_shap test jets, their mean |SHAP| table and shap's plots."""
        data = self.inputs["highlevel"][: self.settings.n_shap]
        model = self.trained.model
        if isinstance(model, xgb.Booster):
            # a binary or regression booster has one margin, a multi-class one a margin per class
            n_outputs = 1 if self.trained.objective.n_outputs <= 2 else self.trained.objective.n_outputs
            explanation = tree_shap(model, data, self.names, output_names(self.trained, n_outputs))
        else:
            objective = self.trained.objective
            wrapped = OutputOf(model, lambda module, x: objective.forward(module, [x]))
            background = self.inputs["highlevel"][-self.settings.n_background:]
            explanation = torch_shap(
                wrapped, data, background, self.names, output_names(self.trained, objective.n_outputs),
                explainer=self.settings.shap_explainer, n_samples=self.settings.shap_samples,
                seed=derive_seed(self.config["seed"], "rank", "shap"))
        table = shap_importance(explanation)
        self.tables["shap"] = table
        write_csv(table, self.out_dir / "shap_importance.csv")
        self.plot_shap(explanation)

    def plot_shap(self, explanation: shap.Explanation) -> None:
        """Bar plot of all outputs, a beeswarm per output and waterfalls of the first n_waterfall jets."""
        plots = self.plots
        names = list(explanation.output_names)
        per_output = {name: explanation[:, :, k] for k, name in enumerate(names)}
        plot_shap_bar(per_output, plots / "shap_bar")
        for name, values in per_output.items():
            plot_shap_beeswarm(values, plots / f"shap_beeswarm_{name}", title=f"SHAP values of output '{name}'")
        classes = self.config["classes"]
        for jet in range(min(self.settings.n_waterfall, len(explanation.values))):
            label = int(self.batch["label"][jet])
            output = names.index(classes[label]) if classes[label] in names else 0
            plot_shap_waterfall(explanation[jet, :, output], plots / f"shap_waterfall_jet{jet}",
                                title=f"Jet {jet} (class {classes[label]}), output '{names[output]}'")

    def selection(self) -> None:
        """Retrain on the top-k features (ordered by selection_by, default the mean rank) for k = 1..k_max."""
        by = self.settings.selection_by
        comparison = self.tables["comparison"]
        if by is None:
            ranking = list(comparison.index)
        elif f"rank_{by}" in comparison.columns:
            ranking = list(comparison.sort_values(f"rank_{by}", kind="stable").index)
        else:
            methods = [column.removeprefix("rank_") for column in comparison.columns if column.startswith("rank_")]
            raise ConfigError("ranking.selection_by", f"got {by!r}; the methods run for this model: {methods}")
        metric = SELECTION_METRICS[self.trained.objective.task]
        with tempfile.TemporaryDirectory(dir=self.out_dir, prefix=".selection-") as work_dir:
            score = retrainer(self.config, self.prepared, Path(work_dir), max_jets=self.settings.selection_max_jets,
                              device=self.trained.device, num_threads=self.settings.num_threads)
            curve = selection_curve(score, ranking, self.settings.selection_k_max)
        curve.insert(2, "metric_name", metric)
        self.tables["selection"] = curve
        with atomic_output(self.out_dir / "selection.csv") as tmp:
            curve.to_csv(tmp, index=False)
        plot_selection_curves({self.config["name"]: curve}, self.plots / "selection",
                              metric_label=f"Test {METRIC_LABELS[metric]}")

    def importances(self) -> dict[str, pd.Series]:
        """The importance series of the methods run so far."""
        return method_importances(self.tables.get("xgb"), self.tables.get("permutation"), self.metrics,
                                  self.tables.get("shap"))

    def compare(self) -> None:
        """comparison.csv and its plot; the top features of each method into the summary."""
        importances = self.importances()
        if not importances:
            raise ConfigError("ranking.methods", f"no ranking method among {self.settings.methods} applies to "
                                                 f"model {self.config['name']}: {self.summary['skipped']}")
        table = compare_rankings(importances)
        self.tables["comparison"] = table
        write_csv(table, self.out.comparison)
        plot_ranking_comparison(table, self.plots / "comparison")
        self.summary["top_features"] = {
            method: list(series.sort_values(ascending=False, kind="stable").index[:N_TOP])
            for method, series in importances.items()}
        self.summary["mean_rank_order"] = list(table.index)


def rank_model(config_path: str | Path, weights_path: str | Path, prepared: Prepared, out: RankFiles,
               settings: RankingSettings) -> None:
    """Rank the input features of a trained model (its config and weights) on its prepared test split (and, for the
    selection curve, retrain on every split): write `out` and the tables of the methods that ran next to it."""
    check_settings(settings)
    configure_torch(settings.num_threads)
    out.plots.mkdir(parents=True, exist_ok=True)
    ranking = Ranking(load_trained(config_path, weights_path), prepared, out, settings)
    for method in ("xgb", "permutation", "shap"):
        if method in settings.methods:
            ranking.run(method)
    ranking.compare()
    if "selection" in settings.methods:
        ranking.run("selection")
    write_json(ranking.summary, out.summary)
