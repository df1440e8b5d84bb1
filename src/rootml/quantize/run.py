"""quantize_model: a trained torch model -> its int8 ONNX model checked against the float one, the latency of both, and
the metric at each bit width of post-training (PTQ) and quantization-aware (QAT) fake quantization."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.atomic import atomic_output
from rootml.files import FileSet
from rootml.plotting.latency import plot_latency
from rootml.plotting.quantization import plot_metric_vs_bits
from rootml.pruning.latency import Backend, Timing, latency_table, optimized_session, take_rows
from rootml.pruning.onnx_export import check_onnx, export_onnx
from rootml.pruning.run import ONNX_CHECK_JETS, ONNX_EXAMPLE_JETS, TASK_METRICS, class_aucs
from rootml.quantize.evaluate import collect_outputs
from rootml.quantize.onnx_int8 import JetCalibration, ObjectiveOutput, onnx_forward, output_difference, quantize_int8
from rootml.quantize.qat import BitWidth, evaluate_model, qat_settings, sweep_bits
from rootml.quantize.settings import QuantizationSettings
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import configure_torch
from rootml.training.inference import metric_value
from rootml.training.load import TrainedModel, load_torch_trained
from rootml.training.records import write_json

log = logging.getLogger(__name__)

TORCH, ONNX_FLOAT, ONNX_INT8 = "torch", "onnxruntime", "onnxruntime_int8"  # latency.csv backends


@dataclass(frozen=True)
class QuantizeFiles(FileSet):
    """What the quantize rule writes for one model (results/quantize/{model}/, docs/contracts.md)."""

    NAMES = {"table": "quantization.csv", "summary": "quantization.json", "onnx_int8": "model_int8.onnx",
             "latency": "latency.csv", "plots": "plots"}

    table: Path
    summary: Path
    onnx_int8: Path
    latency: Path
    plots: Path


def bits_table(steps: Sequence[BitWidth], metric: str, classes: Sequence[str]) -> pd.DataFrame:
    """One row per bit width: ptq_metric, qat_metric (NaN without QAT) and the ptq_/qat_ per-class AUCs."""
    rows = []
    for step in steps:
        row: dict[str, Any] = {"bits": step.bits, "ptq_metric": step.ptq[metric],
                               "qat_metric": None if step.qat is None else step.qat[metric]}
        for method, metrics in (("ptq", step.ptq), ("qat", step.qat)):
            for key, value in class_aucs(metrics or {}, classes).items():
                row[f"{method}_{key}"] = value
        rows.append(row)
    return pd.DataFrame(rows)


def int8_check(trained: TrainedModel, reader: SplitReader, float_path: Path, int8_path: Path,
               options: QuantizationSettings) -> dict[str, Any]:
    """The task's metrics of the float and int8 ONNX models on `reader`'s split and their output differences."""
    outputs = {}
    for label, path in (("onnx_float", float_path), ("int8", int8_path)):
        session = optimized_session(path, options.onnx_optimization, num_threads=options.num_threads)
        outputs[label] = collect_outputs(onnx_forward(session), trained.objective, reader, trained.input_keys,
                                         options.max_eval_jets)
    metrics = {label: trained.objective.metrics(got.outputs, got.meta) for label, got in outputs.items()}
    return {**metrics, **output_difference(outputs["onnx_float"].outputs, outputs["int8"].outputs)}


def speedups(latency: pd.DataFrame) -> dict[str, float]:
    """float / int8 onnxruntime latency per device and batch size ('cpu_1024': 2.1 means int8 is 2.1 times faster)."""
    table = latency.pivot_table(index=["device", "batch_size"], columns="backend", values="latency_ms")
    if ONNX_FLOAT not in table or ONNX_INT8 not in table:
        return {}
    ratio = table[ONNX_FLOAT] / table[ONNX_INT8]
    return {f"{device}_{batch}": float(value) for (device, batch), value in ratio.items()}


def quantize_model(config_path: str | Path, weights_path: str | Path, prepared: Prepared, out: QuantizeFiles,
                   options: QuantizationSettings) -> None:
    """Quantize a trained torch model; write `out`.

    out.onnx_int8: onnxruntime's static int8 model of the float ONNX export, calibrated on calibration_jets training
    jets; out.summary: the float (torch, ONNX) and int8 metrics on eval_split, their output differences, the latency
    ratios and the settings; out.latency: torch, float and int8 onnxruntime timings; out.table: metric and per-class
    AUCs at each bit width, fake-quantized and calibrated (ptq_) and after qat_epochs of fine-tuning (qat_);
    out.plots: auc_vs_bits and latency (png/pdf).
    """
    configure_torch(options.num_threads)
    trained = load_torch_trained(config_path, weights_path, "quantized")
    config = trained.config
    name = config["name"]
    key = f"models.{config['model']}"
    objective = trained.objective
    metric = options.metric or TASK_METRICS[objective.task]
    readers = {split: SplitReader({rep: prepared[split][rep] for rep in config["representations"]}, split,
                                  config["training"]["max_jets_in_memory"], view=trained.view, view_key=key)
               for split in sorted({"train", "val", options.eval_split})}
    evaluation = readers[options.eval_split]
    keys = list(trained.input_keys)
    float_metrics = evaluate_model(trained.model, trained, evaluation, options.max_eval_jets)
    float_value = metric_value(float_metrics, metric, objective, evaluation, "quantization.metric")

    wrapped = ObjectiveOutput(trained.model, objective).cpu().eval()
    calibration = next(readers["train"].batches(keys, options.calibration_jets, max_rows=options.calibration_jets))
    n_inputs = max(ONNX_CHECK_JETS, *options.latency_batches)
    batch = next(evaluation.batches(keys, n_inputs, max_rows=n_inputs))
    inputs = {key: batch[key].astype(np.float32) for key in keys}
    out.plots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".quantize_", dir=out.plots.parent) as scratch:
        float_path = export_onnx(wrapped, take_rows(inputs, ONNX_EXAMPLE_JETS), Path(scratch) / "model.onnx",
                                 name=name, opset=options.onnx_opset)
        export_diff = check_onnx(float_path, wrapped, take_rows(inputs, ONNX_CHECK_JETS), name=name,
                                 atol=options.onnx_atol)
        int8 = quantize_int8(float_path, out.onnx_int8, JetCalibration({key: calibration[key] for key in keys}),
                             options)
        check = int8_check(trained, evaluation, float_path, int8.path, options)
        timing = Timing(options.latency_warmup, options.latency_repeats, options.latency_budget_s)
        backends = [Backend(TORCH, wrapped),
                    Backend(ONNX_FLOAT, wrapped, float_path, options.onnx_optimization),
                    Backend(ONNX_INT8, wrapped, int8.path, options.onnx_optimization)]
        latency = latency_table(name, backends, inputs, batch_sizes=options.latency_batches, timing=timing)
        qat = qat_settings(trained, options.qat_epochs, options.qat_lr) if options.qat_epochs > 0 else None
        steps = sweep_bits(trained, readers, options.bits, options.module_types, options.calibration_jets,
                           options.eval_split, options.max_eval_jets, qat, Path(scratch))
    with atomic_output(out.latency) as tmp:
        latency.to_csv(tmp, index=False)
    plot_latency(latency, out.plots / "latency", model=name)
    classes = list(config["classes"])
    table = bits_table(steps, metric, classes)
    with atomic_output(out.table) as tmp:
        table.to_csv(tmp, index=False)
    int8_value = metric_value(check["int8"], metric, objective, evaluation, "quantization.metric")
    plot_metric_vs_bits(table, out.plots / "auc_vs_bits", model=name, float_metric=float_value,
                        int8_metric=int8_value, metric_label=metric.upper() if metric == "auc" else metric)
    ratios = speedups(latency)
    write_json({"model": name, "family": config["family"], "task": objective.task, "metric": metric,
                "eval_split": options.eval_split, "float": float_metrics, "onnx_float": check["onnx_float"],
                "int8": check["int8"], "int8_metric_change": int8_value - float_value,
                "int8_max_abs_diff": check["max_abs_diff"], "int8_mean_abs_diff": check["mean_abs_diff"],
                "onnx_export_max_abs_diff": export_diff, "int8_preprocessed": int8.preprocessed,
                "int8_float_nodes": int8.float_nodes, "int8_speedup": ratios,
                "bits": table.replace({np.nan: None}).to_dict(orient="records"), "settings": options.as_dict()},
               out.summary)
    log.info("%s: %s float %.5f, int8 %.5f; int8 output max |diff| %.3g, mean %.3g; int8 speed-up %s", name, metric,
             float_value, int8_value, check["max_abs_diff"], check["mean_abs_diff"], ratios)
    log.info("%s: bit widths\n%s\nlatency\n%s", name, table.to_string(index=False), latency.to_string(index=False))
