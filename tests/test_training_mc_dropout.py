"""Calibration and MC dropout in a real train run (train_model on synthetic prepared data): score_cal_* beside the
raw scores and the temperature in metrics.json; MC dropout's mean close to the deterministic scores with a spread
above 0; a model without dropout layers stops with a ConfigError naming training.mc_dropout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import load, train
from rootml.errors import ConfigError
from rootml.metrics.calibration import scale_temperature
from rootml.training.device import CPU
from rootml.training.mc_dropout import dropout_active, dropout_layers
from test_training_data import CLASSES, features_block, write_prepared

CONFIG = {"seed": 5, "classes": CLASSES, "features": features_block("part"),
          "training": {"epochs": 3, "batch_size": 32, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant"}}
MLP_MCD = {"family": "mlp", "hparams": {"hidden": [16], "dropout": 0.3, "batchnorm": True},
           "training": {"mc_dropout": 8}}
BDT = {"family": "bdt", "hparams": {"n_estimators": 10, "max_depth": 2}}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic prepared splits (three classes)."""
    return write_prepared(tmp_path_factory.mktemp("mcd"))


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An MLP with dropout and 8 MC dropout passes, and a BDT, trained single-threaded on CPU."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("models")
    for name, entry in (("mlp_mcd", MLP_MCD), ("bdt", BDT)):
        train(name, entry, CONFIG, data, root / name, device=CPU, progress=False)
    return {"mlp_mcd": root / "mlp_mcd", "bdt": root / "bdt"}


@pytest.mark.parametrize("name", ["mlp_mcd", "bdt"])
def test_calibrated_columns_and_temperature(trained: dict[str, Path], name: str) -> None:
    """Both prediction tables hold score_cal_* (probabilities, other than the raw ones unless T = 1); metrics.json
    holds T and the validation ECE before and after."""
    metrics = json.loads((trained[name] / "metrics.json").read_text())
    temperature = metrics["temperature"]
    assert temperature > 0 and 0 <= metrics["val_ece_calibrated"] <= 1 and 0 <= metrics["val_ece"] <= 1
    for split in ("test", "train"):
        table = pd.read_parquet(trained[name] / f"predictions_{split}.parquet")
        raw = table[[f"score_{c}" for c in CLASSES]].to_numpy(np.float64)
        calibrated = table[[f"score_cal_{c}" for c in CLASSES]].to_numpy(np.float64)
        np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-5)
        # softmax(log p / T) of the raw probabilities is the calibrated table (a shift of the logits drops out)
        np.testing.assert_allclose(calibrated, scale_temperature(np.log(raw), temperature), atol=2e-4)
        assert abs(temperature - 1) < 1e-3 or np.abs(calibrated - raw).max() > 1e-3


def test_mc_dropout_columns(trained: dict[str, Path]) -> None:
    """Mean of the passes near the deterministic scores, per-jet std above 0 for most jets, in both tables."""
    table = pd.read_parquet(trained["mlp_mcd"] / "predictions_test.parquet")
    raw = table[[f"score_{c}" for c in CLASSES]].to_numpy(np.float64)
    mean = table[[f"score_mcd_{c}" for c in CLASSES]].to_numpy(np.float64)
    std = table[[f"score_mcd_std_{c}" for c in CLASSES]].to_numpy(np.float64)
    np.testing.assert_allclose(mean.sum(axis=1), 1.0, atol=1e-5)
    assert (std > 0).mean() > 0.9
    assert np.abs(mean - raw).mean() < 0.1
    assert (pd.read_parquet(trained["mlp_mcd"] / "predictions_train.parquet").filter(like="score_mcd_std_").shape[1]
            == len(CLASSES))


def test_only_dropout_layers_switch_to_training(trained: dict[str, Path]) -> None:
    """Batch norm stays in eval mode (its running statistics unchanged) while dropout is active."""
    model = load(trained["mlp_mcd"], CPU).model
    model.eval()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert norms and dropout_layers(model)
    with dropout_active(model):
        assert all(layer.training for layer in dropout_layers(model)) and not any(m.training for m in norms)
    assert not any(m.training for m in model.modules())


@pytest.mark.parametrize("entry", [{"family": "mlp", "hparams": {"hidden": [8], "dropout": 0.0}},
                                   {"family": "bdt", "hparams": {"n_estimators": 2}}])
def test_mc_dropout_without_dropout_layers(entry: dict, data: Path, tmp_path: Path) -> None:
    """ConfigError naming models.<name>.training.mc_dropout, before any training."""
    with pytest.raises(ConfigError, match=r"models\.plain\.training\.mc_dropout.*no(ne| dropout)"):
        train("plain", {**entry, "training": {"mc_dropout": 3}}, CONFIG, data, tmp_path / "plain", device=CPU,
              progress=False)
    assert not (tmp_path / "plain" / "model_config.json").exists()
