"""train_model: one training run of a model entry -> the files of a trained model (the train rule's entry point); a
distilled entry (models.<name>.distill) learns from its trained teacher's logits as well (rootml.training.distill)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rootml.atomic import atomic_output
from rootml.config import ModelRun
from rootml.errors import ConfigError, InputError
from rootml.models.bdt import INPUT_KEYS as BDT_INPUT_KEYS
from rootml.models.registry import build_model
from rootml.seeds import derive_seed
from rootml.training.calibration import calibrate
from rootml.training.data import Prepared, SplitReader
from rootml.training.device import ComputeDevice, configure_torch, select_device
from rootml.training.disco import disco_penalty
from rootml.training.files import ModelFiles
from rootml.training.folds import fold_readers
from rootml.training.inference import Forward, torch_forward
from rootml.training.mc_dropout import McDropout, check_mc_dropout
from rootml.training.objectives import Anomaly, Classification, Distillation, Objective, Regression, make_objective
from rootml.training.predict import ExtraColumns, write_predictions
from rootml.training.records import save_torch, write_history, write_json
from rootml.training.trainer import EpochCallback, FitSetup, fit
from rootml.training.view import InputView

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")
SCALE_BLOCK = 65_536


@dataclass(frozen=True)
class TrainingOutcome:
    """What train_model wrote: the files, test metrics, per-epoch history and the best epoch (or round)."""

    files: ModelFiles
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


def background_scale(
    reader: SplitReader, key: str, labels: Sequence[int], mask_key: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of each element of input `key` over the training jets of the classes `labels`
    (an anomaly model's background), streamed. With `mask_key` (a set's mask (B, 1, P)), of each feature of a set's
    `key` (B, C, P) over the real particles of those jets, shaped (C, 1)."""
    total, total_sq, n = 0.0, 0.0, 0.0
    for batch in reader.batches([key] if mask_key is None else [key, mask_key], SCALE_BLOCK, labels=labels):
        values = batch[key].astype(np.float64)
        if mask_key is None:
            weights, axes, count = values, 0, len(values)
        else:
            real = batch[mask_key].astype(np.float64)
            weights, axes, count = values * real, (0, 2), real.sum()
        total = total + weights.sum(axis=axes)
        total_sq, n = total_sq + (weights * values).sum(axis=axes), n + count
    if n == 0:
        what = "jet" if mask_key is None else "particle in a jet"
        raise InputError(f"no training {what} of the background classes {list(labels)}", file=str(reader.paths[0]))
    mean = total / n
    std = np.sqrt(np.maximum(total_sq / n - np.square(mean), 0.0))
    if mask_key is not None:
        mean, std = mean[:, None], std[:, None]
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()


def parameter_count(model: Any) -> int:
    """Trainable parameters of a torch model; tree nodes (splits and leaves) of an XGBoost booster."""
    if isinstance(model, nn.Module):
        return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    return sum(len(tree.splitlines()) for tree in model.get_dump())  # one line per node in XGBoost's text dump


def fingerprint(model_config: Mapping[str, Any], readers: Mapping[str, SplitReader]) -> str:
    """Identity of a training run (thread count aside): a checkpoint with another fingerprint is not resumed."""
    training = {key: value for key, value in model_config["training"].items() if key != "num_threads"}
    identity = {**model_config, "training": training, "rows": {split: r.n_rows for split, r in readers.items()}}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RunPlan:
    """Everything resolved before training: data readers, objective, the built model and its config."""

    run: ModelRun
    readers: dict[str, SplitReader]
    objective: Objective
    model: Any
    input_keys: list[str]
    model_config: dict[str, Any]


def plan_run(run: ModelRun, classes: Sequence[str], prepared: Prepared) -> RunPlan:
    """Check the run against the prepared data, open its splits and build the model."""
    view = InputView.of(run.as_dict())

    def open_split(split: str) -> SplitReader:
        """A reader of the prepared files of `split` the run reads."""
        missing = [rep for rep in run.representations if rep not in prepared.get(split, {})]
        if missing:
            raise ValueError(f"{run.key}: no prepared {split} file of {missing} among {dict(prepared)}")
        return SplitReader({rep: prepared[split][rep] for rep in run.representations}, split,
                           run.training.max_jets_in_memory, view=view, view_key=run.key)

    readers = {split: open_split(split) for split in SPLITS}
    if run.fold is not None:  # k-fold cross-validation: trained and validated on the folds of train+val
        readers.update(fold_readers(open_split, run.fold, run.training.folds))
    classes = list(classes)
    if readers["train"].classes != classes:
        raise InputError(f"prepared with classes {readers['train'].classes}, but the config's classes are {classes}",
                         file=str(readers["train"].paths[0]))
    scale = target_scale(readers["train"], run.target, run.key) if run.task == "regression" and run.target else None
    objective = make_objective(run, classes, scale)
    if run.family == "bdt" and isinstance(objective, Regression) and objective.loss != "mse":
        raise ConfigError(f"{run.key}.loss", "family 'bdt' supports the 'mse' regression loss only")
    input_dims = readers["train"].input_dims()
    model = build_model(run.family, input_dims, objective.n_outputs, seed=run.seed, config_key=f"{run.key}.hparams",
                        **run.hparams)
    input_keys = list(BDT_INPUT_KEYS if run.family == "bdt" else model.input_keys)
    for reader in readers.values():
        reader.require(input_keys)
    model_config = {
        **run.as_dict(), **objective.describe(), "classes": classes, "input_keys": input_keys,
        "input_dims": input_dims, "n_outputs": objective.n_outputs,
        "feature_names": [name for rep in run.representations for name in readers["train"].feature_names[rep]],
        "highlevel_columns": None if readers["train"].columns is None else readers["train"].columns.tolist(),
    }
    return RunPlan(run, readers, objective, model, input_keys, model_config)


def prediction_extras(plan: RunPlan, forward: Forward, device: ComputeDevice) -> tuple[list[ExtraColumns],
                                                                                   dict[str, Any]]:
    """A classifier's temperature scaling, fitted on the validation jets (score_cal_* columns; temperature and the
    validation ECE in metrics.json), and its MC dropout columns when training.mc_dropout asks for them."""
    objective, settings = plan.objective, plan.run.training
    if not isinstance(objective, Classification):
        return [], {}
    calibration = calibrate(forward, plan.readers["val"], plan.input_keys, settings.batch_size, objective.classes)
    extras: list[ExtraColumns] = [calibration.columns]
    if settings.mc_dropout:
        extras.append(McDropout(plan.model, objective, device, settings.mc_dropout,
                                derive_seed(plan.run.seed, "mc_dropout"), plan.input_keys, settings.batch_size).columns)
    return extras, calibration.metrics()


def train_model(
    run: ModelRun, classes: Sequence[str], prepared: Prepared, files: ModelFiles, *,
    device: ComputeDevice | None = None, progress: bool = True, on_epoch_end: EpochCallback | None = None,
    teacher: ModelFiles | None = None,
) -> TrainingOutcome:
    """Train `run` on the prepared files (split -> representation -> file) and write `files` (docs/contracts.md).

    A checkpoint left by an interrupted training of the same configuration (files.checkpoint) is resumed. A distilled
    run (run.distill) is taught by the trained model `teacher` (default: its run's folder beside `files`), which
    reads its own representations of `prepared`.
    """
    plan = plan_run(run, classes, prepared)
    settings = run.training
    configure_torch(settings.num_threads)
    device = device or select_device()
    check_mc_dropout(plan.model, plan.objective, settings.mc_dropout, f"{run.key}.training.mc_dropout")
    readers, objective = plan.readers, plan.objective
    files.config.parent.mkdir(parents=True, exist_ok=True)
    log.info("%s: family %s, task %s, inputs %s, seed %d", run.name, run.family, objective.task, plan.input_keys,
             run.seed)
    trained_objective: Objective = objective
    if run.distill is not None:
        from rootml.training.distill import attach_teacher, teacher_files  # on use: loads the teacher's family

        if run.family == "bdt" or not isinstance(objective, Classification):
            raise ConfigError(f"{run.key}.distill", "distillation trains a torch classifier")
        taught_by = attach_teacher(run, readers, prepared, teacher or teacher_files(run, files), classes,
                                   settings.batch_size, device)
        plan.model_config["teacher"] = taught_by
        trained_objective = Distillation(objective, run.distill.temperature, run.distill.alpha)
    if run.family == "bdt":
        from rootml.training import bdt  # on use: torch trainings skip XGBoost's and scikit-learn's import

        booster, history = bdt.train_bdt(plan.model, objective, readers["train"], readers["val"],
                                         settings.num_threads, run.name)
        bdt.save_booster(booster, files.weights)
        best_epoch = booster.num_boosted_rounds()
        forward = bdt.booster_forward(booster, objective)
        n_parameters = parameter_count(booster)
    else:
        if isinstance(objective, Anomaly):  # the input standardisation of the anomaly families (autoencoder.py)
            model = plan.model  # names the input it standardises, and for a set the mask of its real particles
            model.standardise.fit(*background_scale(readers["train"], model.standardised_input,
                                                    objective.train_labels, model.standardised_mask))
        setup = FitSetup(trained_objective, settings, readers["train"], readers["val"], device, run.seed,
                         files.checkpoint, fingerprint(plan.model_config, readers), run.name, progress,
                         batch_penalty=disco_penalty(run, classes, readers["train"]))
        loop = fit(plan.model, setup, on_epoch_end)
        with atomic_output(files.weights) as tmp:
            save_torch({k: v.cpu() for k, v in plan.model.state_dict().items()}, tmp)
        history, best_epoch = loop.history, loop.best_epoch
        forward = torch_forward(plan.model, objective, device)
        n_parameters = parameter_count(plan.model)
    write_json({**plan.model_config, "n_parameters": n_parameters, "best_epoch": best_epoch}, files.config)
    write_history(history, files.history, files.history_csv)
    metrics = write_predictions(forward, objective, readers, plan.input_keys, settings.batch_size, files,
                                *prediction_extras(plan, forward, device), out_of_fold=run.fold is not None)
    log.info("%s: test metrics %s", run.name, json.dumps(metrics, sort_keys=True))
    return TrainingOutcome(files, metrics, history, best_epoch)
