"""Every family learns through train_model on tiny synthetic data (set families on one set, on two, on all three,
ParticleNet also on hits in x, y, z); the trained-model directory follows the contract; load_trained reproduces the
stored predictions; the autoencoder only ever sees background jets."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from conftest import load, split_reader, train
from rootml.models.specs import set_input_parts
from rootml.training.data import SplitReader
from rootml.training.device import CPU
from rootml.training.objectives import Classification, Regression
from test_training_data import CLASSES, OBSERVERS, features_block, write_prepared
from test_training_data import SETS as LAYOUTS

SETS = ("part", "sv", "hits")
CONFIG = {"seed": 3, "classes": CLASSES, "features": features_block(*SETS),
          "training": {"epochs": 4, "batch_size": 32, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant"}}
SET_MODELS = {
    "deepsets": {"family": "deepsets", "hparams": {"phi_sizes": [16], "f_sizes": [16]}},
    "particlenet": {"family": "particlenet", "hparams": {"k": 4, "conv_params": [[16, 16]], "fc_params": [16]}},
    "interaction_net": {"family": "interaction_net",
                        "hparams": {"edge_sizes": [8], "node_sizes": [8], "fc_params": [8]}},
    "transformer": {"family": "transformer", "hparams": {"embed_dims": [16], "num_heads": 2, "num_layers": 1}},
}
FAMILIES = {
    "mlp": {"family": "mlp", "hparams": {"hidden": [16]}},
    "cnn": {"family": "cnn", "hparams": {"channels": [4], "fc_params": [8]}},
    **{name: {**entry, "sets": ["part"]} for name, entry in SET_MODELS.items()},
    **{f"{name}_part_sv": {**entry, "sets": ["part", "sv"]} for name, entry in SET_MODELS.items()},
    "deepsets_all_sets": SET_MODELS["deepsets"],
    "particlenet_hits": {**SET_MODELS["particlenet"], "sets": ["hits"]},
    "ae_dense": {"family": "autoencoder", "task": "anomaly", "background": ["g", "q"], "hparams": {"latent_dim": 1}},
    "ae_image": {"family": "autoencoder", "task": "anomaly", "background": ["g"],
                 "hparams": {"input": "image", "channels": [4], "latent_dim": 4}},
    "vae_dense": {"family": "vae", "task": "anomaly", "background": ["g", "q"], "hparams": {"anneal_steps": 5}},
    "set_ae": {"family": "set_autoencoder", "task": "anomaly", "background": ["g", "q"], "sets": ["part"],
               "hparams": {"phi_sizes": [16], "encoder_sizes": [16], "latent_dim": 4, "decoder_sizes": [16],
                           "n_out": 8}},
    "bdt": {"family": "bdt", "hparams": {"n_estimators": 20, "max_depth": 3}},
    "mlp_mse": {"family": "mlp", "task": "regression", "target": "jet_mass", "hparams": {"hidden": [16]}},
    "mlp_gauss": {"family": "mlp", "task": "regression", "target": "jet_mass", "loss": "gaussian",
                  "hparams": {"hidden": [16]}},
    "bdt_reg": {"family": "bdt", "task": "regression", "target": "jet_mass", "hparams": {"n_estimators": 20}},
}
REPRESENTATIONS = {"cnn": ["images"], "ae_image": ["images"], "deepsets_all_sets": list(SETS),
                   **{name: entry["sets"] for name, entry in FAMILIES.items() if "sets" in entry}}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic prepared splits with the sets part, sv and hits."""
    return write_prepared(tmp_path_factory.mktemp("tasks"), sets=SETS)


def stored_inputs(data: Path, split: str, config: dict) -> dict[str, np.ndarray]:
    """The prepared arrays of a split that the model of `config` reads, by input key (<set>/<name> from <set>.h5)."""
    inputs = {}
    for key in config["input_keys"]:
        set_name, name = set_input_parts(key)
        with h5py.File(data / split / f"{set_name or config['representations'][0]}.h5") as h5:
            inputs[key] = h5[name][:]
    return inputs


@pytest.fixture(scope="module")
def trained(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every entry of FAMILIES trained once (single-threaded, CPU)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("models")
    for name, entry in FAMILIES.items():
        train(name, entry, CONFIG, data, root / name, device=CPU, progress=False)
    return {name: root / name for name in FAMILIES}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_loss_decreases(trained: dict[str, Path], name: str) -> None:
    """Training and validation loss of the last epoch (round) are below those of the first."""
    history = json.loads((trained[name] / "history.json").read_text())
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert min(row["val_loss"] for row in history) < history[0]["val_loss"]
    assert pd.read_csv(trained[name] / "history.csv").columns.tolist() == [
        "epoch", "train_loss", "val_loss", "val_accuracy", "val_auc", "lr", "seconds"]
    assert all(row["seconds"] >= 0 for row in history)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_directory_contract_and_reloaded_predictions(trained: dict[str, Path], data: Path, name: str) -> None:
    """model_config.json, predictions (test: every jet; train: the first jets) and metrics.json as contracted;
    load(...).predict on the raw test arrays gives the stored predictions."""
    out = trained[name]
    config = json.loads((out / "model_config.json").read_text())
    entry = FAMILIES[name]
    assert config["family"] == entry["family"] and config["classes"] == CLASSES
    assert config["task"] == entry.get("task", "classification")
    assert config["representations"] == REPRESENTATIONS.get(name, ["highlevel"])
    sets = REPRESENTATIONS[name] if entry["family"] in SET_MODELS or "sets" in entry else None
    assert config["sets"] == sets
    if sets is not None and len(sets) > 1:  # inputs <set>/<name>, set by set in the order of their names
        keys = [key for key in ("points", "features", "mask") if f"{sets[0]}/{key}" in config["input_keys"]]
        assert config["input_keys"] == [f"{set_name}/{key}" for set_name in sorted(sets) for key in keys]
        assert config["input_dims"]["sv/features"] == 3
        assert config["feature_names"] == [feature for set_name in sets for feature in LAYOUTS[set_name].features]
    assert (out / ("model.json" if entry["family"] == "bdt" else "model.pt")).is_file()
    test = pd.read_parquet(out / "predictions_test.parquet")
    train = pd.read_parquet(out / "predictions_train.parquet")
    stored = stored_inputs(data, "test", config)
    with h5py.File(data / "test" / f"{config['representations'][0]}.h5") as h5:
        np.testing.assert_array_equal(test["event_id"], h5["event_id"][:])
        np.testing.assert_array_equal(test["label"], h5["label"][:])
        np.testing.assert_array_equal(test["obs_jet_mass"], h5["obs_jet_mass"][:])
    assert len(train) == 240 and {"event_id", "label", "weight", *(f"obs_{o}" for o in OBSERVERS)} <= set(test)
    metrics = json.loads((out / "metrics.json").read_text())
    scores = load(out, device=CPU).predict(stored, batch_size=40)
    task = config["task"]
    if task == "classification":
        columns = [f"score_{c}" for c in CLASSES]
        np.testing.assert_allclose(scores, test[columns].to_numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(test[columns].sum(axis=1), 1.0, rtol=1e-5)
        assert {"auc", "accuracy", "loss", *(f"auc_{c}" for c in CLASSES),
                "temperature", "val_ece", "val_ece_calibrated"} == set(metrics)  # and its calibration
        assert metrics["auc"] > 0.7
    elif task == "regression":
        np.testing.assert_allclose(scores, test["prediction"], rtol=1e-5)
        np.testing.assert_array_equal(test["target"], test["obs_jet_mass"])
        assert set(metrics) == {"mse", "bias", "resolution"}
        assert metrics["mse"] < test["target"].var()  # better than predicting the mean
        assert ("prediction_std" in test) == (entry.get("loss") == "gaussian")
    else:
        np.testing.assert_allclose(scores, test["anomaly_score"], rtol=1e-5)
        assert set(metrics) == {"auc", "loss"} and metrics["auc"] > 0.6
        assert config["background"] == entry["background"]


def test_autoencoder_trains_on_background_only(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every training batch of the anomaly task holds background jets only; all jets get a score."""
    seen: list[np.ndarray] = []
    original = SplitReader.batches

    def spy(self: SplitReader, keys: list[str], batch_size: int, **kwargs):
        """Record the labels of shuffled (training) batches."""
        for batch in original(self, keys, batch_size, **kwargs):
            if kwargs.get("seed") is not None:
                seen.append(batch["label"])
            yield batch

    monkeypatch.setattr(SplitReader, "batches", spy)
    outcome = train("ae", FAMILIES["ae_dense"], {**CONFIG, "training": {**CONFIG["training"], "epochs": 2}},
                          data, tmp_path, device=CPU, progress=False)
    labels = np.concatenate(seen)
    n_background = split_reader(data, "train", ["highlevel"], 1000).count([0, 1])
    assert set(labels) == {0, 1} and len(labels) == 2 * (n_background // 32 * 32)
    assert set(pd.read_parquet(tmp_path / "predictions_test.parquet")["label"]) == {0, 1, 2}
    assert outcome.metrics["auc"] is not None


def test_objectives_weight_classes_and_standardize_targets() -> None:
    """Class weights scale each jet's cross entropy; regression losses work in standardized units."""
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([0, 1])
    plain = Classification(CLASSES).row_loss(logits, {"label": labels})
    weighted = Classification(CLASSES, [2.0, 0.5, 1.0]).row_loss(logits, {"label": labels})
    torch.testing.assert_close(weighted, plain * torch.tensor([2.0, 0.5]))
    mse = Regression("jet_mass", 100.0, 10.0)
    assert mse.row_loss(torch.tensor([[1.0]]), {"obs_jet_mass": torch.tensor([120.0])}).item() == pytest.approx(1.0)
    gauss = Regression("jet_mass", 100.0, 10.0, "gaussian")
    nll = gauss.row_loss(torch.tensor([[1.0, np.log(4.0)]]), {"obs_jet_mass": torch.tensor([120.0])}).item()
    assert nll == pytest.approx(0.5 * (np.log(4.0) + 1 / 4.0))
    assert gauss.scores(np.array([[1.5, 0.0]])) == pytest.approx([115.0])
    metrics = mse.metrics(np.array([[0.0], [1.0], [2.0]]), {"obs_jet_mass": np.array([100.0, 100.0, 100.0])})
    assert metrics["mse"] == pytest.approx((0 + 100 + 400) / 3) and metrics["bias"] == pytest.approx(10.0)
