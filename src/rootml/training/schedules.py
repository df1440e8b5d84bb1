"""Learning-rate schedules stepped once per batch: cosine, one-cycle, step and constant, with linear warm-up."""

from __future__ import annotations

from torch.optim import Optimizer, lr_scheduler

WARMUP_START = 0.01  # warm-up starts at this fraction of the learning rate
STEP_GAMMA = 0.1  # schedule 'step': the learning rate drops tenfold ...
STEP_EVERY = 1 / 3  # ... after each third of the epochs


def build_scheduler(
    optimizer: Optimizer, schedule: str, lr: float, epochs: int, steps_per_epoch: int, warmup_epochs: int,
) -> lr_scheduler.LRScheduler:
    """The per-batch scheduler for `schedule`; warm-up ramps up linearly (onecycle: its rising phase, default 30%)."""
    total = epochs * steps_per_epoch
    warmup = min(warmup_epochs, epochs - 1) * steps_per_epoch if epochs > 1 else 0
    if schedule == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total,
                                       pct_start=warmup / total if warmup else 0.3)
    remaining = total - warmup
    if schedule == "cosine":
        main: lr_scheduler.LRScheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=remaining)
    elif schedule == "step":
        main = lr_scheduler.StepLR(optimizer, step_size=max(1, round(remaining * STEP_EVERY)), gamma=STEP_GAMMA)
    elif schedule == "constant":
        main = lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
    else:
        raise ValueError(f"unknown schedule {schedule!r}")
    if not warmup:
        return main
    ramp = lr_scheduler.LinearLR(optimizer, start_factor=WARMUP_START, end_factor=1.0, total_iters=warmup)
    return lr_scheduler.SequentialLR(optimizer, [ramp, main], milestones=[warmup])
