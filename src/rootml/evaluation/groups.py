"""Which evaluated runs make an ensemble (the seed copies of a classifier entry) and which carry MC dropout
predictions, from their config entries; light enough for the Snakefile (no numpy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ENSEMBLE_SUFFIX = "_ensemble"


def ensemble_members(models: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """`{entry}_ensemble` -> its member runs, for each classifier entry trained as two or more seed copies (runs of the
    same `model` with distinct `seed_index`; runs given as name -> config entry, in their order)."""
    by_entry: dict[str, list[str]] = {}
    for name, entry in models.items():
        if entry.get("task", "classification") == "classification" and "model" in entry and name != entry["model"]:
            by_entry.setdefault(entry["model"], []).append(name)
    return {f"{model}{ENSEMBLE_SUFFIX}": runs for model, runs in by_entry.items()
            if len(runs) > 1 and len({models[run].get("seed_index") for run in runs}) == len(runs)}


def mc_dropout_runs(models: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The classifier runs trained with `training.mc_dropout` passes."""
    return [name for name, entry in models.items() if entry.get("task", "classification") == "classification"
            and (entry.get("training") or {}).get("mc_dropout", 0) > 0]
