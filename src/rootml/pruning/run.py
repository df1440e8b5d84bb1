"""prune_model: a trained model -> pruning table, pruned weights, checked ONNX file and latency table."""

from __future__ import annotations

import copy
import itertools
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from torch import nn

from rootml.atomic import atomic_output
from rootml.errors import ConfigError, InputError
from rootml.files import FileSet
from rootml.plotting.pruning import plot_class_metric_vs_sparsity
from rootml.pruning.latency import Backend, Timing, latency_table, take_rows
from rootml.pruning.onnx_export import PARTICLE_AXIS, check_onnx, export_onnx, is_set_input
from rootml.pruning.prune import PruningStep, iterative_prune
from rootml.pruning.settings import PruningSettings
from rootml.seeds import derive_seed
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import configure_torch
from rootml.training.inference import collect, torch_forward
from rootml.training.load import TrainedModel, load_trained
from rootml.training.records import save_torch, write_json
from rootml.training.settings import TrainingSettings
from rootml.training.trainer import FitSetup, fit

log = logging.getLogger(__name__)

# Metric followed against sparsity when `metric` is null: the headline test metric of each task.
TASK_METRICS = {"classification": "auc", "anomaly": "auc", "regression": "resolution"}
EVAL_BATCH = 1024
ONNX_EXAMPLE_JETS = 4  # jets in the export example (>= 2 keeps the batch axis symbolic)
ONNX_CHECK_JETS = 64


def class_aucs(metrics: Mapping[str, Any], classes: Sequence[str]) -> dict[str, float | None]:
    """The per-class one-vs-rest AUCs (auc_{class}) of a classifier's metrics; empty for other tasks."""
    return {f"auc_{name}": metrics[f"auc_{name}"] for name in classes if f"auc_{name}" in metrics}


def fewer_particles(inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inputs with only the first half (+ 1) of the slots of each set input (other inputs unchanged)."""
    return {key: np.ascontiguousarray(value[..., :value.shape[PARTICLE_AXIS] // 2 + 1]) if is_set_input(key) else value
            for key, value in inputs.items()}


def evaluator(
    trained: TrainedModel, reader: SplitReader, metric: str, max_rows: int | None,
    record: list[dict[str, Any]] | None = None,
) -> Callable[[nn.Module], float]:
    """evaluate(model) -> the objective's `metric` of `model` on `reader`'s split (first `max_rows` jets).

    Each call appends all metrics of the objective (auc_{class} of a classifier among them) to `record`.
    """
    objective = trained.objective
    meta_keys = ["label", "weight", *([objective.target_key] if objective.target_key else [])]

    def evaluate(model: nn.Module) -> float:
        """Run the model over the split and compute the metric."""
        model.eval()
        collected = collect(torch_forward(model, objective, trained.device), reader, trained.input_keys, meta_keys,
                            EVAL_BATCH, max_rows=max_rows)
        metrics = objective.metrics(collected.outputs, collected.meta)
        if record is not None:
            record.append(metrics)
        if metric not in metrics:
            raise ConfigError("pruning.metric", f"'{metric}' is not a metric of a {objective.task} model; "
                                                f"known: {sorted(metrics)}")
        value = metrics[metric]
        if value is None:
            raise InputError(f"metric '{metric}' is undefined on the {reader.split} split (a class is missing)",
                             file=", ".join(map(str, reader.paths)))
        return float(value)

    return evaluate


def fine_tuner(
    trained: TrainedModel, readers: Mapping[str, SplitReader], settings: TrainingSettings, scratch: Path,
) -> Callable[[nn.Module], None]:
    """fine_tune(model) -> None: `settings.epochs` epochs of the trainer on the pruned model (masks stay applied)."""
    name = trained.config["name"]
    steps = itertools.count(1)

    def fine_tune(model: nn.Module) -> None:
        """Train in place with the model's objective; the trainer keeps the best validation epoch."""
        step = next(steps)
        setup = FitSetup(trained.objective, settings, readers["train"], readers["val"], trained.device,
                         derive_seed(trained.config["seed"], "prune", step), scratch / f"step{step}.pt",
                         f"{name}/prune/{step}", f"{name} fine-tune {step}", progress=False)
        fit(model, setup)

    return fine_tune


def prune_trained(
    trained: TrainedModel, readers: Mapping[str, SplitReader], options: PruningSettings, metric: str, scratch: Path,
    record: list[dict[str, Any]] | None = None,
) -> tuple[list[PruningStep], nn.Module]:
    """Run the pruning schedule of `options` on the trained model (in place), fine-tuning unless 0 epochs.

    record receives all metrics of each evaluated step, in the order of the returned steps.
    """
    fine_tune = None
    if options.fine_tune_epochs > 0:
        settings = replace(TrainingSettings(**trained.config["training"]), epochs=options.fine_tune_epochs,
                           warmup_epochs=0, lr=options.fine_tune_lr or trained.config["training"]["lr"])
        fine_tune = fine_tuner(trained, readers, settings, scratch)
    evaluate = evaluator(trained, readers[options.eval_split], metric, options.max_eval_jets, record)
    return iterative_prune(trained.model, options.sparsities, evaluate, fine_tune, module_types=options.module_types)


def export_checked(model: nn.Module, inputs: Mapping[str, np.ndarray], path: Path, name: str,
                   options: PruningSettings) -> float:
    """Export `model` to ONNX and check it on real jets, also with fewer slots of each set; the max |difference|."""
    export_onnx(model, take_rows(inputs, ONNX_EXAMPLE_JETS), path, name=name, opset=options.onnx_opset)
    check = take_rows(inputs, ONNX_CHECK_JETS)
    fewer = any(value.shape[PARTICLE_AXIS] > 2 for key, value in check.items() if is_set_input(key))
    batches = [check] + ([fewer_particles(check)] if fewer else [])
    return max(check_onnx(path, model, batch, name=name, atol=options.onnx_atol) for batch in batches)


@dataclass(frozen=True)
class PruneFiles(FileSet):
    """What the prune rule writes for one model (results/prune/{model}/, docs/contracts.md)."""

    NAMES = {"table": "pruning.csv", "summary": "pruning.json", "weights": "model_pruned.pt", "onnx": "model.onnx",
             "latency": "latency.csv", "plots": "plots"}

    table: Path
    summary: Path
    weights: Path
    onnx: Path
    latency: Path
    plots: Path


def prune_model(config_path: str | Path, weights_path: str | Path, prepared: Prepared, out: PruneFiles,
                options: PruningSettings) -> None:
    """Prune a trained torch model step by step, export and check it as ONNX, time it; write `out`.

    out.table / out.summary: metric against measured sparsity (CSV, JSON); out.weights: state_dict of the last step
    (zeros in place); out.onnx: the pruned model; out.latency: dense, pruned and onnxruntime timings; out.plots: the
    per-class AUC figure (auc_per_class.png/pdf) of a classifier of more than two classes.
    """
    configure_torch(options.num_threads)
    trained = load_trained(config_path, weights_path)
    config = trained.config
    name = config["name"]
    key = f"models.{config['model']}"
    if not isinstance(trained.model, nn.Module):
        raise ConfigError(f"{key}.family", f"only torch models can be pruned, model '{name}' is a '{config['family']}'")
    metric = options.metric or TASK_METRICS[trained.objective.task]
    readers = {split: SplitReader({rep: prepared[split][rep] for rep in config["representations"]}, split,
                                  config["training"]["max_jets_in_memory"], view=trained.view, view_key=key)
               for split in sorted({"train", "val", options.eval_split})}
    dense = copy.deepcopy(trained.model)
    out.plots.mkdir(parents=True, exist_ok=True)
    recorded: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix=".fine_tune_", dir=out.plots.parent) as scratch:
        table, pruned = prune_trained(trained, readers, options, metric, Path(scratch), recorded)
    for row in table:
        log.info("%s: sparsity %.4f (target %.2f): %s %.5f, %d of %d parameters non-zero", name, row.sparsity,
                 row.target_sparsity, metric, row.metric, row.n_nonzero, row.n_parameters)
    pruned = pruned.cpu().eval()
    with atomic_output(out.weights) as tmp:
        save_torch(pruned.state_dict(), tmp)

    n_inputs = max(ONNX_CHECK_JETS, *options.latency_batches)
    batch = next(readers[options.eval_split].batches(list(pruned.input_keys), n_inputs, max_rows=n_inputs))
    inputs = {key: batch[key].astype(np.float32) for key in pruned.input_keys}
    difference = export_checked(pruned, inputs, out.onnx, name, options)

    timing = Timing(options.latency_warmup, options.latency_repeats, options.latency_budget_s)
    backends = [
        Backend("torch_dense", dense),
        Backend("torch_pruned", pruned),
        Backend("onnxruntime", pruned, out.onnx),
    ]
    latency = latency_table(name, backends, inputs, batch_sizes=options.latency_batches, timing=timing)
    with atomic_output(out.latency) as tmp:
        latency.to_csv(tmp, index=False)
    classes = list(config["classes"])
    steps = [{**row.as_dict(), **class_aucs(metrics, classes)} for row, metrics in zip(table, recorded)]
    with atomic_output(out.table) as tmp:
        pd.DataFrame(steps).to_csv(tmp, index=False)
    if trained.objective.task == "classification" and len(classes) > 2:
        plot_class_metric_vs_sparsity(pd.DataFrame(steps), classes, out.plots / "auc_per_class", model=name)
    write_json({"model": name, "family": config["family"], "task": trained.objective.task, "metric": metric,
                "eval_split": options.eval_split, "steps": steps, "onnx_max_abs_diff": difference,
                "settings": options.as_dict()}, out.summary)
    log.info("%s: ONNX max |diff| %.3g; latency\n%s", name, difference, latency.to_string(index=False))
