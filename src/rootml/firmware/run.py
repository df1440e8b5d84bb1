"""emulate_model: a trained model -> its firmware's emulated metric against the float metric over a scan of
fixed-point precisions (hls4ml for torch models: an MLP through its PyTorch frontend, a simplified GarNet through
its GarNetStack; conifer for BDTs), as a table, a summary and a figure."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.atomic import atomic_output
from rootml.files import FileSet
from rootml.firmware.fixed_point import FixedPoint
from rootml.firmware.settings import KEY, FirmwareSettings, tool_of
from rootml.plotting.firmware import plot_class_metric_vs_precision, plot_metric_vs_precision
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import CPU, configure_torch
from rootml.training.inference import Collected, Forward, collect, metric_value
from rootml.training.load import TrainedModel, load_trained
from rootml.training.records import write_json

log = logging.getLogger(__name__)

# Metric followed against the precision: the headline test metric of each task.
TASK_METRICS = {"classification": "auc", "regression": "resolution"}
EVAL_BATCH = 1024

# (precision, build folder) -> (forward of the compiled emulation, the types it used, seconds to build it)
Build = Callable[[FixedPoint, Path], tuple[Forward, Any, float]]


@dataclass(frozen=True)
class FirmwareFiles(FileSet):
    """What the firmware rule writes for one model (results/firmware/{model}/, docs/contracts.md)."""

    NAMES = {"table": "firmware.csv", "summary": "firmware.json", "plots": "plots"}

    table: Path
    summary: Path
    plots: Path


def versions(tool: str) -> str:
    """'hls4ml 1.3.0' or 'conifer 1.11'."""
    from importlib import metadata

    return f"{tool} {metadata.version(tool)}"


def first_rows(reader: SplitReader, keys: Sequence[str], max_rows: int | None) -> dict[str, np.ndarray]:
    """The datasets `keys` of the split's first `max_rows` jets (all of them when None), as the model reads them."""
    n = reader.n_rows if max_rows is None else min(max_rows, reader.n_rows)
    return next(reader.batches(list(keys), max(n, 1), max_rows=n))


def metric_of(objective: Any, collected: Collected, metric: str, reader: SplitReader) -> dict[str, Any]:
    """All metrics of the objective on the collected outputs; InputError if `metric` is undefined."""
    metrics = objective.metrics(collected.outputs, collected.meta)
    metric_value(metrics, metric, objective, reader, "firmware.models")
    return metrics


def scan(build: Build, precisions: Sequence[FixedPoint], run: Callable[[Forward], Collected],
         reference: Collected, scores: Callable[[Collected], dict[str, Any]], metric: str,
         float_metrics: Mapping[str, Any], extra_columns: Sequence[str]) -> list[dict[str, Any]]:
    """One row per precision: emulated metric (and `extra_columns`, e.g. auc_{class}) against the float one, the
    largest and mean |emulated - float output|, the types used, compile and emulation seconds. Each precision is built
    in its own temporary folder, removed once its jets are emulated."""
    rows = []
    for precision in precisions:
        with tempfile.TemporaryDirectory(prefix="rootml_firmware_") as build_dir:
            forward, types, compile_s = build(precision, Path(build_dir))
            start = time.perf_counter()
            emulated = run(forward)
            predict_s = time.perf_counter() - start
        difference = np.abs(emulated.outputs.astype(np.float64) - reference.outputs.astype(np.float64))
        metrics = scores(emulated)
        row = {"precision": precision.name, "width": precision.width, "integer_bits": precision.integer,
               "metric": metrics[metric], "float_metric": float_metrics[metric],
               "metric_diff": metrics[metric] - float_metrics[metric],
               **{column: metrics.get(column) for column in extra_columns},
               "max_abs_diff": float(difference.max()), "mean_abs_diff": float(difference.mean()),
               "compile_s": compile_s, "predict_s": predict_s, "types": types}
        log.info("%s: %s %.5f (float %.5f, diff %+.5f), max |output diff| %.3g; compile %.1f s, emulation %.1f s",
                 precision.name, metric, row["metric"], row["float_metric"], row["metric_diff"], row["max_abs_diff"],
                 compile_s, predict_s)
        rows.append(row)
    return rows


def narrowest_within(rows: Sequence[Mapping[str, Any]], tolerance: float) -> str | None:
    """The scanned precision of fewest bits whose |emulated - float metric| <= tolerance (None: none is)."""
    agreeing = [row for row in rows if abs(row["metric_diff"]) <= tolerance]
    if not agreeing:
        return None
    return min(agreeing, key=lambda row: (row["width"], row["integer_bits"]))["precision"]


def torch_build(trained: TrainedModel, profile: Mapping[str, np.ndarray], options: FirmwareSettings) -> Build:
    """build(precision, folder) of a one-input torch model through hls4ml; its ranges profiled on `profile`."""
    from rootml.firmware.hls4ml_emulation import emulate_torch, float_module, layer_ranges

    (key,) = trained.input_keys
    model = float_module(trained.model)
    ranges = layer_ranges(model, profile[key])
    input_shape = tuple(profile[key].shape[1:])
    log.info("%s: max |value| per layer on the %s profile jets: %s", trained.config["name"], options.profile_split,
             ", ".join(f"{name} {value:.3g}" for name, value in ranges.items()))
    return lambda precision, folder: emulate_torch(model, key, input_shape, precision, ranges, options, folder)


def bdt_build(trained: TrainedModel, profile: Mapping[str, np.ndarray], options: FirmwareSettings) -> Build:
    """build(precision, folder) of an XGBoost booster through conifer; its ranges profiled on `profile`."""
    from rootml.firmware.conifer_emulation import emulate_booster, ensemble_of, value_ranges

    ensemble = ensemble_of(trained.model)
    ranges = value_ranges(ensemble, trained.model, profile["highlevel"])
    log.info("%s: %d trees per output; profiled max |input or threshold| %.3g, max |score| %.3g",
             trained.config["name"], ensemble["n_trees"], ranges["input"], ranges["score"])
    return lambda precision, folder: emulate_booster(ensemble, trained.objective, precision, ranges, options, folder)


def garnet_build(trained: TrainedModel, profile: Mapping[str, np.ndarray], options: FirmwareSettings) -> Build:
    """build(precision, folder) of a simplified GarNet through hls4ml's GarNetStack; its ranges profiled on
    `profile`."""
    from rootml.firmware.garnet import compile_garnet, garnet_forward, value_kinds, value_ranges
    from rootml.firmware.hls4ml_emulation import float_module, layer_types

    features_key, mask_key = trained.input_keys
    model = float_module(trained.model)
    mask = profile[mask_key].astype(np.float32)
    ranges = value_ranges(model, profile[features_key], mask[:, None, :] if mask.ndim == 2 else mask)
    n_vertices = profile[features_key].shape[-1]
    log.info("%s: max |value| per layer on the %s profile jets: %s", trained.config["name"], options.profile_split,
             ", ".join(f"{name} {value:.3g}" for name, value in ranges.items()))

    def build(precision: FixedPoint, folder: Path) -> tuple[Forward, Any, float]:
        """The compiled firmware's forward, its per-layer types and the seconds taken."""
        start = time.perf_counter()
        types = layer_types(value_kinds(ranges), precision, ranges, options)
        graph = compile_garnet(model, n_vertices, precision, folder, KEY, types)
        return garnet_forward(graph, model, features_key, mask_key), types, time.perf_counter() - start

    return build


def emulate_model(config_path: str | Path, weights_path: str | Path, prepared: Prepared, out: FirmwareFiles,
                  options: FirmwareSettings) -> None:
    """Emulate a trained model's firmware at each precision of `options` and compare it with the float model.

    out.table: one row per precision (emulated metric, float metric, per-class AUCs, max |output difference|, compile
    seconds); out.summary: the same with the types of every layer, the float metrics and the settings; out.plots: the
    metric against the precision (auc_vs_precision.png/pdf; auc_per_class too for more than two classes).
    """
    from rootml.config import ModelRun

    configure_torch(options.num_threads)
    trained = load_trained(config_path, weights_path, device=CPU)
    config = trained.config
    name = config["name"]
    tool = tool_of(ModelRun.from_dict(config))
    objective = trained.objective
    metric = TASK_METRICS[objective.task]
    keys = list(trained.input_keys)
    meta_keys = ["label", "weight", *([objective.target_key] if objective.target_key else [])]
    readers = {split: SplitReader({rep: prepared[split][rep] for rep in config["representations"]}, split,
                                  config["training"]["max_jets_in_memory"], view=trained.view,
                                  view_key=f"models.{config['model']}")
               for split in sorted({options.eval_split, options.profile_split})}
    evaluation = readers[options.eval_split]
    profile = first_rows(readers[options.profile_split], keys, options.max_jets)
    if tool == "conifer":
        from rootml.firmware.conifer_emulation import float_forward

        build, reference_forward = bdt_build(trained, profile, options), float_forward(trained.model, objective)
    elif config["family"] == "garnet":
        build, reference_forward = garnet_build(trained, profile, options), trained.forward
    else:
        build, reference_forward = torch_build(trained, profile, options), trained.forward

    def run(forward: Forward) -> Collected:
        """`forward` over the evaluation jets."""
        return collect(forward, evaluation, keys, meta_keys, EVAL_BATCH, max_rows=options.max_jets)

    def scores(collected: Collected) -> dict[str, Any]:
        """The objective's metrics of the collected outputs."""
        return metric_of(objective, collected, metric, evaluation)

    reference = run(reference_forward)
    float_metrics = scores(reference)
    classes = list(config["classes"])
    class_columns = [f"auc_{c}" for c in classes] if objective.task == "classification" else []
    precisions = [FixedPoint.parse(text, options.rounding, options.overflow) for text in options.precisions]
    log.info("%s: %s emulation of %d %s jets at %d precisions; float %s %.5f", name, versions(tool),
             len(reference.outputs), options.eval_split, len(precisions), metric, float_metrics[metric])
    rows = scan(build, precisions, run, reference, scores, metric, float_metrics, class_columns)

    table = pd.DataFrame([{key: value for key, value in row.items() if key != "types"} for row in rows])
    with atomic_output(out.table) as tmp:
        table.to_csv(tmp, index=False)
    out.plots.mkdir(parents=True, exist_ok=True)
    plot_metric_vs_precision(table, out.plots / f"{metric}_vs_precision", model=name, metric_label=metric.upper())
    if class_columns and len(classes) > 2:
        plot_class_metric_vs_precision(table, classes, out.plots / "auc_per_class", model=name)
    within = narrowest_within(rows, options.tolerance)
    write_json({"model": name, "family": config["family"], "task": objective.task, "tool": versions(tool),
                "metric": metric, "eval_split": options.eval_split, "n_jets": int(len(reference.outputs)),
                "float_metrics": float_metrics, "narrowest_within_tolerance": within, "steps": rows,
                "settings": options.as_dict()}, out.summary)
    log.info("%s: narrowest precision within %.4g of the float %s: %s", name, options.tolerance, metric, within)
