"""predictions_test.parquet, predictions_train.parquet and metrics.json of a trained model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def prediction_frame(collected: Collected, objective: Objective, observers: Sequence[str]) -> pd.DataFrame:
    """event_id, label, weight, obs_* and the task's columns (score_{class}, prediction/target, anomaly_score)."""
    columns: dict[str, np.ndarray] = {key: collected.meta[key] for key in (*BOOKKEEPING, *observers)}
    columns.update(objective.columns(collected.outputs, collected.meta))
    return pd.DataFrame(columns)


def write_predictions(
    forward: Forward, objective: Objective, readers: Mapping[str, SplitReader], input_keys: Sequence[str],
    batch_size: int, files: ModelFiles,
) -> dict[str, Any]:
    """Predict the test split and the first jets of the train split, write them and the test metrics; return these."""
    metrics: dict[str, Any] = {}
    for split, max_rows in (("test", None), ("train", TRAIN_PREDICTION_ROWS)):
        reader = readers[split]
        meta_keys = list(dict.fromkeys([*BOOKKEEPING, *reader.observers,
                                        *([objective.target_key] if objective.target_key else [])]))
        collected = collect(forward, reader, input_keys, meta_keys, batch_size, max_rows=max_rows)
        with atomic_output(files.predictions_test if split == "test" else files.predictions_train) as tmp:
            prediction_frame(collected, objective, reader.observers).to_parquet(tmp, index=False)
        if split == "test":
            metrics = objective.metrics(collected.outputs, collected.meta)
    write_json(metrics, files.metrics)
    return metrics
