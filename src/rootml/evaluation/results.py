"""Reading what evaluation needs from a trained-model directory: model_config.json, the prediction tables and the
training history, checked against the data contract."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.errors import InputError

BOOKKEEPING: tuple[str, ...] = ("event_id", "label", "weight")


@dataclass(frozen=True)
class ModelResults:
    """One trained model's config, test and train predictions and per-epoch history."""

    name: str
    directory: Path
    config: dict[str, Any]
    test: pd.DataFrame
    train: pd.DataFrame
    history: pd.DataFrame

    @property
    def task(self) -> str:
        """classification, regression or anomaly."""
        return self.config.get("task", "classification")

    @property
    def family(self) -> str:
        """Model family (bdt, particlenet, ...)."""
        return self.config["family"]


def task_columns(config: dict[str, Any], task: str) -> list[str]:
    """Prediction columns a model of this task writes besides the bookkeeping."""
    if task == "regression":
        return ["prediction", "target"]
    if task == "anomaly":
        return ["anomaly_score"]
    return [f"score_{name}" for name in config["classes"]]


def read_predictions(path: Path, columns: Sequence[str], n_classes: int) -> pd.DataFrame:
    """A predictions_*.parquet table with the bookkeeping and `columns`, finite, labels in [0, n_classes)."""
    if not path.is_file():
        raise InputError("prediction table not found", file=str(path))
    frame = pd.read_parquet(path)
    missing = [column for column in (*BOOKKEEPING, *columns) if column not in frame.columns]
    if missing:
        raise InputError(f"prediction table lacks columns {missing}", file=str(path))
    if frame.empty:
        raise InputError("prediction table has no jets", file=str(path))
    for column in ("weight", *columns):
        if not np.isfinite(frame[column].to_numpy(np.float64)).all():
            raise InputError("non-finite values", file=str(path), branch=column)
    labels = frame["label"].to_numpy()
    if labels.min() < 0 or labels.max() >= n_classes:
        raise InputError(f"labels outside [0, {n_classes})", file=str(path), branch="label")
    return frame


def load_model_results(name: str, directory: str | Path, classes: Sequence[str]) -> ModelResults:
    """Read results/models/{name}/ (config, predictions_test/train.parquet, history.json) for the run's classes."""
    directory = Path(directory)
    config_path = directory / "model_config.json"
    if not config_path.is_file():
        raise InputError("model_config.json not found", file=str(config_path))
    config = json.loads(config_path.read_text())
    if list(config.get("classes", [])) != list(classes):
        raise InputError(f"model classes {config.get('classes')} differ from the run's classes {list(classes)}",
                         file=str(config_path))
    task = config.get("task", "classification")
    columns = task_columns(config, task)
    test = read_predictions(directory / "predictions_test.parquet", columns, len(classes))
    train = read_predictions(directory / "predictions_train.parquet", columns, len(classes))
    history_path = directory / "history.json"
    if not history_path.is_file():
        raise InputError("training history not found", file=str(history_path))
    history = pd.DataFrame(json.loads(history_path.read_text()))
    if "epoch" not in history.columns or history.empty:
        raise InputError("history has no epochs", file=str(history_path))
    return ModelResults(name, directory, config, test, train, history)
