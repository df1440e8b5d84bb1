"""Learning-rate schedules: warm-up, cosine decay, one-cycle peak, step drops, constant; stepped per batch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rootml.training.schedules import build_scheduler

LR, EPOCHS, STEPS = 0.01, 6, 10


def trajectory(schedule: str, warmup_epochs: int) -> np.ndarray:
    """The learning rate used at every batch of the run."""
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = build_scheduler(optimizer, schedule, LR, EPOCHS, STEPS, warmup_epochs)
    rates = []
    for _ in range(EPOCHS * STEPS):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


def test_cosine_warms_up_linearly_then_decays_to_zero() -> None:
    """One warm-up epoch from 1% to the full rate, then a cosine from LR to ~0 over the remaining steps."""
    rates = trajectory("cosine", 1)
    np.testing.assert_allclose(rates[:STEPS], LR * np.linspace(0.01, 1.0, STEPS, endpoint=False), rtol=1e-6)
    assert rates[STEPS] == pytest.approx(LR)
    remaining = EPOCHS * STEPS - STEPS
    np.testing.assert_allclose(rates[STEPS:], LR * (1 + np.cos(np.pi * np.arange(remaining) / remaining)) / 2,
                               rtol=1e-5, atol=1e-9)
    assert np.all(np.diff(rates[STEPS:]) < 0)


def test_onecycle_peaks_at_lr_after_the_warmup_fraction() -> None:
    """One-cycle rises to LR at the end of the warm-up epochs and anneals far below it."""
    rates = trajectory("onecycle", 2)
    assert rates.argmax() == 2 * STEPS - 1 and rates.max() == pytest.approx(LR)
    assert rates[0] < LR / 10 and rates[-1] < LR / 1000


def test_step_drops_tenfold_each_third_and_constant_stays() -> None:
    """'step' without warm-up: LR, LR/10, LR/100 over three equal parts; 'constant' keeps LR after warm-up."""
    rates = trajectory("step", 0)
    np.testing.assert_allclose(rates[[0, 19, 20, 39, 40, 59]], LR * np.array([1, 1, 0.1, 0.1, 0.01, 0.01]), rtol=1e-6)
    constant = trajectory("constant", 1)
    assert constant[0] == pytest.approx(LR / 100) and np.allclose(constant[STEPS:], LR)
