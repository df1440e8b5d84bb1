"""Mass decorrelation (DisCo) groups: a classifier run and the runs that differ from it only by
training.decorrelation, each with its strength lambda (0 without), their rejection against the sculpting of the
background observable (1/JSD) at each signal efficiency: the summary's table and the evaluation's figure.

The runs are their model_config.json contents (or rootml.config.ModelRun.as_dict()); the metrics the evaluation's
rows (metrics.csv: model, auc_sb, rejection_{pct}, jsd_{pct}). Groups are found as distillation finds a student's
baseline (rootml.evaluation.distillation.SAME_STUDENT): by comparing the resolved runs, here with the decorrelation
left out, so that a decorrelated entry names nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.evaluation.distillation import SAME_STUDENT
from rootml.metrics.names import percent
from rootml.plotting.decorrelation import plot_decorrelation

# training settings a decorrelation group ignores: the decorrelation itself, and MC dropout (predictions after training)
INFERENCE_ONLY = frozenset({"decorrelation", "mc_dropout"})


def decorrelation_block(run: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The run's training.decorrelation block (None without one, also for a config without a training block)."""
    return run.get("training", {}).get("decorrelation")


def strength(run: Mapping[str, Any]) -> float:
    """The run's decorrelation strength lambda (0 without a decorrelation block)."""
    block = decorrelation_block(run)
    return 0.0 if block is None else float(block["strength"])


def undecorrelated_identity(run: Mapping[str, Any]) -> str:
    """What a run trains, decorrelation, MC dropout and seed aside but its seed copy kept (JSON text, comparable)."""
    identity = {key: run.get(key) for key in SAME_STUDENT}
    identity["training"] = {key: value for key, value in run.get("training", {}).items()
                            if key not in INFERENCE_ONLY}
    identity |= {"distill": run.get("distill"), "seed_index": run.get("seed_index")}
    return json.dumps(identity, sort_keys=True, default=str)


def decorrelation_groups(runs: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """Groups of classifier runs equal but for training.decorrelation, each by increasing lambda, those with a
    decorrelated run only, in the order of their first run."""
    groups: dict[str, list[str]] = {}
    for name, run in runs.items():
        if run.get("task", "classification") == "classification":
            groups.setdefault(undecorrelated_identity(run), []).append(name)
    return [sorted(members, key=lambda name: strength(runs[name])) for members in groups.values()
            if any(decorrelation_block(runs[name]) is not None for name in members)]


def decorrelation_table(runs: Mapping[str, Mapping[str, Any]], metrics: pd.DataFrame,
                        efficiencies: Sequence[float]) -> pd.DataFrame:
    """One row per member of each group: group (its first run), model, lambda, auc_sb and, at each signal
    efficiency, rejection_{pct} and jsd_{pct} (NaN where the evaluation has none)."""
    by_run = metrics.set_index("model")
    columns = ["auc_sb", *(f"{kind}_{percent(e)}" for e in efficiencies for kind in ("rejection", "jsd"))]
    rows = []
    for members in decorrelation_groups(runs):
        for name in members:
            row: dict[str, Any] = {"group": members[0], "model": name, "lambda": strength(runs[name])}
            for column in columns:
                known = name in by_run.index and column in by_run.columns
                row[column] = float(by_run.at[name, column]) if known else np.nan
            rows.append(row)
    return pd.DataFrame(rows, columns=["group", "model", "lambda", *columns])


def render_decorrelation(table: pd.DataFrame) -> list[str]:
    """The summary section of a decorrelation_table (no lines when no run is decorrelated)."""
    if table.empty:
        return []
    headers = {"group": "Group", "model": "Model", "lambda": "λ", "auc_sb": "AUC"}
    for column in table.columns:
        kind, _, pct = column.partition("_")
        if kind == "rejection":
            headers[column] = f"1/ε_B at ε_S = {pct}%"
        elif kind == "jsd":
            headers[column] = f"JSD at ε_S = {pct}%"
    return ["## Mass decorrelation", "",
            "DisCo groups (runs equal but for training.decorrelation, λ its strength): signal-vs-background AUC, "
            "background rejection and the Jensen-Shannon divergence of the background observable after the cut to "
            "the inclusive one, at each signal efficiency (test jets; smaller JSD: less sculpting).", "",
            table[list(headers)].rename(columns=headers).to_markdown(index=False, floatfmt=".4g"), ""]


def decorrelation_figure(runs: Mapping[str, Mapping[str, Any]], rows: Mapping[str, Mapping[str, Any]],
                         efficiencies: Sequence[float], observable: str, figures_dir: Path) -> list[Path]:
    """The figure figures_dir/decorrelation of the groups among `runs` (name -> model config) and the other
    classifiers, from the evaluation's rows (name -> metrics with jsd_{pct}); nothing without a decorrelated run."""
    metrics = pd.DataFrame([{"model": name, **row} for name, row in rows.items()])
    table = decorrelation_table(runs, metrics, efficiencies)
    if table.empty:
        return []
    others = {name: rows[name] for name, run in runs.items()
              if run.get("task", "classification") == "classification" and name not in set(table["model"])}
    return plot_decorrelation(table, others, efficiencies, figures_dir / "decorrelation", observable=observable)
