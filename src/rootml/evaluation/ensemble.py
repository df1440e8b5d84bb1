"""Ensembles of the seed copies of a classifier entry: the mean of the members' class probabilities, evaluated as
one more model `{entry}_ensemble`, and the per-jet standard deviation of the members' P(signal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.errors import InputError
from rootml.evaluation.groups import ensemble_members
from rootml.evaluation.metrics import signal_vs_background
from rootml.evaluation.results import BOOKKEEPING, ModelResults
from rootml.evaluation.uncertainty import PerJetUncertainty


@dataclass(frozen=True)
class Ensemble:
    """An ensemble as an evaluated model (its config names the members) and the per-jet spread of its members."""

    result: ModelResults
    members: list[str]
    uncertainty: PerJetUncertainty


def mean_table(tables: Sequence[pd.DataFrame], classes: Sequence[str]) -> pd.DataFrame:
    """The first table's bookkeeping and observers with score_{class} the mean over the tables."""
    first = tables[0]
    scores = [f"score_{name}" for name in classes]
    kept = [column for column in first.columns if column in BOOKKEEPING or column.startswith("obs_")]
    mean = np.mean([table[scores].to_numpy(np.float64) for table in tables], axis=0)
    return first[kept].assign(**{column: mean[:, i] for i, column in enumerate(scores)})


def same_jets(results: Sequence[ModelResults], split: str) -> None:
    """InputError naming a member's table when the members' `split` tables hold other jets than the first's."""
    first = getattr(results[0], split)["event_id"].to_numpy()
    for result in results[1:]:
        if not np.array_equal(getattr(result, split)["event_id"].to_numpy(), first):
            path = getattr(result.files, f"predictions_{split}")
            raise InputError(f"ensemble member '{result.name}' holds other {split} jets than '{results[0].name}'",
                             file=str(path))


def build_ensemble(name: str, members: Sequence[ModelResults], classes: Sequence[str], signal: Sequence[str],
                   background: Sequence[str], weighted: bool) -> Ensemble:
    """The ensemble `name` of the members' test and train predictions (checked to be of the same jets)."""
    for split in ("test", "train"):
        same_jets(members, split)
    first = members[0]
    config = {**first.config, "name": name, "model": name, "ensemble": [member.name for member in members]}
    result = ModelResults(name, first.files, config, mean_table([m.test for m in members], classes),
                          mean_table([m.train for m in members], classes), first.history.iloc[:0])
    member_scores = np.stack([signal_vs_background(m.test, classes, signal, background, weighted=weighted).score
                              for m in members])
    scores = signal_vs_background(result.test, classes, signal, background, weighted=weighted)
    return Ensemble(result, [m.name for m in members], PerJetUncertainty(scores, member_scores.std(axis=0)))


def ensembles_of(results: Mapping[str, ModelResults], classes: Sequence[str], signal: Sequence[str],
                 background: Sequence[str], weighted: bool) -> dict[str, Ensemble]:
    """`{entry}_ensemble` -> Ensemble for every classifier entry evaluated as two or more seed copies."""
    groups = ensemble_members({name: result.config for name, result in results.items()})
    return {name: build_ensemble(name, [results[run] for run in runs], classes, signal, background, weighted)
            for name, runs in groups.items()}


def ensemble_reports(ensembles: Mapping[str, Ensemble], rows: Mapping[str, dict[str, Any]],
                     figures_dir: Path) -> None:
    """Add the per-jet uncertainty columns to each ensemble's row (the mean AUC of its members as the reference)
    and write its uncertainty_{name} figure."""
    for name, ensemble in ensembles.items():
        reference = float(np.mean([rows[member]["auc_sb"] for member in ensemble.members]))
        rows[name].update(ensemble.uncertainty.report("ensemble", len(ensemble.members), reference,
                                                      figures_dir / f"uncertainty_{name}", name))
