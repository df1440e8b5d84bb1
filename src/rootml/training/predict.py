"""predictions_test.parquet, predictions_train.parquet and metrics.json of a trained model."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rootml.atomic import atomic_output
from rootml.training.data import SplitReader
from rootml.training.files import ModelFiles
from rootml.training.inference import Collected, Forward, collect
from rootml.training.objectives import Objective
from rootml.training.records import write_json

TRAIN_PREDICTION_ROWS = 50_000  # predictions_train holds at most this many jets (for overtraining checks)
BOOKKEEPING: tuple[str, ...] = ("event_id", "label", "weight")
# More columns of a prediction table from its split's reader, the row limit and the collected outputs (calibrated
# scores, rootml.training.calibration; MC dropout mean and spread, rootml.training.mc_dropout).
ExtraColumns = Callable[[SplitReader, int | None, Collected], dict[str, np.ndarray]]


def prediction_frame(collected: Collected, objective: Objective, observers: Sequence[str]) -> pd.DataFrame:
    """event_id, label, weight, obs_* and the task's columns (score_{class}, prediction/target, anomaly_score)."""
    columns: dict[str, np.ndarray] = {key: collected.meta[key] for key in (*BOOKKEEPING, *observers)}
    columns.update(objective.columns(collected.outputs, collected.meta))
    return pd.DataFrame(columns)


def write_predictions(
    forward: Forward, objective: Objective, readers: Mapping[str, SplitReader], input_keys: Sequence[str],
    batch_size: int, files: ModelFiles, extra_columns: Sequence[ExtraColumns] = (),
    extra_metrics: Mapping[str, Any] | None = None, out_of_fold: bool = False,
) -> dict[str, Any]:
    """Predict the test split and the first jets of the train split, write them (with the `extra_columns`) and the
    test metrics (with `extra_metrics`); return these. out_of_fold: the validation jets too, as predictions_oof."""
    metrics: dict[str, Any] = {}
    written = {"test": (None, files.predictions_test), "train": (TRAIN_PREDICTION_ROWS, files.predictions_train)}
    if out_of_fold:  # a fold run (rootml.training.folds): its validation fold's jets, every one
        written["val"] = (None, files.predictions_oof)
    for split, (max_rows, path) in written.items():
        reader = readers[split]
        meta_keys = list(dict.fromkeys([*BOOKKEEPING, *reader.observers,
                                        *([objective.target_key] if objective.target_key else [])]))
        collected = collect(forward, reader, input_keys, meta_keys, batch_size, max_rows=max_rows)
        with atomic_output(path) as tmp:
            frame = prediction_frame(collected, objective, reader.observers)
            for make in extra_columns:
                frame = frame.assign(**make(reader, max_rows, collected))
            frame.to_parquet(tmp, index=False)
        if split == "test":
            metrics = {**objective.metrics(collected.outputs, collected.meta), **(extra_metrics or {})}
    write_json(metrics, files.metrics)
    return metrics
