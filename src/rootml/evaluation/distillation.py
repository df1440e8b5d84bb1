"""The knowledge-distillation table of the summary: for every distilled model run, its teacher, the same student
trained alone and the distilled student side by side (macro AUC, the evaluation's rejections, parameter count).

The runs are their model_config.json contents (or rootml.config.ModelRun.as_dict()), the metrics the evaluation's
metrics.csv (one row per run, column `model`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROLES: tuple[str, ...] = ("teacher", "alone", "distilled")
AUC_COLUMNS: tuple[str, ...] = ("auc_macro", "auc_sb")  # the first the metrics have is the table's AUC
SAME_STUDENT: tuple[str, ...] = ("family", "task", "hparams", "training", "representations", "features", "sets",
                                 "n_particles")
REJECTION = re.compile(r"^rejection_\d+$")


def baseline_run(student: Mapping[str, Any], runs: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The run of the student trained alone: a run of the distill block's `baseline` entry, else a run without
    distill that has the student's family, task, inputs, hyper-parameters and training settings; the copy with the
    student's seed index when there is one, else the first. None when the config has no such run."""
    named = student["distill"].get("baseline")
    if named is not None:
        candidates = [name for name, run in runs.items() if run["model"] == named]
    else:
        candidates = [name for name, run in runs.items() if run.get("distill") is None
                      and all(run.get(key) == student.get(key) for key in SAME_STUDENT)]
    same_seed = [name for name in candidates if runs[name]["seed_index"] == student["seed_index"]]
    return (same_seed or candidates or [None])[0]


def distillation_table(runs: Mapping[str, Mapping[str, Any]], metrics: pd.DataFrame,
                       n_parameters: Mapping[str, int | None]) -> pd.DataFrame:
    """One row per distilled run: student, teacher, alone (the baseline run or None), temperature, alpha and, for each
    role of ROLES, `<metric>_<role>` for the AUC (auc), each rejection_{pct} (with its _limit where the evaluation
    gives one) and n_parameters; NaN where a run or a metric is missing."""
    by_run = metrics.set_index("model")
    auc = next((column for column in AUC_COLUMNS if column in by_run.columns), None)
    rejections = [column for column in by_run.columns if REJECTION.match(column)]
    limits = [f"{column}_limit" for column in rejections if f"{column}_limit" in by_run.columns]
    rows = []
    for name, run in runs.items():
        distill = run.get("distill")
        if distill is None:
            continue
        roles = {"teacher": distill["teacher_run"], "alone": baseline_run(run, runs), "distilled": name}
        row: dict[str, Any] = {"student": name, "teacher": roles["teacher"], "alone": roles["alone"],
                               "temperature": distill["temperature"], "alpha": distill["alpha"]}
        for role, member in roles.items():
            known = member is not None and member in by_run.index
            for column, key in ((auc, "auc"), *((c, c) for c in [*rejections, *limits])):
                value = by_run.at[member, column] if known and column is not None else np.nan
                row[f"{key}_{role}"] = float(value) if pd.notna(value) else np.nan
            count = None if member is None else n_parameters.get(member)
            row[f"n_parameters_{role}"] = np.nan if count is None else count
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(row: pd.Series, key: str, fmt: str) -> str:
    """'teacher / alone / distilled' of one metric; '-' where missing, '> limit' for an infinite rejection."""
    parts = []
    for role in ROLES:
        value = row.get(f"{key}_{role}", np.nan)
        limit = row.get(f"{key}_limit_{role}", np.nan)
        if pd.isna(value):
            parts.append("-")
        elif np.isinf(value) and pd.notna(limit):
            parts.append(f"> {limit:{fmt}}")
        else:
            parts.append(f"{value:{fmt}}")
    return " / ".join(parts)


def render_distillation(table: pd.DataFrame) -> list[str]:
    """The summary section of a distillation_table (no lines when there is no distilled run)."""
    if table.empty:
        return []
    rejections = sorted({column.removesuffix("_teacher") for column in table.columns
                         if REJECTION.match(column.removesuffix("_teacher"))}, key=lambda c: int(c.split("_")[1]))
    rows = []
    for _, row in table.iterrows():
        delta = row["auc_distilled"] - row["auc_alone"]
        rendered = {"Student": row["student"], "Teacher": row["teacher"],
                    "Alone": "-" if row["alone"] is None or pd.isna(row["alone"]) else row["alone"],
                    "T": f"{row['temperature']:g}", "α": f"{row['alpha']:g}",
                    "AUC": _cell(row, "auc", ".4f"),
                    "Δ AUC (distilled − alone)": "-" if pd.isna(delta) else f"{delta:+.4f}"}
        for column in rejections:
            rendered[column.replace("rejection_", "1/ε_B at ε_S = ") + "%"] = _cell(row, column, ".4g")
        rendered["Parameters"] = _cell(row, "n_parameters", ".0f")
        rows.append(rendered)
    return ["## Knowledge distillation", "",
            "Each cell: teacher / the student trained alone / the distilled student (test jets; AUC: macro "
            "one-vs-rest; parameters: trainable weights, tree nodes of a BDT).", "",
            pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True), ""]


def parameter_count_of(config_path: Path, weights_path: Path) -> int | None:
    """The parameter count a model_config.json records (n_parameters), else counted on the loaded model; None
    without the files."""
    if not config_path.is_file():
        return None
    recorded = json.loads(config_path.read_text()).get("n_parameters")
    if recorded is not None:
        return int(recorded)
    if not weights_path.is_file():
        return None
    from rootml.training.device import CPU  # on use: a summary without distilled models imports no torch
    from rootml.training.load import load_trained
    from rootml.training.run import parameter_count

    return parameter_count(load_trained(config_path, weights_path, CPU).model)
