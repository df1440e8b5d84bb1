"""The three training tasks: what a model outputs, its per-jet loss, its scores, and its validation/test metrics.

Model outputs live in one space per task: class logits (classification), the standardized target and,
for the Gaussian loss, its log-variance (regression), the anomaly score (anomaly: e.g. a reconstruction error).
A distilled classifier (Distillation) trains on a trained teacher's logits as well as on the labels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.special import softmax
from torch import nn

from rootml.config import ModelRun
from rootml.errors import ConfigError
from rootml.metrics.binary import auc
from rootml.metrics.multiclass import accuracy, class_aucs, cross_entropy, macro_mean
from rootml.metrics.regression import residual_stats
from rootml.models.specs import ANOMALY_FAMILIES, FAMILY_SPECS


def defined_or_none(value: float) -> float | None:
    """The metric, or None (null in metrics.json) where it is undefined (NaN)."""
    return None if np.isnan(value) else value


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

    validation_forward = forward

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
        aucs = class_aucs(labels, probabilities)
        return {"auc": defined_or_none(macro_mean(aucs)),
                **{f"auc_{name}": defined_or_none(value) for name, value in zip(self.classes, aucs)},
                "accuracy": accuracy(labels, probabilities),
                "loss": cross_entropy(labels, outputs.astype(np.float64), from_logits=True)}

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

    validation_forward = forward

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
        """mse; bias = median residual; resolution = half the 15.865-84.135% quantile range (target units)."""
        return residual_stats(self.scores(outputs) - meta[self.target_key])

    def describe(self) -> dict[str, Any]:
        """Task settings for model_config.json."""
        return {"task": self.task, "target": self.target, "loss": self.loss,
                "target_scale": {"mean": self.mean, "std": self.std}}


@dataclass(frozen=True)
class Anomaly:
    """An anomaly detector (autoencoder, VAE) trained on the background classes: its per-jet training objective is
    `anomaly_score` in training mode, its anomaly score (the reconstruction error of an autoencoder) in eval mode."""

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
        """The model's anomaly score per jet (B,): its training objective in training mode."""
        return model.anomaly_score(*inputs)

    def validation_forward(self, model: nn.Module, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """The model's validation loss per jet (B,): the deterministic training objective, whatever score the model
        reports (a VAE validated on its KL term alone would pick the epochs before the KL weight grew)."""
        return model.validation_loss(*inputs)

    def row_loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The score is the loss."""
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
        return {"auc": defined_or_none(auc(~background, outputs)), "loss": float(outputs[background].mean())}

    def describe(self) -> dict[str, Any]:
        """Task settings for model_config.json."""
        return {"task": self.task, "background": list(self.background)}


TEACHER_LOGITS = "teacher_logits"  # the in-memory dataset of a distillation's teacher logits (rootml.training.distill)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor, temperature: float,
                      alpha: float, class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Per-jet Hinton loss (B,): alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) *
    cross entropy of the student's logits and the labels (times the class weight of the jet's class, if any).

    T^2 keeps the gradient of the soft term on the scale of the hard one as T grows (arXiv:1503.02531).
    """
    soft = nn.functional.kl_div(nn.functional.log_softmax(student / temperature, dim=1),
                                nn.functional.log_softmax(teacher / temperature, dim=1),
                                reduction="none", log_target=True).sum(dim=1)
    hard = nn.functional.cross_entropy(student, labels, weight=class_weights, reduction="none")
    return alpha * temperature**2 * soft + (1.0 - alpha) * hard


@dataclass(frozen=True)
class Distillation:
    """A classifier trained as the student of a teacher: the Hinton loss on the teacher's logits of each jet (the
    dataset TEACHER_LOGITS, its target) and the labels; outputs, scores, monitors and metrics are the wrapped
    classifier's.

    The validation loss (early stopping, best epoch) is the same distillation loss: the best epoch is the one that
    best does what the student is trained to do, and the teacher's probabilities make a small validation split's
    estimate less noisy than its labels alone (val_auc, the student's own, is in the history beside it).
    """

    base: Classification
    temperature: float
    alpha: float
    task: str = field(default="classification", init=False)
    train_labels = None
    target_key = TEACHER_LOGITS

    @property
    def classes(self) -> list[str]:
        """The classes of the wrapped classifier."""
        return self.base.classes

    @property
    def n_outputs(self) -> int:
        """One logit per class."""
        return self.base.n_outputs

    def forward(self, model: nn.Module, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits (B, n_classes)."""
        return model(*inputs)

    validation_forward = forward

    def row_loss(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Per-jet distillation loss (B,) of the student's logits against the teacher's and the labels."""
        weights = self.base.class_weights
        return distillation_loss(outputs.float(), batch[TEACHER_LOGITS].float(), batch["label"], self.temperature,
                                 self.alpha, None if weights is None else torch.tensor(weights, device=outputs.device))

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes)."""
        return self.base.scores(outputs)

    def columns(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """score_{class} columns."""
        return self.base.columns(outputs, meta)

    def monitor(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, float | None]:
        """Validation accuracy and macro one-vs-rest AUC of the student."""
        return self.base.monitor(outputs, meta)

    def metrics(self, outputs: np.ndarray, meta: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """The classifier's metrics (its loss: the cross entropy on the labels)."""
        return self.base.metrics(outputs, meta)

    def describe(self) -> dict[str, Any]:
        """Task settings for model_config.json."""
        return self.base.describe()


Objective = Classification | Regression | Anomaly | Distillation


def make_objective(run: ModelRun, classes: Sequence[str],
                   target_scale: tuple[float, float] | None = None) -> Objective:
    """The objective of a training run (task, target, background, class weights); a regression needs the target's
    (mean, std) over the training jets."""
    classes = list(classes)
    if (run.task == "anomaly") != FAMILY_SPECS[run.family].anomaly:
        raise ConfigError(f"{run.key}.task", f"task 'anomaly' goes with the anomaly families {list(ANOMALY_FAMILIES)}, "
                                             f"and only with them; family '{run.family}' has task '{run.task}'")
    if run.task == "regression":
        if run.target is None:
            raise ConfigError(f"{run.key}.target", "a regression needs a target (an observer such as jet_mass)")
        if target_scale is None:
            raise ValueError("a regression objective needs the target's mean and std")
        return Regression(run.target, float(target_scale[0]), float(target_scale[1]), run.loss)
    if run.task == "anomaly":
        background = list(run.background or [])
        unknown = [name for name in background if name not in classes]
        if not background or unknown or set(background) == set(classes):
            raise ConfigError(f"{run.key}.background",
                              f"must name some but not all of the classes {classes}, got {background}")
        return Anomaly(classes, background)
    class_weights = run.training.class_weights
    if class_weights is not None and len(class_weights) != len(classes):
        raise ConfigError(f"{run.key}.training.class_weights",
                          f"needs one weight per class ({len(classes)}: {classes}), got {len(class_weights)}")
    return Classification(classes, None if class_weights is None else [float(w) for w in class_weights])
