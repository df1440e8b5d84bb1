"""Reading what evaluation needs of a trained model: model_config.json, the prediction tables and the training
history, checked against the data contract (docs/contracts.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rootml.errors import InputError
from rootml.training.files import ModelFiles

BOOKKEEPING: tuple[str, ...] = ("event_id", "label", "weight")


@dataclass(frozen=True)
class ResultFiles:
    """The files of a trained model that evaluation reads."""

    config: Path
    predictions_test: Path
    predictions_train: Path
    history: Path

    @classmethod
    def of(cls, files: ModelFiles) -> ResultFiles:
        """The evaluated part of a trained model's files."""
        return cls(files.config, files.predictions_test, files.predictions_train, files.history)


@dataclass(frozen=True)
class ModelResults:
    """One trained model's config, test and train predictions and per-epoch history."""

    name: str
    files: ResultFiles
    config: dict[str, Any]
    test: pd.DataFrame
    train: pd.DataFrame
    history: pd.DataFrame

    @property
    def task(self) -> str:
        """classification, regression or anomaly."""
        return self.config["task"]

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


def load_model_results(name: str, files: ResultFiles, classes: Sequence[str]) -> ModelResults:
    """Read a trained model's config, test and train predictions and history for the run's classes."""
    if not files.config.is_file():
        raise InputError("model_config.json not found", file=str(files.config))
    config = json.loads(files.config.read_text())
    if list(config.get("classes", [])) != list(classes):
        raise InputError(f"model classes {config.get('classes')} differ from the run's classes {list(classes)}",
                         file=str(files.config))
    columns = task_columns(config, config["task"])
    test = read_predictions(files.predictions_test, columns, len(classes))
    train = read_predictions(files.predictions_train, columns, len(classes))
    if not files.history.is_file():
        raise InputError("training history not found", file=str(files.history))
    history = pd.DataFrame(json.loads(files.history.read_text()))
    if "epoch" not in history.columns or history.empty:
        raise InputError("history has no epochs", file=str(files.history))
    return ModelResults(name, files, config, test, train, history)
