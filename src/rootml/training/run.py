"""train_model: one model entry of the config -> a trained-model directory (the train rule's single entry point)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rootml.atomic import atomic_output
from rootml.config import model_representations
from rootml.errors import ConfigError, InputError
from rootml.models import MODEL_FAMILIES, build_model
from rootml.models.common import resolve_hparams
from rootml.seeds import derive_seed
from rootml.training import bdt
from rootml.training.data import SplitReader
from rootml.training.device import ComputeDevice, configure_torch, select_device
from rootml.training.inference import torch_forward
from rootml.training.objectives import Objective, Regression, make_objective
from rootml.training.predict import write_predictions
from rootml.training.records import save_torch, write_history, write_json
from rootml.training.settings import TrainingSettings
from rootml.training.trainer import EpochCallback, FitSetup, fit
from rootml.training.view import InputView

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")
SCALE_BLOCK = 65_536


@dataclass(frozen=True)
class TrainingOutcome:
    """What train_model wrote: the directory, test metrics, per-epoch history and the best epoch (or round)."""

    out_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    best_epoch: int


def target_scale(reader: SplitReader, target: str, key: str) -> tuple[float, float]:
    """Mean and standard deviation of the observer `target` over the training jets."""
    column = f"obs_{target}"
    if column not in reader.datasets:
        observers = [name.removeprefix("obs_") for name in reader.observers]
        raise ConfigError(f"{key}.target", f"'{target}' is not an observer of the prepared data: {observers}")
    total, total_sq = 0.0, 0.0
    for batch in reader.batches([column], SCALE_BLOCK):
        values = batch[column].astype(np.float64)
        total, total_sq = total + values.sum(), total_sq + np.square(values).sum()
    mean = total / reader.n_rows
    std = float(np.sqrt(max(total_sq / reader.n_rows - mean**2, 0.0)))
    if std == 0.0:
        raise InputError(f"regression target '{column}' is constant ({mean}) in the training split",
                         file=str(reader.datasets[column].path))
    return mean, std


def fingerprint(model_config: Mapping[str, Any], readers: Mapping[str, SplitReader]) -> str:
    """Identity of a training run (thread count aside): a checkpoint with another fingerprint is not resumed."""
    training = {key: value for key, value in model_config["training"].items() if key != "num_threads"}
    identity = {**model_config, "training": training, "rows": {split: r.n_rows for split, r in readers.items()}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RunPlan:
    """Everything resolved before training: settings, data readers, objective, the built model and its config."""

    name: str
    settings: TrainingSettings
    readers: dict[str, SplitReader]
    objective: Objective
    model: Any
    input_keys: list[str]
    model_config: dict[str, Any]
    seed: int


def plan_run(name: str, entry: Mapping[str, Any], config: Mapping[str, Any], data_dir: str | Path) -> RunPlan:
    """Validate the entry against the config and the prepared data, open the splits and build the model."""
    model_name = entry.get("model", name)
    key = f"models.{model_name}"
    family = entry.get("family")
    if family not in MODEL_FAMILIES:
        raise ConfigError(f"{key}.family", f"unknown model family {family!r}; known: {sorted(MODEL_FAMILIES)}")
    hparams = resolve_hparams(MODEL_FAMILIES[family].hparams, entry.get("hparams", {}), f"{key}.hparams")
    representations = model_representations({**entry, "model": model_name})
    settings = TrainingSettings.resolve(config.get("training", {}), entry.get("training", {}), f"{key}.training")
    seed = derive_seed(config["seed"], "train", model_name, entry.get("seed_index", 0))
    view = InputView.of(entry)
    for option, representation in (("n_particles", "particles"), ("features", "highlevel")):
        if entry.get(option) is not None and representation not in representations:
            raise ConfigError(f"{key}.{option}", f"applies to models on the {representation} inputs; family "
                                                 f"'{family}' reads {representations}")
    readers = {split: SplitReader(data_dir, split, representations, settings.max_jets_in_memory, view=view,
                                  view_key=key) for split in SPLITS}
    classes = list(config["classes"])
    if readers["train"].classes != classes:
        raise InputError(f"prepared with classes {readers['train'].classes}, but the config's classes are {classes}",
                         file=str(readers["train"].paths[0]))
    task = entry.get("task", "classification")
    scale = target_scale(readers["train"], entry["target"], key) if task == "regression" and "target" in entry else None
    objective = make_objective(entry, classes, settings.class_weights, key, scale)
    if family == "bdt" and isinstance(objective, Regression) and objective.loss != "mse":
        raise ConfigError(f"{key}.loss", "family 'bdt' supports the 'mse' regression loss only")
    input_dims = readers["train"].input_dims()
    model = build_model(family, input_dims, objective.n_outputs, seed=seed, config_key=f"{key}.hparams", **hparams)
    input_keys = list(bdt.INPUT_KEYS if family == "bdt" else model.input_keys)
    for reader in readers.values():
        reader.require(input_keys)
    model_config = {
        "name": name, "model": model_name, "seed_index": entry.get("seed_index", 0), "family": family,
        **objective.describe(), "classes": classes, "inputs": representations, "input_keys": input_keys,
        "input_dims": input_dims, "n_outputs": objective.n_outputs, "hparams": hparams, "training": settings.as_dict(),
        "seed": seed, "feature_names": readers["train"].feature_names[representations[0]],
        "n_particles": view.n_particles, "features": None if view.features is None else list(view.features),
        "highlevel_columns": None if readers["train"].columns is None else readers["train"].columns.tolist(),
    }
    return RunPlan(name, settings, readers, objective, model, input_keys, model_config, seed)


def train_model(
    name: str, entry: Mapping[str, Any], config: Mapping[str, Any], data_dir: str | Path, out_dir: str | Path, *,
    device: ComputeDevice | None = None, progress: bool = True, on_epoch_end: EpochCallback | None = None,
) -> TrainingOutcome:
    """Train the model entry `entry` (run `name`) on data_dir/{split}/*.h5 and write out_dir (contracts.md).

    A checkpoint.pt left in out_dir by an interrupted run of the same configuration is resumed.
    entry may carry `model` (its name under `models`) and `seed_index` (copy number), as config.model_runs gives.
    """
    out_dir = Path(out_dir)
    plan = plan_run(name, entry, config, data_dir)
    configure_torch(plan.settings.num_threads)
    device = device or select_device()
    readers, objective = plan.readers, plan.objective
    out_dir.mkdir(parents=True, exist_ok=True)
    log.info("%s: family %s, task %s, inputs %s, seed %d", name, plan.model_config["family"], objective.task,
             plan.input_keys, plan.seed)
    if plan.model_config["family"] == "bdt":
        booster, history = bdt.train_bdt(plan.model, objective, readers["train"], readers["val"],
                                         plan.settings.num_threads, name)
        bdt.save_booster(booster, out_dir / "model.json")
        best_epoch = booster.num_boosted_rounds()
        forward = bdt.booster_forward(booster, objective)
    else:
        setup = FitSetup(objective, plan.settings, readers["train"], readers["val"], device, plan.seed,
                         out_dir / "checkpoint.pt", fingerprint(plan.model_config, readers), name, progress)
        loop = fit(plan.model, setup, on_epoch_end)
        with atomic_output(out_dir / "model.pt") as tmp:
            save_torch({k: v.cpu() for k, v in plan.model.state_dict().items()}, tmp)
        history, best_epoch = loop.history, loop.best_epoch
        forward = torch_forward(plan.model, objective, device)
    write_json({**plan.model_config, "best_epoch": best_epoch}, out_dir / "model_config.json")
    write_history(history, out_dir)
    metrics = write_predictions(forward, objective, readers, plan.input_keys, plan.settings.batch_size, out_dir)
    log.info("%s: test metrics %s", name, json.dumps(metrics, sort_keys=True))
    return TrainingOutcome(out_dir, metrics, history, best_epoch)
