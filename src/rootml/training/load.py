"""Loading a trained model (results/models/{name}/: its config and weights) for ranking and pruning."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from rootml.config import ModelRun
from rootml.errors import ConfigError, InputError
from rootml.models.registry import build_model
from rootml.training.data import to_model_layout
from rootml.training.device import ComputeDevice, select_device
from rootml.training.inference import Forward, torch_forward
from rootml.training.objectives import Objective, make_objective
from rootml.training.view import InputView

if TYPE_CHECKING:
    import xgboost as xgb

PREDICT_BATCH = 4096


def objective_of(model_config: Mapping[str, Any]) -> Objective:
    """The objective a model was trained with, from its model_config.json."""
    scale = model_config.get("target_scale")
    return make_objective(ModelRun.from_dict(model_config), model_config["classes"],
                          None if scale is None else (scale["mean"], scale["std"]))


@dataclass
class TrainedModel:
    """A rebuilt model (torch module in eval mode, or XGBoost booster), its config and objective."""

    config: dict[str, Any]
    model: nn.Module | xgb.Booster
    objective: Objective
    device: ComputeDevice
    forward: Forward

    @property
    def input_keys(self) -> tuple[str, ...]:
        """The prepared datasets the model reads (features, points, mask, highlevel, image, ...)."""
        return tuple(self.config["input_keys"])

    @property
    def view(self) -> InputView:
        """The particles and high-level features the model reads (model_config.json n_particles, features)."""
        return InputView.of(self.config)

    def narrow(self, key: str, values: np.ndarray) -> np.ndarray:
        """Dataset `key` as the model reads it: given in the prepared layout or already narrowed by its view."""
        columns = self.config.get("highlevel_columns")
        if key == "highlevel" and columns is not None and values.shape[1] == len(columns):
            return values
        return self.view.slice(key, values, None if columns is None else np.asarray(columns))

    def predict(self, inputs: Mapping[str, np.ndarray], batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """Scores in batches: class probabilities (n, n_classes), regression values (n,) or anomaly scores (n,).

        inputs: the arrays named by input_keys, in the prepared layout (mask (n, P) bool or (n, 1, P)), all
        particles and high-level features or only those of the model's view.
        """
        missing = [key for key in self.input_keys if key not in inputs]
        if missing:
            raise KeyError(f"model {self.config['name']} needs inputs {list(self.input_keys)}, missing {missing}")
        n = len(inputs[self.input_keys[0]])
        outputs = [
            self.forward({key: value.astype(np.float32, copy=False) for key, value in to_model_layout(
                [{key: self.narrow(key, np.asarray(inputs[key][start:start + batch_size]))
                  for key in self.input_keys}]).items()})
            for start in range(0, n, batch_size)
        ]
        return self.objective.scores(np.concatenate(outputs))


def load_trained(config_path: str | Path, weights_path: str | Path,
                 device: ComputeDevice | None = None) -> TrainedModel:
    """Rebuild a trained model from its model_config.json and best weights (on `device`, default: select_device)."""
    config_path, weights_path = Path(config_path), Path(weights_path)
    if not config_path.is_file():
        raise InputError("model_config.json of the trained model not found", file=str(config_path))
    config = json.loads(config_path.read_text())
    objective = objective_of(config)
    device = device or select_device()
    if config["family"] == "bdt":
        from rootml.training import bdt  # on use: loading a torch model skips XGBoost's and scikit-learn's import

        booster = bdt.load_booster(weights_path)
        return TrainedModel(config, booster, objective, device, bdt.booster_forward(booster, objective))
    model = build_model(config["family"], config["input_dims"], config["n_outputs"], seed=config["seed"],
                        config_key=f"models.{config['name']}.hparams", **config["hparams"])
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except OSError as err:
        raise InputError(f"cannot read the weights: {err}", file=str(weights_path)) from err
    model.load_state_dict(state)
    model.to(device.device).eval()
    return TrainedModel(config, model, objective, device, torch_forward(model, objective, device))


def load_torch_trained(config_path: str | Path, weights_path: str | Path, stage: str) -> TrainedModel:
    """load_trained of a torch model; ConfigError naming the entry's family when it is a BDT, which `stage` (pruned,
    quantized, ...) cannot apply to."""
    trained = load_trained(config_path, weights_path)
    if not isinstance(trained.model, nn.Module):
        config = trained.config
        raise ConfigError(f"models.{config['model']}.family",
                          f"only torch models can be {stage}, model '{config['name']}' is a '{config['family']}'")
    return trained
