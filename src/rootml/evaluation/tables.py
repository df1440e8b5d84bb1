"""Metrics tables of all models: one pandas DataFrame (metrics.csv) and its markdown rendering (metrics.md) with a
table per task, values written as value +- uncertainty."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rootml.atomic import atomic_output
from rootml.evaluation.calibration import CALIBRATION_HEADERS
from rootml.evaluation.uncertainty import UNCERTAINTY_HEADERS
from rootml.metrics.names import percent

FIRST_COLUMNS: tuple[str, ...] = ("model", "family", "task")


def metrics_table(rows: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per model (name -> metrics incl. family and task), model/family/task first, other columns sorted."""
    frame = pd.DataFrame([{"model": name, **row} for name, row in rows.items()])
    others = sorted(column for column in frame.columns if column not in FIRST_COLUMNS)
    return frame[[column for column in FIRST_COLUMNS if column in frame.columns] + others]


def format_with_error(value: float, error: float | None = None) -> str:
    """'value ± error' rounded to two significant digits of the error; 4 significant digits without one."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if error is None or not math.isfinite(error) or error <= 0 or not math.isfinite(value):
        return f"{value:.4g}"
    decimals = max(0, 1 - math.floor(math.log10(error)))
    return f"{value:.{decimals}f} ± {error:.{decimals}f}"


def format_cell(value: Any, error: float | None, limit: float | None) -> str:
    """A table cell: strings as they are, '> limit' for an infinite value with a finite lower limit (no background
    jet left), else format_with_error."""
    if isinstance(value, str):
        return value
    if limit is not None and not pd.isna(limit) and math.isinf(value):
        return f"> {limit:.4g}"
    return format_with_error(value, None if error is None or pd.isna(error) else error)


def display_frame(table: pd.DataFrame, headers: Mapping[str, str]) -> pd.DataFrame:
    """Strings of the columns in `headers` (column -> header) that have values, each with its *_err (uncertainty)
    and *_limit (lower limit of an infinite value) when present."""
    out = pd.DataFrame({"Model": table["model"]})
    for column, header in headers.items():
        if column not in table.columns or table[column].isna().all():
            continue
        errors, limits = ([None] * len(table) if f"{column}{suffix}" not in table.columns
                          else table[f"{column}{suffix}"] for suffix in ("_err", "_limit"))
        out[header] = [format_cell(*cell) for cell in zip(table[column], errors, limits)]
    return out


def markdown_tables(table: pd.DataFrame, classes: Sequence[str], signal: Sequence[str], background: Sequence[str],
                    efficiencies: Sequence[float]) -> str:
    """Markdown with one table per task present (and the one-vs-rest AUC per class of the classifiers)."""
    rejections = {f"rejection_{percent(e)}": rf"1/ε_B at ε_S = {percent(e)}%" for e in efficiencies}
    jsds = {f"jsd_{percent(e)}": f"mass JSD at ε_S = {percent(e)}%" for e in efficiencies}
    sections = {
        "classification": (f"Classification: {', '.join(signal)} vs {', '.join(background)}",
                           {"family": "Family", "auc_sb": "AUC", **rejections, "accuracy": "Accuracy",
                            "auc_macro": "AUC (macro one-vs-rest)", **jsds}),
        "regression": ("Regression", {"family": "Family", "target": "Target", "mse": "MSE", "bias": "Bias",
                                      "resolution": "Resolution"}),
        "anomaly": ("Anomaly detection: non-background classes vs background",
                    {"family": "Family", "background": "Background", "auc_sb": "AUC", **rejections,
                     **{f"auc_{name}": f"AUC {name}" for name in classes}, **jsds}),
    }
    parts = ["# Model metrics (test split)"]
    for task, (heading, headers) in sections.items():
        rows = table[table["task"] == task]
        if rows.empty:
            continue
        parts += [f"## {heading}", display_frame(rows, headers).to_markdown(index=False)]
        if task == "classification":
            per_class = display_frame(rows, {f"auc_{name}": name for name in classes})
            parts += ["## One-vs-rest AUC per class", per_class.to_markdown(index=False)]
    for heading, headers in (("Calibration", CALIBRATION_HEADERS), ("Per-jet uncertainty", UNCERTAINTY_HEADERS)):
        present = [column for column in headers if column in table.columns]
        rows = table[table[present].notna().any(axis=1)] if present else table.iloc[:0]
        if not rows.empty:
            parts += [f"## {heading}", display_frame(rows, headers).to_markdown(index=False)]
    return "\n\n".join(parts) + "\n"


def write_tables(table: pd.DataFrame, csv_path: str | Path, md_path: str | Path, classes: Sequence[str],
                 signal: Sequence[str], background: Sequence[str], efficiencies: Sequence[float]) -> None:
    """Write the metrics table as CSV and as markdown tables, atomically."""
    with atomic_output(csv_path) as tmp:
        table.to_csv(tmp, index=False)
    with atomic_output(md_path) as tmp:
        tmp.write_text(markdown_tables(table, classes, signal, background, efficiencies))
