"""Checkpoints for resuming training: model, optimizer, scheduler, loss scaler, RNG states and the loop's state.

Everything is stored as tensors and plain Python values, so `torch.load(..., weights_only=True)` reads it.
"""

from __future__ import annotations

import pickle
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rootml.atomic import atomic_output
from rootml.training.records import save_torch


@dataclass
class LoopState:
    """Where the epoch loop stands: epochs done, the best epoch so far and its weights, the history."""

    fingerprint: str
    epoch: int = 0
    best_val_loss: float = float("inf")
    best_epoch: int = 0
    stale_epochs: int = 0
    finished: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    best_state: dict[str, torch.Tensor] = field(default_factory=dict)


def rng_state() -> dict[str, Any]:
    """The torch (CPU and CUDA), numpy and python global RNG states."""
    numpy_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {**numpy_state, "state": {"key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                                           "pos": numpy_state["state"]["pos"]}},
        "python": random.getstate(),
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put back the RNG states captured by `rng_state`."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    numpy_state = state["numpy"]
    np.random.set_state({**numpy_state, "state": {"key": numpy_state["state"]["key"].numpy().astype(np.uint32),
                                                  "pos": numpy_state["state"]["pos"]}})
    random.setstate(state["python"])


def save_checkpoint(
    path: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler, loop: LoopState,
) -> None:
    """Write the full training state atomically (a kill while writing keeps the previous checkpoint)."""
    payload = {
        "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(), "rng": rng_state(), "loop": asdict(loop),
    }
    with atomic_output(path) as tmp:
        save_torch(payload, tmp)


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The stored training state at `path` (on CPU), or None when there is none or it is unreadable."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
        return None


def restore_checkpoint(
    payload: dict[str, Any], model: nn.Module, optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler, scaler: torch.amp.GradScaler,
) -> LoopState:
    """Load model, optimizer, scheduler, scaler and RNG states from a `read_checkpoint` payload; return the loop."""
    model.load_state_dict(payload["model"])
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    scaler.load_state_dict(payload["scaler"])
    restore_rng_state(payload["rng"])
    return LoopState(**payload["loop"])
