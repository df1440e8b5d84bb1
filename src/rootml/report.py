"""results/summary.md: every metric table of a run (evaluation, knowledge distillation, pruning, latency,
quantization, firmware emulation, ranking, clustering) and its figures, read from the files docs/contracts.md lays
out."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from rootml.atomic import atomic_output
from rootml.evaluation.decorrelation import decorrelation_table, render_decorrelation
from rootml.evaluation.distillation import (
    baseline_run,
    distillation_table,
    parameter_count_of,
    render_distillation,
)
from rootml.evaluation.folds import SUMMARY_ROWS
from rootml.evaluation.tables import format_with_error
from rootml.training.files import ModelFiles

FIRMWARE_COLUMNS = ("precision", "metric", "float_metric", "metric_diff", "max_abs_diff", "compile_s")
LATENCY_COLUMNS = ("backend", "device", "batch_size", "latency_ms", "throughput_per_s", "n_parameters", "n_nonzero")
TOP_FEATURES = 10
SEED_RUN = re.compile(r"^(?P<model>.+)_s\d+$")  # run names of the `seeds` copies of a model entry (config.model_runs)
SPREAD_FLOOR = 1e-9
SEED_METRICS = {"auc_sb": "AUC", "accuracy": "Accuracy", "auc_macro": "AUC (macro one-vs-rest)"}


def _table(frame: pd.DataFrame) -> str:
    """A markdown table with 4 significant digits."""
    return frame.to_markdown(index=False, floatfmt=".4g")


def pruning_section(pruned: Mapping[str, tuple[Path, Path]]) -> list[str]:
    """Metric versus sparsity and the latency table of every pruned model (name -> (pruning.csv, latency.csv))."""
    lines = ["## Pruning and inference latency", ""]
    for name, (table, timings) in pruned.items():
        steps = pd.read_csv(table)
        latency = pd.read_csv(timings)
        lines += [f"### {name}", "", _table(steps), "",
                  _table(latency[[c for c in LATENCY_COLUMNS if c in latency.columns]]), ""]
    return lines


def quantization_section(quantized: Mapping[str, Path]) -> list[str]:
    """Per quantized model (name -> quantization.json): onnxruntime's int8 model against the float one, and the
    fake-quantized metric (PTQ, QAT) against the bit width."""
    lines = ["## Quantization", "",
             "int8: onnxruntime's static int8 model (calibrated on training jets) against the float ONNX model, test "
             "metric and speed-up per batch size; then the metric of weights and layer outputs fake-quantized to each "
             "bit width, post-training (ptq) and after quantization-aware fine-tuning (qat) (results/quantize/).", ""]
    for name, path in quantized.items():
        summary = json.loads(path.read_text())
        metric = summary["metric"]
        int8 = pd.DataFrame([{"metric": metric, "float": summary["onnx_float"][metric],
                              "int8": summary["int8"][metric], "change": summary["int8_metric_change"],
                              "max_abs_diff": summary["int8_max_abs_diff"],
                              **{f"speedup_{key}": value for key, value in summary["int8_speedup"].items()}}])
        bits = pd.DataFrame(summary["bits"])
        lines += [f"### {name}", "", _table(int8), "",
                  _table(bits[[c for c in ("bits", "ptq_metric", "qat_metric") if c in bits.columns]]), ""]
    return lines


def firmware_section(emulated: Mapping[str, Path]) -> list[str]:
    """The metric of each model's emulated firmware against the fixed-point precision (name -> firmware.csv)."""
    lines = ["## FPGA firmware emulation (hls4ml, conifer)", "",
             "Test metric of the bit-accurate C++ emulation at each ap_fixed<W,I> precision against the float model "
             "(metric_diff = emulated - float); max_abs_diff: largest |output difference| (results/firmware/).", ""]
    for name, table in emulated.items():
        scan = pd.read_csv(table)
        lines += [f"### {name}", "", _table(scan[[c for c in FIRMWARE_COLUMNS if c in scan.columns]]), ""]
    return lines


def mean_and_spread(values: np.ndarray) -> str:
    """'mean ± std' (sample standard deviation) of the values of several trainings; '± 0' when they agree."""
    mean = float(np.mean(values))
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    if spread <= SPREAD_FLOOR * max(1.0, abs(mean)):  # rounding noise of equal values is no spread
        return f"{mean:.4g} ± 0"
    return format_with_error(mean, spread)


def seed_cell(group: pd.DataFrame, column: str) -> str:
    """mean_and_spread of a metric over the seed copies; for a rejection that is infinite in some copy (no background
    jet left), '> mean' of the copies' values with each infinite one replaced by its lower limit."""
    values = group[column].to_numpy(float)
    limit_column = f"{column}_limit"
    if not np.isinf(values).any() or limit_column not in group.columns:
        return mean_and_spread(values)
    bounds = np.where(np.isinf(values), group[limit_column].to_numpy(float), values)
    return f"> {np.mean(bounds):.4g}"


def spread_columns(runs: pd.DataFrame, per_class: bool = False) -> dict[str, str]:
    """Metric column -> header of a table of groups of runs: AUC, accuracy, macro AUC and the rejections present in
    `runs`, and with `per_class` the AUC of each class (one-vs-rest, or against the background of an anomaly model)."""
    columns = {column: header for column, header in SEED_METRICS.items() if column in runs.columns}
    columns |= {column: column.replace("rejection_", "1/ε_B at ε_S = ") + "%"
                for column in runs.columns if re.fullmatch(r"rejection_\d+", column)}
    if per_class:
        columns |= {column: f"AUC ({column.removeprefix('auc_')})" for column in runs.columns
                    if column.startswith("auc_") and column not in SEED_METRICS and runs[column].notna().any()
                    and not column.endswith(("_err", "_limit"))}
    return columns


def spread_table(runs: pd.DataFrame, groups: pd.Series, count_header: str,
                 columns: Mapping[str, str]) -> pd.DataFrame:
    """One row per group of runs (the rows of `runs` grouped by `groups`, e.g. the seed copies or the folds of a
    model): the model, the number of runs and mean ± standard deviation (seed_cell) of each metric of `columns`."""
    rows = []
    for model, group in runs.groupby(groups, sort=False):
        rows.append({"Model": model, count_header: len(group),
                     **{header: seed_cell(group, column) for column, header in columns.items()}})
    return pd.DataFrame(rows)


def seeds_section(metrics: pd.DataFrame) -> list[str]:
    """Mean ± standard deviation over the seed copies (name_s0, name_s1, ...) of every model trained several times."""
    runs = metrics[metrics["model"].str.match(SEED_RUN) & (metrics["task"] == "classification")]
    if runs.empty:
        return []
    table = spread_table(runs, runs["model"].str.replace(SEED_RUN, r"\g<model>", regex=True), "Trainings",
                         spread_columns(runs))
    return ["## Mean ± standard deviation over trainings with different seeds", "", _table(table), ""]


def folds_section(folds: Mapping[str, Path]) -> list[str]:
    """Mean ± standard deviation over the fold runs of every model trained in folds (name -> its folds metrics.csv,
    rootml.evaluation.folds), per-class AUCs included, and the AUC of its out-of-fold predictions."""
    tables = []
    for model, path in folds.items():
        frame = pd.read_csv(path, dtype={"fold": str})
        runs = frame[~frame["fold"].isin(SUMMARY_ROWS)]
        table = spread_table(runs, pd.Series(model, index=runs.index), "Folds", spread_columns(runs, per_class=True))
        out_of_fold = frame[frame["fold"] == "out_of_fold"].iloc[0]
        tables.append(table.assign(**{"Out-of-fold AUC": format_with_error(out_of_fold["auc_sb"],
                                                                           out_of_fold.get("auc_sb_err"))}))
    return ["## k-fold cross-validation", "", "Test metrics of each model's fold runs, mean ± standard deviation over "
            "the folds (fold run i trained on the train+val jets outside fold i, validated on fold i); out-of-fold "
            "AUC: signal vs background over every train+val jet, each predicted by the run that did not train on it "
            "(results/folds/).", "", _table(pd.concat(tables, ignore_index=True)), ""]


def ranking_section(ranked: Mapping[str, Path]) -> list[str]:
    """The top features of every ranked model (name -> comparison.csv), by mean rank over the methods, with each
    method's rank."""
    lines = ["## Feature ranking", ""]
    for name, comparison in ranked.items():
        table = pd.read_csv(comparison, index_col=0)
        ranks = [c for c in table.columns if c.startswith("rank_") or c == "mean_rank"]
        top = table[ranks].head(TOP_FEATURES).reset_index()
        lines += [f"### {name}", "", _table(top), ""]
    return lines


def clustering_section(tables: Sequence[Path]) -> list[str]:
    """The clustering scores of every explored space (its clusters.csv), one table."""
    frame = pd.concat([pd.read_csv(table) for table in tables], ignore_index=True)
    return ["## Latent spaces and clustering", "", "Clusters of a class-stratified sample of the test jets, scored "
            "against the true classes (results/explore/).", "", _table(frame), ""]


def run_configs(metrics: pd.DataFrame, models_dir: Path) -> dict[str, dict]:
    """The model_config.json of every evaluated run (metrics.csv) that has one in models_dir/{run}/."""
    folders = {run: ModelFiles.in_directory(models_dir / run) for run in metrics["model"]}
    return {run: json.loads(files.config.read_text()) for run, files in folders.items() if files.config.is_file()}


def decorrelation_section(metrics: pd.DataFrame, models_dir: Path) -> list[str]:
    """Every DisCo group among the evaluated runs: lambda, AUC, rejection and JSD at each signal efficiency of the
    evaluation (no lines when no run is decorrelated)."""
    efficiencies = [float(column.removeprefix("jsd_")) / 100 for column in metrics.columns
                    if re.fullmatch(r"jsd_[\d.]+", column)]
    return render_decorrelation(decorrelation_table(run_configs(metrics, models_dir), metrics, efficiencies))


def distillation_section(metrics: pd.DataFrame, models_dir: Path) -> list[str]:
    """Teacher, student alone and distilled student of every distilled run among the evaluated ones (metrics.csv),
    read from their trained-model folders models_dir/{run}/ (no lines when no run is distilled)."""
    runs = run_configs(metrics, models_dir)
    distilled = {run: config for run, config in runs.items() if config.get("distill")}
    if not distilled:
        return []
    members = {member for run, config in distilled.items()
               for member in (run, config["distill"]["teacher_run"], baseline_run(config, runs)) if member in runs}
    counts = {}
    for run in members:
        files = ModelFiles.of_family(models_dir / run, runs[run]["family"])
        counts[run] = parameter_count_of(files.config, files.weights)
    return render_distillation(distillation_table(runs, metrics, counts))


def write_summary(out_path: Path, *, metrics_md: Path, metrics_csv: Path, pruned: Mapping[str, tuple[Path, Path]],
                  ranked: Mapping[str, Path], clusters: Sequence[Path], figures: Sequence[Path],
                  relative_to: Path, models_dir: Path | None = None,
                  quantized: Mapping[str, Path] | None = None, emulated: Mapping[str, Path] | None = None,
                  folds: Mapping[str, Path] | None = None) -> None:
    """Write the run's summary: evaluation metrics, knowledge distillation (the trained models in `models_dir`,
    default relative_to/models), pruning and latency, quantization (name -> quantization.json), firmware emulation
    (name -> firmware.csv), k-fold cross-validation (name -> its folds metrics.csv), rankings,
    clustering scores, and the path (relative to `relative_to`) of every PNG figure among `figures` (files, or
    folders searched recursively)."""
    pngs = {path for entry in figures for path in ([entry] if entry.is_file() else entry.rglob("*.png"))
            if path.suffix == ".png"}
    # the metrics file's own headings go one level down, under the summary's title
    metrics = [f"#{line}" if line.startswith("#") else line for line in metrics_md.read_text().strip().splitlines()]
    evaluated = pd.read_csv(metrics_csv)
    lines = ["# rootml run summary", "", *metrics, "", *seeds_section(evaluated)]
    lines += distillation_section(evaluated, models_dir or relative_to / "models")
    lines += decorrelation_section(evaluated, models_dir or relative_to / "models")
    lines += folds_section(folds) if folds else []
    lines += pruning_section(pruned) if pruned else []
    lines += quantization_section(quantized) if quantized else []
    lines += firmware_section(emulated) if emulated else []
    lines += ranking_section(ranked) if ranked else []
    lines += clustering_section(clusters) if clusters else []
    lines += ["## Figures", "", "Every figure is written as PDF and PNG; `snakemake --report results/report.html` "
              "collects them with their captions.", ""]
    lines += [f"- `{figure.relative_to(relative_to).with_suffix('')}`" for figure in sorted(pngs)]
    with atomic_output(out_path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
