"""Checkpoints: RNG states round-trip; a killed run resumed ends with exactly the weights of an uninterrupted one;
the same seed gives identical weights, predictions and metrics; a checkpoint of another configuration is ignored."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import train
from rootml.training.checkpoint import restore_rng_state, rng_state
from rootml.training.device import CPU
from test_training_data import CLASSES, features_block, write_prepared

CONFIG = {"seed": 7, "classes": CLASSES, "features": features_block("part"),
          "training": {"epochs": 3, "batch_size": 32, "lr": 0.005, "warmup_epochs": 1, "schedule": "cosine"}}
# BatchNorm, dropout and a dynamic kNN graph: every piece of state a resume has to restore
PNET = {"family": "particlenet", "hparams": {"k": 4, "conv_params": [[16, 16]], "fc_params": [16], "dropout": 0.3}}


class Killed(Exception):
    """Stands for the job being killed."""


def kill_after(epoch: int):
    """on_epoch_end callback that 'kills' the run once `epoch` is done (after its checkpoint was written)."""

    def callback(record: Mapping[str, Any]) -> None:
        """Raise after the chosen epoch."""
        if record["epoch"] == epoch:
            raise Killed

    return callback


def weights(path: Path) -> dict[str, torch.Tensor]:
    """A saved state_dict."""
    return torch.load(path, weights_only=True)


def assert_same_state(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> None:
    """Bit-identical state dicts."""
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic prepared splits."""
    return write_prepared(tmp_path_factory.mktemp("resume"))


def test_rng_states_round_trip() -> None:
    """Draws after restoring equal the draws after capturing, for torch, numpy and python."""
    state = rng_state()
    first = (torch.rand(3), np.random.rand(3), random.random())
    restore_rng_state(state)
    second = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], second[0]) and np.array_equal(first[1], second[1]) and first[2] == second[2]


def test_killed_run_resumes_to_identical_weights(data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """3 epochs straight == 1 epoch, kill, resume to 3 (weights, checkpoint, losses); same seed == same results."""
    torch.set_num_threads(1)
    straight = train("pnet", PNET, CONFIG, data, tmp_path / "straight", device=CPU, progress=False)
    with pytest.raises(Killed):
        train("pnet", PNET, CONFIG, data, tmp_path / "resumed", device=CPU, progress=False,
                    on_epoch_end=kill_after(1))
    assert (tmp_path / "resumed" / "checkpoint.pt").is_file() and not (tmp_path / "resumed" / "model.pt").exists()
    torch.manual_seed(12345)  # the resumed run must not depend on the global RNG it finds
    with caplog.at_level(logging.INFO, logger="rootml.training"):
        resumed = train("pnet", PNET, CONFIG, data, tmp_path / "resumed", device=CPU, progress=False)
    assert "resuming from" in caplog.text and "after epoch 1" in caplog.text
    assert "pnet epoch 2/3: train_loss" in caplog.text and "pnet epoch 1/3" not in caplog.text
    assert_same_state(weights(tmp_path / "straight" / "model.pt"), weights(tmp_path / "resumed" / "model.pt"))
    last = [torch.load(tmp_path / run / "checkpoint.pt", weights_only=True) for run in ("straight", "resumed")]
    assert_same_state(last[0]["model"], last[1]["model"])
    losses = [[(row["train_loss"], row["val_loss"]) for row in outcome.history] for outcome in (straight, resumed)]
    assert losses[0] == losses[1] and len(losses[0]) == 3
    assert straight.metrics == resumed.metrics and straight.best_epoch == resumed.best_epoch

    train("pnet", PNET, CONFIG, data, tmp_path / "again", device=CPU, progress=False)
    assert_same_state(weights(tmp_path / "straight" / "model.pt"), weights(tmp_path / "again" / "model.pt"))
    assert (tmp_path / "straight" / "metrics.json").read_bytes() == (tmp_path / "again" / "metrics.json").read_bytes()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "straight" / "predictions_test.parquet"),
                                  pd.read_parquet(tmp_path / "again" / "predictions_test.parquet"))
    other = train("pnet", PNET, {**CONFIG, "seed": 8}, data, tmp_path / "other", device=CPU, progress=False)
    assert other.metrics != straight.metrics


def test_checkpoint_of_another_configuration_is_not_resumed(
    data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """A leftover checkpoint from a run with another learning rate: training starts afresh at epoch 1."""
    mlp = {"family": "mlp", "hparams": {"hidden": [8]}}
    with pytest.raises(Killed):
        train("m", mlp, CONFIG, data, tmp_path, device=CPU, progress=False, on_epoch_end=kill_after(2))
    changed = {**mlp, "training": {"lr": 0.001}}
    with caplog.at_level(logging.INFO, logger="rootml.training"):
        outcome = train("m", changed, CONFIG, data, tmp_path, device=CPU, progress=False)
    assert "belongs to another configuration" in caplog.text and "m epoch 1/3" in caplog.text
    assert [row["epoch"] for row in outcome.history] == [1, 2, 3]
