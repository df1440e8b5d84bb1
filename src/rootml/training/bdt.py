"""Boosted decision trees: XGBoost fed batch by batch, sample (and class) weights, early stopping on val."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xgboost as xgb

from rootml.atomic import atomic_output
from rootml.models.bdt import INPUT_KEYS
from rootml.training.data import SplitReader
from rootml.training.inference import Forward
from rootml.training.objectives import Classification, Objective

log = logging.getLogger(__name__)

BLOCK_ROWS = 65_536  # jets per batch handed to XGBoost while it builds its quantized matrix
LOG_ROUNDS = 10  # log about this many lines per training


class SplitBatches(xgb.DataIter):
    """Feeds one split to a QuantileDMatrix batch by batch, so the split is never loaded whole."""

    def __init__(self, reader: SplitReader, objective: Objective) -> None:
        """Iterate `reader` with the fit targets and weights of `objective`."""
        self._reader = reader
        self._objective = objective
        self._keys = [*INPUT_KEYS, "weight", *([objective.target_key] if objective.target_key else [])]
        self._batches = iter(())
        super().__init__()

    def next(self, input_data: Any) -> bool:
        """Hand XGBoost the next batch; False at the end of the split."""
        batch = next(self._batches, None)
        if batch is None:
            return False
        weight = batch["weight"].astype(np.float64)
        if isinstance(self._objective, Classification) and self._objective.class_weights is not None:
            weight = weight * np.asarray(self._objective.class_weights)[batch["label"]]
        input_data(data=batch["highlevel"], label=self._objective.fit_target(batch), weight=weight)
        return True

    def reset(self) -> None:
        """Start again from the first batch."""
        self._batches = iter(self._reader.batches(self._keys, BLOCK_ROWS))


class LogRounds(xgb.callback.TrainingCallback):
    """Log the training and validation loss every `period` boosting rounds."""

    def __init__(self, name: str, period: int) -> None:
        """Log lines are prefixed by the model's `name`."""
        super().__init__()
        self.name = name
        self.period = period

    def after_iteration(self, model: xgb.Booster, epoch: int, evals_log: Mapping[str, Any]) -> bool:
        """Log, and never stop training."""
        if (epoch + 1) % self.period == 0:
            losses = {split: next(iter(metrics.values()))[-1] for split, metrics in evals_log.items()}
            log.info("%s round %d: train_loss %.5f val_loss %.5f", self.name, epoch + 1, losses["train"], losses["val"])
        return False


def booster_params(estimator: xgb.XGBModel, objective: Objective, num_threads: int | None) -> dict[str, Any]:
    """The native training parameters of the zoo's estimator, with the objective of the task."""
    params = {key: value for key, value in estimator.get_xgb_params().items() if value is not None}
    if isinstance(objective, Classification):
        if objective.n_outputs > 2:
            params.update(objective="multi:softprob", num_class=objective.n_outputs, eval_metric="mlogloss")
        else:
            params.update(objective="binary:logistic", eval_metric="logloss")
    if num_threads is not None:
        params["nthread"] = num_threads
    return params


def train_bdt(
    estimator: xgb.XGBModel, objective: Objective, train: SplitReader, val: SplitReader, num_threads: int | None,
    name: str = "bdt",
) -> tuple[xgb.Booster, list[dict[str, Any]]]:
    """Boost on the train split with early stopping on val; the booster cut at its best round, and the history."""
    params = booster_params(estimator, objective, num_threads)
    rounds = estimator.n_estimators
    dtrain = xgb.QuantileDMatrix(SplitBatches(train, objective), max_bin=params.get("max_bin"), nthread=num_threads)
    dval = xgb.QuantileDMatrix(SplitBatches(val, objective), ref=dtrain, nthread=num_threads)
    evals_result: dict[str, dict[str, list[float]]] = {}
    start = time.perf_counter()
    booster = xgb.train(
        params, dtrain, num_boost_round=rounds, evals=[(dtrain, "train"), (dval, "val")],
        early_stopping_rounds=estimator.early_stopping_rounds, evals_result=evals_result, verbose_eval=False,
        callbacks=[LogRounds(name, max(1, rounds // LOG_ROUNDS))],
    )
    seconds = time.perf_counter() - start
    if estimator.early_stopping_rounds:
        booster = booster[: booster.best_iteration + 1]
    train_loss, val_loss = (next(iter(evals_result[split].values())) for split in ("train", "val"))
    history = [
        {"epoch": i + 1, "train_loss": float(train_loss[i]), "val_loss": float(val_loss[i]), "val_accuracy": None,
         "val_auc": None, "lr": float(params["learning_rate"]), "seconds": seconds / len(train_loss)}
        for i in range(len(train_loss))
    ]
    log.info("%s: %d rounds (best %d) in %.1f s, val_loss %.5f", name, len(train_loss), booster.num_boosted_rounds(),
             seconds, min(val_loss))
    return booster, history


def booster_forward(booster: xgb.Booster, objective: Objective) -> Forward:
    """Outputs in the objective's space: log-probabilities (classification) or the standardized target (n, 1)."""

    def forward(batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """One batch through the booster."""
        predicted = np.asarray(booster.inplace_predict(batch["highlevel"]), dtype=np.float64)
        if not isinstance(objective, Classification):
            return predicted.reshape(-1, 1).astype(np.float32)
        probabilities = predicted if predicted.ndim == 2 else np.stack([1 - predicted, predicted], axis=1)
        return np.log(np.clip(probabilities, np.finfo(np.float32).tiny, None)).astype(np.float32)

    return forward


def save_booster(booster: xgb.Booster, path: Path) -> None:
    """Write the booster as XGBoost JSON (model.json) atomically."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(bytes(booster.save_raw(raw_format="json")))


def load_booster(path: Path) -> xgb.Booster:
    """Read a booster written by `save_booster`."""
    return xgb.Booster(model_file=str(path))
