"""k-fold cross-validation results of a model (results/folds/{model}/, docs/contracts.md): the out-of-fold
predictions of its fold runs gathered and checked (every train+val jet exactly once), and the table of each fold's
test metrics, their mean and standard deviation and the metrics of the out-of-fold predictions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from rootml.atomic import atomic_output
from rootml.errors import InputError
from rootml.evaluation.evaluate import model_metrics
from rootml.evaluation.metrics import anomaly_vs_background, signal_vs_background
from rootml.evaluation.results import ModelResults, ResultFiles, load_model_results
from rootml.evaluation.settings import EvaluateSettings
from rootml.metrics.binary import BinaryScores, roc
from rootml.plotting.folds import plot_fold_rocs
from rootml.seeds import derive_seed
from rootml.training.folds import FoldFiles, assign_folds

SUMMARY_ROWS: tuple[str, ...] = ("mean", "std", "out_of_fold")  # the `fold` of the table's rows after the folds
SHOWN_IDS = 5


def prepared_event_ids(paths: Sequence[Path]) -> np.ndarray:
    """event_id of every jet of the prepared files `paths` (one file per split), concatenated."""
    ids = []
    for path in paths:
        try:
            with h5py.File(path, "r") as h5:
                ids.append(h5["event_id"][:])
        except (OSError, KeyError) as err:
            raise InputError(f"cannot read the event ids of a prepared file: {err}", file=str(path)) from err
    return np.concatenate(ids)


def _shown(ids: np.ndarray) -> str:
    """A few of `ids`, and how many there are."""
    return f"{len(ids)} (e.g. event_id {ids[:SHOWN_IDS].tolist()})"


def gather_out_of_fold(paths: Sequence[Path], expected: np.ndarray) -> pd.DataFrame:
    """The out-of-fold predictions of fold runs 0..k-1 (their predictions_oof, in fold order) as one table with a
    `fold` column; InputError naming the files unless each holds only jets of its fold and together they hold every
    jet of `expected` (the train+val event ids) exactly once."""
    frames = []
    for fold, path in enumerate(paths):
        frame = pd.read_parquet(path)
        strays = frame["event_id"].to_numpy()[assign_folds(frame["event_id"].to_numpy(), len(paths)) != fold]
        if len(strays):
            raise InputError(f"{_shown(strays)} jets are not of fold {fold} of {len(paths)}", file=str(path))
        frames.append(frame.assign(fold=fold))
    table = pd.concat(frames, ignore_index=True)
    got, got_counts = np.unique(table["event_id"].to_numpy(), return_counts=True)
    want, want_counts = np.unique(expected, return_counts=True)
    files = ", ".join(map(str, paths))
    missing, unknown = np.setdiff1d(want, got), np.setdiff1d(got, want)
    if len(missing):
        raise InputError(f"out-of-fold predictions miss {_shown(missing)} train+val jets", file=files)
    if len(unknown):
        raise InputError(f"out-of-fold predictions hold {_shown(unknown)} jets of no train+val split", file=files)
    repeated = want[got_counts != want_counts]
    if len(repeated):
        raise InputError(f"out-of-fold predictions hold {_shown(repeated)} jets more than once", file=files)
    return table


def write_out_of_fold(paths: Sequence[Path], expected: np.ndarray, out: Path) -> pd.DataFrame:
    """gather_out_of_fold, written to `out`."""
    table = gather_out_of_fold(paths, expected)
    with atomic_output(out) as tmp:
        table.to_parquet(tmp, index=False)
    return table


def fold_scores(result: ModelResults, classes: Sequence[str], settings: EvaluateSettings) -> BinaryScores:
    """The signal-vs-background discriminant of a fold run's test jets: class scores, or an anomaly score."""
    select = anomaly_vs_background if result.task == "anomaly" else signal_vs_background
    return select(result.test, classes, settings.signal, settings.background, weighted=settings.weighted)


def fold_metrics(folds: Sequence[ModelResults], out_of_fold: ModelResults, classes: Sequence[str],
                 settings: EvaluateSettings, seed: int) -> pd.DataFrame:
    """One row per fold run (its test metrics as evaluate computes them), then their mean, their sample standard
    deviation, and the metrics of the out-of-fold predictions (`fold` says which)."""
    def metrics_of(result: ModelResults) -> dict:
        """model_metrics of one result with evaluate's seed for its run."""
        return model_metrics(result, classes, settings.signal, settings.background, settings.efficiencies,
                             settings.weighted, settings.n_bootstrap, derive_seed(seed, "evaluate", result.name))

    table = pd.DataFrame([{"run": result.name, "fold": str(index), **metrics_of(result)}
                          for index, result in enumerate(folds)])
    numeric = table.select_dtypes("number")
    summary = [{"fold": "mean", **numeric.mean().to_dict()}, {"fold": "std", **numeric.std(ddof=1).to_dict()},
               {"run": out_of_fold.name, "fold": "out_of_fold", **metrics_of(out_of_fold)}]
    return pd.concat([table, pd.DataFrame(summary)], ignore_index=True)


def fold_results(runs: Sequence[str], files: Sequence[ResultFiles], oof: Path, classes: Sequence[str],
                 ) -> tuple[list[ModelResults], ModelResults]:
    """The results of the fold runs and of their gathered out-of-fold predictions (read as a run `<model>_oof` with
    the first fold's config and history)."""
    folds = [load_model_results(run, entry, classes) for run, entry in zip(runs, files)]
    name = f"{runs[0].rsplit('_f', 1)[0]}_oof"  # the fold runs' group: the entry, or its seed copy (config.run_name)
    return folds, load_model_results(name, replace(files[0], predictions_test=oof), classes)


def evaluate_folds(runs: Sequence[str], files: Sequence[ResultFiles], oof_paths: Sequence[Path],
                   prepared: Sequence[Path], classes: Sequence[str], settings: EvaluateSettings, seed: int,
                   out: FoldFiles) -> pd.DataFrame:
    """Write the gathered out-of-fold predictions (checked against the event ids of the `prepared` train and val
    files), the fold metrics table and the per-fold ROC figure of one model's fold runs; return the table."""
    write_out_of_fold(oof_paths, prepared_event_ids(prepared), out.predictions_oof)
    folds, out_of_fold = fold_results(runs, files, out.predictions_oof, classes)
    table = fold_metrics(folds, out_of_fold, classes, settings, seed)
    with atomic_output(out.metrics) as tmp:
        table.to_csv(tmp, index=False)
    curves = {result.name: roc(fold_scores(result, classes, settings)) for result in folds}
    plot_fold_rocs(curves, out.roc_png.with_suffix(""), signal_label=", ".join(settings.signal),
                   background_label=", ".join(settings.background))
    return table
