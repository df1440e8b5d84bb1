"""prune_model: a trained model -> pruning table (magnitude and structured pruning), pruned weights, the smaller
structured model, checked ONNX files and latency table."""

from __future__ import annotations

import copy
import itertools
import json
import logging
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from rootml.atomic import atomic_output
from rootml.errors import ConfigError, RootmlError
from rootml.files import FileSet
from rootml.models.registry import build_model
from rootml.plotting.latency import plot_latency
from rootml.plotting.pruning import plot_class_metric_vs_sparsity
from rootml.pruning.latency import Backend, Timing, latency_table, take_rows
from rootml.pruning.onnx_export import PARTICLE_AXIS, check_onnx, export_onnx, is_set_input
from rootml.pruning.prune import (
    PruningStep,
    iterative_prune,
    l1_penalty,
    module_classes,
    rewind,
    validated_schedule,
)
from rootml.pruning.settings import PruningSettings
from rootml.pruning.structured import iterative_structured_prune, n_units, shrink_model, unit_links
from rootml.seeds import derive_seed
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import configure_torch
from rootml.training.inference import collect, metric_value, torch_forward
from rootml.training.load import TrainedModel, load_torch_trained
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
        return metric_value(metrics, metric, objective, reader, "pruning.metric")

    return evaluate


def fine_tuner(
    trained: TrainedModel, readers: Mapping[str, SplitReader], options: PruningSettings, scratch: Path,
    method: str, rewind_to: Mapping[str, Any] | None = None,
) -> Callable[[nn.Module], None] | None:
    """fine_tune(model) -> None after each step of `method` (None without fine-tuning epochs): the trainer on the
    pruned model (masks stay applied) for at most fine_tune_epochs, with early stopping after fine_tune_patience
    epochs, the L1 penalty `l1` on the pruned layers' weights, first rewound to `rewind_to` (a state_dict) if given.
    """
    if options.fine_tune_epochs == 0:
        return None
    training = trained.config["training"]
    settings = replace(TrainingSettings(**training), epochs=options.fine_tune_epochs, warmup_epochs=0,
                       lr=options.fine_tune_lr or training["lr"],
                       patience=options.fine_tune_patience or options.fine_tune_epochs)
    penalty = l1_penalty(options.l1, module_classes(options.module_types)) if options.l1 > 0 else None
    name = trained.config["name"]
    steps = itertools.count(1)

    def fine_tune(model: nn.Module) -> None:
        """Train in place with the model's objective; the trainer keeps the best validation epoch."""
        step = next(steps)
        if rewind_to is not None:
            rewind(model, rewind_to)
        keys = ("prune", step) if method == "magnitude" else ("prune", method, step)
        setup = FitSetup(trained.objective, settings, readers["train"], readers["val"], trained.device,
                         derive_seed(trained.config["seed"], *keys), scratch / f"{method}_step{step}.pt",
                         f"{name}/prune/{method}/{step}", f"{name} {method} fine-tune {step}", progress=False,
                         penalty=penalty)
        fit(model, setup)

    return fine_tune


def prune_trained(
    trained: TrainedModel, readers: Mapping[str, SplitReader], options: PruningSettings, metric: str, scratch: Path,
    record: list[dict[str, Any]] | None = None,
) -> tuple[list[PruningStep], nn.Module]:
    """Run the magnitude pruning schedule of `options` on the trained model (in place), fine-tuning unless 0 epochs.

    record receives all metrics of each evaluated step, in the order of the returned steps.
    """
    start = _state(trained.model) if options.rewind == "trained" else None
    fine_tune = fine_tuner(trained, readers, options, scratch, "magnitude", start)
    evaluate = evaluator(trained, readers[options.eval_split], metric, options.max_eval_jets, record)
    return iterative_prune(trained.model, options.sparsities, evaluate, fine_tune, module_types=options.module_types)


def structured_trained(
    trained: TrainedModel, dense: nn.Module, readers: Mapping[str, SplitReader], options: PruningSettings,
    metric: str, scratch: Path, record: list[dict[str, Any]] | None = None,
) -> tuple[list[PruningStep], nn.Module, nn.Module, dict[str, list[int]]]:
    """Structured pruning of a copy of `dense` with the schedule of `options`: the table, the masked model, the
    smaller model built from it and its kept units per layer."""
    masked = copy.deepcopy(dense)
    start = _state(dense) if options.rewind == "trained" else None
    fine_tune = fine_tuner(trained, readers, options, scratch, "structured", start)
    evaluate = evaluator(trained, readers[options.eval_split], metric, options.max_eval_jets, record)
    table, small, kept = iterative_structured_prune(masked, options.structured_sparsities, evaluate, fine_tune,
                                                    module_types=options.module_types, norm=options.structured_norm)
    return table, masked, small, kept


def _state(model: nn.Module) -> dict[str, Any]:
    """A detached copy of the state_dict of `model` (the weights to rewind to)."""
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


def structured_layers(model: nn.Module, options: PruningSettings) -> tuple[list[str], dict[str, str]]:
    """The layers of `model` structured pruning can shrink, and why each other one of module_types keeps its units."""
    links, reasons = unit_links(model, module_classes(options.module_types))
    return [link.layer for link in links], reasons


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
             "latency": "latency.csv", "plots": "plots", "structured": "structured"}

    table: Path
    summary: Path
    weights: Path
    onnx: Path
    latency: Path
    plots: Path
    structured: Path


@dataclass(frozen=True)
class StructuredFiles(FileSet):
    """The smaller model of structured pruning (results/prune/{model}/structured/, written when the method ran):
    its state_dict, its checked ONNX file and units.json (the kept units of each shrunk layer, for load_structured)."""

    NAMES = {"weights": "model.pt", "onnx": "model.onnx", "units": "units.json"}

    weights: Path
    onnx: Path
    units: Path


def load_structured(config_path: str | Path, files: StructuredFiles) -> nn.Module:
    """The smaller model of structured pruning, rebuilt from the trained model's config and `files` (CPU, eval)."""
    config = json.loads(Path(config_path).read_text())
    model = build_model(config["family"], config["input_dims"], config["n_outputs"], seed=config["seed"],
                        config_key=f"models.{config['name']}.hparams", **config["hparams"])
    small = shrink_model(model, json.loads(files.units.read_text())["kept"])
    small.load_state_dict(torch.load(files.weights, map_location="cpu", weights_only=True))
    return small.eval()


def max_difference(first: nn.Module, second: nn.Module, inputs: Mapping[str, np.ndarray]) -> float:
    """Max |first - second| of the two models' outputs on `inputs` (CPU, evaluation mode)."""
    tensors = [torch.from_numpy(inputs[key]) for key in first.input_keys]
    with torch.no_grad():
        return float((first.cpu().eval()(*tensors) - second.cpu().eval()(*tensors)).abs().max())


@dataclass
class StructuredResult:
    """What structured pruning of one model gave: its table, the masked and the smaller model, the kept units."""

    table: list[PruningStep]
    masked: nn.Module
    small: nn.Module
    kept: dict[str, list[int]]


def write_structured(result: StructuredResult, dense: nn.Module, inputs: Mapping[str, np.ndarray],
                     files: StructuredFiles, name: str, options: PruningSettings) -> dict[str, Any]:
    """Save the smaller model, check it against the masked one (surgery) and as ONNX; its summary for pruning.json."""
    small = result.small.cpu().eval()
    surgery = max_difference(result.masked, small, inputs)
    if not surgery <= options.onnx_atol:  # the surgery is exact by construction: a difference is a bug, stop here
        raise RootmlError(f"model '{name}': the structured model differs from the masked one by {surgery:.3g}")
    with atomic_output(files.weights) as tmp:
        save_torch(small.state_dict(), tmp)
    units = {layer: n_units(dense.get_submodule(layer)) for layer in result.kept}
    write_json({"kept": result.kept, "units": units}, files.units)
    difference = export_checked(small, inputs, files.onnx, f"{name}_structured", options)
    return {"units": units, "kept_units": {layer: len(kept) for layer, kept in result.kept.items()},
            "surgery_max_abs_diff": surgery, "onnx_max_abs_diff": difference}


def check_methods(options: PruningSettings) -> None:
    """ConfigError before any work: methods without magnitude (its model is model_pruned.pt / model.onnx), or a bad
    schedule of a method that runs."""
    if "magnitude" not in options.methods:
        raise ConfigError("pruning.methods", f"must include magnitude (its model is model_pruned.pt and model.onnx), "
                                             f"got {options.methods}")
    validated_schedule(options.sparsities)
    if "structured" in options.methods:
        validated_schedule(options.structured_sparsities, "pruning.structured_sparsities")


def prune_model(config_path: str | Path, weights_path: str | Path, prepared: Prepared, out: PruneFiles,
                options: PruningSettings) -> None:
    """Prune a trained torch model step by step with each method, export and check the results as ONNX, time them;
    write `out`.

    out.table / out.summary: metric against measured sparsity, one row per method and step (CSV, JSON);
    out.weights: state_dict of the last magnitude step (zeros in place); out.onnx: that model; out.structured: the
    smaller model of the last structured step (StructuredFiles; empty when the method did not run); out.latency:
    dense, pruned, structured and onnxruntime timings; out.plots: the latency figure (latency.png/pdf) and the
    per-class AUC figure (auc_per_class) of a classifier of more than two classes.
    """
    check_methods(options)
    configure_torch(options.num_threads)
    trained = load_torch_trained(config_path, weights_path, "pruned")
    config = trained.config
    name = config["name"]
    key = f"models.{config['model']}"
    metric = options.metric or TASK_METRICS[trained.objective.task]
    readers = {split: SplitReader({rep: prepared[split][rep] for rep in config["representations"]}, split,
                                  config["training"]["max_jets_in_memory"], view=trained.view, view_key=key)
               for split in sorted({"train", "val", options.eval_split})}
    dense = copy.deepcopy(trained.model)
    for folder in (out.plots, out.structured):
        folder.mkdir(parents=True, exist_ok=True)
    layers, whole = structured_layers(dense, options)
    skipped = None
    if "structured" not in options.methods:
        skipped = "not in pruning.methods"
    elif not layers:
        skipped = f"no layer of {options.module_types} can lose units: {whole}"
        log.warning("%s: structured pruning skipped, %s", name, skipped)
    recorded: list[dict[str, Any]] = []
    structured = None
    with tempfile.TemporaryDirectory(prefix=".fine_tune_", dir=out.plots.parent) as scratch:
        table, pruned = prune_trained(trained, readers, options, metric, Path(scratch), recorded)
        if skipped is None:
            structured = StructuredResult(*structured_trained(trained, dense, readers, options, metric,
                                                              Path(scratch), recorded))
            table = table + structured.table
    for row in table:
        log.info("%s %s: sparsity %.4f (target %.2f): %s %.5f, %d of %d parameters non-zero", name, row.method,
                 row.sparsity, row.target_sparsity, metric, row.metric, row.n_nonzero, row.n_parameters)
    pruned = pruned.cpu().eval()
    with atomic_output(out.weights) as tmp:
        save_torch(pruned.state_dict(), tmp)

    n_inputs = max(ONNX_CHECK_JETS, *options.latency_batches)
    batch = next(readers[options.eval_split].batches(list(pruned.input_keys), n_inputs, max_rows=n_inputs))
    inputs = {key: batch[key].astype(np.float32) for key in pruned.input_keys}
    difference = export_checked(pruned, inputs, out.onnx, name, options)
    backends = [
        Backend("torch_dense", dense),
        Backend("torch_pruned", pruned),
        Backend("onnxruntime", pruned, out.onnx),
    ]
    summary: dict[str, Any] = {"layers": layers, "whole_layers": whole, "skipped": skipped}
    if structured is not None:
        files = StructuredFiles.in_directory(out.structured)
        summary |= write_structured(structured, dense, inputs, files, name, options)
        backends += [Backend("torch_structured", structured.small.cpu().eval()),
                     Backend("onnxruntime_structured", structured.small, files.onnx)]

    timing = Timing(options.latency_warmup, options.latency_repeats, options.latency_budget_s)
    latency = latency_table(name, backends, inputs, batch_sizes=options.latency_batches, timing=timing)
    with atomic_output(out.latency) as tmp:
        latency.to_csv(tmp, index=False)
    plot_latency(latency, out.plots / "latency", model=name)
    classes = list(config["classes"])
    steps = [{**row.as_dict(), **class_aucs(metrics, classes)} for row, metrics in zip(table, recorded)]
    with atomic_output(out.table) as tmp:
        pd.DataFrame(steps).to_csv(tmp, index=False)
    if trained.objective.task == "classification" and len(classes) > 2:
        plot_class_metric_vs_sparsity(pd.DataFrame(steps), classes, out.plots / "auc_per_class", model=name)
    write_json({"model": name, "family": config["family"], "task": trained.objective.task, "metric": metric,
                "eval_split": options.eval_split, "steps": steps, "onnx_max_abs_diff": difference,
                "structured": summary, "settings": options.as_dict()}, out.summary)
    log.info("%s: ONNX max |diff| %.3g; latency\n%s", name, difference, latency.to_string(index=False))
