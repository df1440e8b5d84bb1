"""The epoch loop for torch models: AdamW, per-batch LR schedule, sample and class weights, gradient clipping,
early stopping on the validation loss, best-epoch weights, a checkpoint after every epoch and resuming from it.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from rootml.seeds import derive_seed
from rootml.training.checkpoint import LoopState, read_checkpoint, restore_checkpoint, save_checkpoint
from rootml.training.data import SplitReader
from rootml.training.device import ComputeDevice
from rootml.training.inference import collect, to_tensors, torch_forward
from rootml.training.objectives import Objective
from rootml.training.schedules import build_scheduler
from rootml.training.settings import TrainingSettings

log = logging.getLogger(__name__)

EpochCallback = Callable[[Mapping[str, Any]], None]


class BatchPenalty(Protocol):
    """A term of the optimised loss computed on a batch's outputs and datasets (DisCo's decorrelation)."""

    keys: tuple[str, ...]  # the datasets it reads besides the model's inputs, label and weight

    def __call__(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The batch's penalty (a scalar tensor)."""


@dataclass(frozen=True)
class FitSetup:
    """What the loop needs besides the model: task, settings, data, device, seed, checkpoint and its identity."""

    objective: Objective
    settings: TrainingSettings
    train: SplitReader
    val: SplitReader
    device: ComputeDevice
    seed: int
    checkpoint: Path
    fingerprint: str
    name: str = "model"
    progress: bool = True
    penalty: Callable[[nn.Module], torch.Tensor] | None = None  # added to each batch's training loss (pruning's L1)
    batch_penalty: BatchPenalty | None = None  # added to each batch's training loss as well (DisCo)


def batch_size_for(settings: TrainingSettings, n_train: int, name: str) -> int:
    """The configured batch size, or all training jets when there are fewer (logged)."""
    if n_train < 2:
        raise ValueError(f"model {name}: {n_train} training jets, need at least 2")
    if n_train < settings.batch_size:
        log.warning("%s: %d training jets < batch_size %d, using one batch of all", name, n_train, settings.batch_size)
    return min(settings.batch_size, n_train)


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    """Σ w·x / Σ w (NaN when the weights sum to zero)."""
    total = float(weights.sum())
    return float((values * weights).sum() / total) if total > 0 else float("nan")


@dataclass
class Optimization:
    """Optimizer, per-batch scheduler and loss scaler of one run."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler


def train_epoch(
    model: nn.Module, setup: FitSetup, opt: Optimization, epoch: int, batch_size: int, steps: int,
) -> float:
    """One pass over the shuffled training jets; the weighted mean training loss."""
    objective, device = setup.objective, setup.device
    input_keys = list(model.input_keys)
    keys = [*input_keys, "label", "weight", *([objective.target_key] if objective.target_key else [])]
    keys = list(dict.fromkeys([*keys, *(setup.batch_penalty.keys if setup.batch_penalty is not None else ())]))
    model.train()
    loss_sum = torch.zeros((), device=device.device)
    weight_sum = torch.zeros((), device=device.device)
    batches = setup.train.batches(keys, batch_size, drop_last=True, seed=derive_seed(setup.seed, "shuffle", epoch),
                                  labels=objective.train_labels)
    for batch in tqdm(batches, total=steps, desc=f"{setup.name} epoch {epoch}/{setup.settings.epochs}", unit="batch",
                      leave=False, disable=not setup.progress, mininterval=2.0):
        tensors = to_tensors(batch, keys, device)
        with device.autocast():
            outputs = objective.forward(model, [tensors[key] for key in input_keys])
        rows = objective.row_loss(outputs, tensors)
        weights = tensors["weight"].float()
        loss = (rows * weights).sum() / weights.sum().clamp(min=torch.finfo(torch.float32).tiny)
        if setup.penalty is not None:  # in the optimised loss only: train_loss and val_loss stay the task's
            loss = loss + setup.penalty(model)
        if setup.batch_penalty is not None:
            loss = loss + setup.batch_penalty(outputs, tensors)
        opt.optimizer.zero_grad(set_to_none=True)
        opt.scaler.scale(loss).backward()
        if setup.settings.grad_clip is not None:
            opt.scaler.unscale_(opt.optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), setup.settings.grad_clip)
        opt.scaler.step(opt.optimizer)
        opt.scaler.update()
        opt.scheduler.step()
        loss_sum += (rows.detach() * weights).sum()
        weight_sum += weights.sum()
    return float(loss_sum / weight_sum)


def validate(model: nn.Module, setup: FitSetup, batch_size: int) -> dict[str, float | None]:
    """val_loss (weighted, over the jets the task trains on) and the task's monitors (val_accuracy, val_auc)."""
    objective = setup.objective
    model.eval()
    target_keys = [objective.target_key] if objective.target_key else []
    forward = torch_forward(model, objective, setup.device, validation=True)
    val = collect(forward, setup.val, list(model.input_keys), ["label", "weight", *target_keys], batch_size)
    rows = objective.row_loss(torch.from_numpy(val.outputs), {k: torch.from_numpy(v) for k, v in val.meta.items()})
    trained = np.ones(len(rows), bool) if objective.train_labels is None else np.isin(
        val.meta["label"], objective.train_labels)
    return {"val_loss": weighted_mean(rows.numpy()[trained], val.meta["weight"][trained]),
            **objective.monitor(val.outputs, val.meta)}


def start_or_resume(model: nn.Module, setup: FitSetup, opt: Optimization) -> LoopState:
    """Restore the checkpoint when it belongs to this run (same fingerprint), else seed torch and start afresh."""
    payload = read_checkpoint(setup.checkpoint)
    if payload is not None and payload["loop"]["fingerprint"] == setup.fingerprint:
        loop = restore_checkpoint(payload, model, opt.optimizer, opt.scheduler, opt.scaler)
        log.info("%s: resuming from %s after epoch %d", setup.name, setup.checkpoint, loop.epoch)
        return loop
    if payload is not None:
        log.info("%s: %s belongs to another configuration, starting afresh", setup.name, setup.checkpoint)
    torch.manual_seed(derive_seed(setup.seed, "torch"))
    random.seed(derive_seed(setup.seed, "python"))
    np.random.seed(derive_seed(setup.seed, "numpy"))
    return LoopState(setup.fingerprint)


def fit(model: nn.Module, setup: FitSetup, on_epoch_end: EpochCallback | None = None) -> LoopState:
    """Train `model` (resuming from setup.checkpoint when it belongs to this run); leave the best weights in it."""
    settings = setup.settings
    model.to(setup.device.device)
    n_train = setup.train.count(setup.objective.train_labels)
    batch_size = batch_size_for(settings, n_train, setup.name)
    steps = n_train // batch_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    opt = Optimization(optimizer, build_scheduler(optimizer, settings.schedule, settings.lr, settings.epochs, steps,
                                                  settings.warmup_epochs), setup.device.grad_scaler())
    loop = start_or_resume(model, setup, opt)
    log.info("%s: %d training jets, %d batches of %d per epoch on %s", setup.name, n_train, steps, batch_size,
             setup.device)
    while not loop.finished:
        epoch = loop.epoch + 1
        start, lr = time.perf_counter(), optimizer.param_groups[0]["lr"]
        train_loss = train_epoch(model, setup, opt, epoch, batch_size, steps)
        record = {"epoch": epoch, "train_loss": train_loss, **validate(model, setup, batch_size), "lr": lr,
                  "seconds": time.perf_counter() - start}
        loop.epoch = epoch
        loop.history.append(record)
        if record["val_loss"] < loop.best_val_loss:
            loop.best_val_loss, loop.best_epoch, loop.stale_epochs = record["val_loss"], epoch, 0
            loop.best_state = {key: value.detach().cpu().clone() for key, value in model.state_dict().items()}
        else:
            loop.stale_epochs += 1
        loop.finished = epoch >= settings.epochs or loop.stale_epochs >= settings.patience
        save_checkpoint(setup.checkpoint, model, optimizer, opt.scheduler, opt.scaler, loop)
        log.info("%s epoch %d/%d: train_loss %.5f val_loss %.5f val_accuracy %s val_auc %s lr %.3g %.1f s%s",
                 setup.name, epoch, settings.epochs, train_loss, record["val_loss"], _fmt(record["val_accuracy"]),
                 _fmt(record["val_auc"]), lr, record["seconds"], " (best)" if loop.best_epoch == epoch else "")
        if on_epoch_end is not None:
            on_epoch_end(record)
    if loop.epoch < settings.epochs:
        log.info("%s: early stop after epoch %d, best epoch %d", setup.name, loop.epoch, loop.best_epoch)
    if loop.best_state:
        model.load_state_dict(loop.best_state)
    model.eval()
    return loop


def _fmt(value: float | None) -> str:
    """A metric for the log line ('-' when undefined)."""
    return "-" if value is None else f"{value:.4f}"
