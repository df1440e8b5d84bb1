"""The three training tasks: what a model outputs, its per-jet loss, its scores, and its validation/test metrics.

Model outputs live in one space per task: class logits (classification), the standardized target and,
for the Gaussian loss, its log-variance (regression), the reconstruction error (anomaly).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.special import log_softmax, softmax
from sklearn.metrics import roc_auc_score
from torch import nn

from rootml.errors import ConfigError

TASKS: tuple[str, ...] = ("classification", "regression", "anomaly")
REGRESSION_LOSSES: tuple[str, ...] = ("mse", "gaussian")


def auc_or_none(is_positive: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC of `score` for positives vs the rest; None when one of the two is absent."""
    if is_positive.all() or not is_positive.any():
        return None
    return float(roc_auc_score(is_positive, score))


@dataclass(frozen=True)
class Classification:
    """Cross entropy over the classes (one logit per class), optionally scaled per class."""

    classes: list[str]
    class_weights: list[float] | None = None
    task: str = field(default="classification", init=False)

    @property
    def n_outputs(self) -> int:
        """One logit per class."""
        return len(self.classes)

    train_labels = None
    target_key = None

    def forward(self, model: nn.Module, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (B, n_classes)."""
        return model(*inputs)

    def row_loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-jet cross entropy (B,), times the class weight of the jet's class."""
        weight = None if self.class_weights is None else torch.tensor(self.class_weights, device=outputs.device)
        return nn.functional.cross_entropy(outputs.float(), batch["label"], weight=weight, reduction="none")

    def fit_target(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """What a BDT fits: the labels."""
        return batch["label"]

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes)."""
        return softmax(outputs.astype(np.float64), axis=1)

    def columns(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """score_{class} columns."""
        probabilities = self.scores(outputs)
        return {f"score_{name}": probabilities[:, i].astype(np.float32) for i, name in enumerate(self.classes)}

    def monitor(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, float | None]:
        """Validation accuracy and macro one-vs-rest AUC."""
        metrics = self.metrics(outputs, meta)
        return {"val_accuracy": metrics["accuracy"], "val_auc": metrics["auc"]}

    def metrics(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """auc (macro one-vs-rest), auc_{class}, accuracy and mean cross entropy, unweighted."""
        labels = meta["label"]
        probabilities = self.scores(outputs)
        # per-class AUCs by hand: sklearn's multi-class roc_auc_score fails when a class is missing from `labels`
        per_class = {f"auc_{name}": auc_or_none(labels == i, probabilities[:, i])
                     for i, name in enumerate(self.classes)}
        defined = [value for value in per_class.values() if value is not None]
        loss = -log_softmax(outputs.astype(np.float64), axis=1)[np.arange(len(labels)), labels]
        return {"auc": float(np.mean(defined)) if defined else None, **per_class,
                "accuracy": float(np.mean(probabilities.argmax(axis=1) == labels)), "loss": float(loss.mean())}

    def describe(self) -> dict[str, Any]:
        """Task settings for model_config.json."""
        return {"task": self.task}


@dataclass(frozen=True)
class Regression:
    """Regression of an observer (e.g. jet_mass), standardized with the training split's mean and std."""

    target: str
    mean: float
    std: float
    loss: str = "mse"
    task: str = field(default="regression", init=False)
    train_labels = None

    @property
    def n_outputs(self) -> int:
        """The prediction, plus its log-variance for the Gaussian loss."""
        return 2 if self.loss == "gaussian" else 1

    @property
    def target_key(self) -> str:
        """The observer dataset holding the raw target."""
        return f"obs_{self.target}"

    def forward(self, model: nn.Module, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Standardized prediction (and log-variance) (B, n_outputs)."""
        return model(*inputs)

    def row_loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-jet squared error or Gaussian negative log-likelihood in standardized units (B,)."""
        target = (batch[self.target_key].float() - self.mean) / self.std
        outputs = outputs.float()
        if self.loss == "gaussian":
            return nn.functional.gaussian_nll_loss(outputs[:, 0], target, outputs[:, 1].exp(), reduction="none")
        return (outputs[:, 0] - target).square()

    def fit_target(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """What a BDT fits: the standardized target."""
        return (batch[self.target_key] - self.mean) / self.std

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions in the target's units (n,)."""
        return outputs[:, 0].astype(np.float64) * self.std + self.mean

    def columns(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """prediction and target (raw units); prediction_std for the Gaussian loss."""
        out = {"prediction": self.scores(outputs).astype(np.float32), "target": meta[self.target_key]}
        if self.loss == "gaussian":
            out["prediction_std"] = (np.exp(0.5 * outputs[:, 1].astype(np.float64)) * self.std).astype(np.float32)
        return out

    def monitor(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, float | None]:
        """No accuracy or AUC for a regression."""
        return {"val_accuracy": None, "val_auc": None}

    def metrics(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """mse; bias = median residual; resolution = half the 16-84% range of residuals (target units)."""
        residual = self.scores(outputs) - meta[self.target_key]
        low, median, high = np.percentile(residual, [15.865, 50.0, 84.135])
        return {"mse": float(np.mean(residual**2)), "bias": float(median), "resolution": float((high - low) / 2)}

    def describe(self) -> dict[str, Any]:
        """Task settings for model_config.json."""
        return {"task": self.task, "target": self.target, "loss": self.loss,
                "target_scale": {"mean": self.mean, "std": self.std}}


@dataclass(frozen=True)
class Anomaly:
    """Autoencoder trained on the background classes; the reconstruction error is the anomaly score."""

    classes: list[str]
    background: list[str]
    task: str = field(default="anomaly", init=False)
    n_outputs = 1
    target_key = None

    @property
    def train_labels(self) -> list[int]:
        """Labels of the background classes: the only jets trained (and validated) on."""
        return [self.classes.index(name) for name in self.background]

    def forward(self, model: nn.Module, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Reconstruction error per jet (B,)."""
        return model.anomaly_score(*inputs)

    def row_loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The reconstruction error is the loss."""
        return outputs.float()

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """Anomaly scores (n,)."""
        return outputs.astype(np.float64)

    def columns(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """anomaly_score."""
        return {"anomaly_score": outputs.astype(np.float32)}

    def monitor(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, float | None]:
        """AUC of the score for signal (non-background) vs background jets."""
        return {"val_accuracy": None, "val_auc": self.metrics(outputs, meta)["auc"]}

    def metrics(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """auc of the anomaly score, signal vs background, and the mean background reconstruction error."""
        background = np.isin(meta["label"], self.train_labels)
        return {"auc": auc_or_none(~background, outputs), "loss": float(outputs[background].mean())}

    def describe(self) -> dict[str, Any]:
        """Task settings for model_config.json."""
        return {"task": self.task, "background": list(self.background)}


Objective = Classification | Regression | Anomaly


def make_objective(
    entry: Mapping[str, Any], classes: Sequence[str], class_weights: Sequence[float] | None, key: str,
    target_scale: tuple[float, float] | None = None,
) -> Objective:
    """The objective of a model entry (config key `key`); regression needs the target's (mean, std)."""
    task = entry.get("task", "classification")
    classes = list(classes)
    if task not in TASKS:
        raise ConfigError(f"{key}.task", f"got {task!r}, expected one of {list(TASKS)}")
    if (task == "anomaly") != (entry["family"] == "autoencoder"):
        raise ConfigError(f"{key}.task", "task 'anomaly' goes with family 'autoencoder', and only with it")
    if task == "regression":
        if "target" not in entry:
            raise ConfigError(f"{key}.target", "a regression needs a target (an observer such as jet_mass)")
        loss = entry.get("loss", "mse")
        if loss not in REGRESSION_LOSSES:
            raise ConfigError(f"{key}.loss", f"got {loss!r}, expected one of {list(REGRESSION_LOSSES)}")
        if target_scale is None:
            raise ValueError("a regression objective needs the target's mean and std")
        return Regression(entry["target"], float(target_scale[0]), float(target_scale[1]), loss)
    if task == "anomaly":
        background = list(entry.get("background", []))
        unknown = [name for name in background if name not in classes]
        if not background or unknown or set(background) == set(classes):
            raise ConfigError(f"{key}.background",
                              f"must name some but not all of the classes {classes}, got {background}")
        return Anomaly(classes, background)
    if class_weights is not None and len(class_weights) != len(classes):
        raise ConfigError(f"{key}.training.class_weights",
                          f"needs one weight per class ({len(classes)}: {classes}), got {len(class_weights)}")
    return Classification(classes, None if class_weights is None else [float(w) for w in class_weights])
