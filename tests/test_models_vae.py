"""The β-VAE family: trained through train_model on background jets it scores a shifted class as anomalous; its KL
weight anneals with the optimiser steps, counted in the state dict; eval-mode scores are deterministic and each is
what its name says; the image VAE gives back its input's shape; the task and latent wiring of an anomaly family."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import load, train
from rootml.errors import ConfigError
from rootml.metrics.binary import auc
from rootml.models.registry import build_model
from rootml.models.specs import ANOMALY_FAMILIES
from rootml.models.vae import SCORES, VariationalAutoencoder
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.device import CPU
from rootml.unsupervised.representations import latent_or_hidden

CLASSES = ["g", "q", "t"]
N_FEATURES = 8
SIZES = {"train": 1600, "val": 400, "test": 800}
BATCH = 64
CONFIG = {"seed": 5, "classes": CLASSES,
          "training": {"epochs": 8, "batch_size": BATCH, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant",
                       "num_threads": 1}}
ENTRY = {"family": "vae", "task": "anomaly", "background": ["g", "q"],
         "hparams": {"hidden": [16], "latent_dim": 2, "anneal_steps": 40}}


def shifted_jets(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 8), labels): g and q lie near one 2-dimensional plane (q wider), t is that plane shifted by 3."""
    rng = np.random.default_rng(seed)
    basis = np.random.default_rng(0).normal(size=(2, N_FEATURES)) / np.sqrt(2)
    label = rng.integers(0, len(CLASSES), n)
    latent = rng.normal(size=(n, 2)) * np.where(label == 1, 1.5, 1.0)[:, None]
    x = latent @ basis + 0.1 * rng.normal(size=(n, N_FEATURES)) + 3.0 * (label == 2)[:, None] / np.sqrt(2)
    return x.astype(np.float32), label.astype(np.int64)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """highlevel.h5 of each split as the prepare stage lays it out."""
    data_dir = tmp_path_factory.mktemp("vae") / "prepared"
    for seed, (split, n) in enumerate(SIZES.items()):
        x, label = shifted_jets(n, seed + 1)
        (data_dir / split).mkdir(parents=True)
        with open_for_writing(data_dir / split / "highlevel.h5") as h5:
            H5Appender(h5, rows_per_chunk=200).append({
                "highlevel": x, "highlevel_raw": 10 * x, "label": label, "weight": np.ones(n, np.float32),
                "event_id": np.arange(n, dtype=np.int64) + 10_000 * seed})
            h5.attrs.update({"classes": json.dumps(CLASSES), "split": split,
                             "feature_names": json.dumps([f"x{i}" for i in range(N_FEATURES)])})
    return data_dir


def test_trained_vae_scores_the_shifted_class_higher(data: Path, tmp_path: Path) -> None:
    """Trained on g and q only, the VAE's default score (reconstruction) separates t from them (AUC > 0.9); every
    score does better than chance; the saved step counter is the optimiser steps up to the best epoch."""
    torch.set_num_threads(1)
    outcome = train("vae", ENTRY, CONFIG, data, tmp_path, device=CPU, progress=False)
    assert outcome.metrics["auc"] > 0.9
    trained = load(tmp_path, device=CPU)
    model = trained.model
    assert isinstance(model, VariationalAutoencoder) and model.score == "reconstruction" and not model.training
    x, label = shifted_jets(SIZES["test"], 3)
    with torch.no_grad():
        scores = model.anomaly_scores(torch.from_numpy(x))
    aucs = {name: auc(label == 2, score.numpy()) for name, score in scores.items()}
    assert aucs["reconstruction"] > 0.9 and min(aucs.values()) > 0.6, aucs
    n_background = int(np.isin(shifted_jets(SIZES["train"], 1)[1], [0, 1]).sum())
    assert int(model.steps) == outcome.best_epoch * (n_background // BATCH)
    assert model.kl_weight().item() == pytest.approx(model.beta)  # annealed over 40 steps, fewer than the training's


def test_the_best_epoch_does_not_depend_on_the_reported_score(data: Path, tmp_path: Path) -> None:
    """Validation uses the combined objective whatever `score` is: trained with score kl, the VAE stops at the same
    epoch with the same weights as with score reconstruction, and only the reported score differs."""
    torch.set_num_threads(1)
    trained = {}
    for score in ("reconstruction", "kl"):
        entry = {**ENTRY, "hparams": {**ENTRY["hparams"], "score": score}}
        outcome = train("vae", entry, CONFIG, data, tmp_path / score, device=CPU, progress=False)
        trained[score] = (outcome, load(tmp_path / score, device=CPU).model)
    (by_reconstruction, first), (by_kl, second) = trained["reconstruction"], trained["kl"]
    assert by_kl.best_epoch == by_reconstruction.best_epoch
    for key, value in first.state_dict().items():
        torch.testing.assert_close(second.state_dict()[key], value, msg=key)
    reported = {score: pd.read_parquet(outcome.files.predictions_test)["anomaly_score"].to_numpy()
                for score, (outcome, _) in trained.items()}
    assert not np.allclose(reported["kl"], reported["reconstruction"])


def test_kl_weight_anneals_with_the_steps_and_survives_the_state_dict() -> None:
    """β_eff = beta · min(1, steps / anneal_steps), one step per training-mode anomaly_score (none in eval mode); the
    training objective is the reconstruction of a sampled z plus β_eff · KL; the counter is in the state dict."""
    model = build_model("vae", {"highlevel": 5}, 1, seed=2, hidden=[8], latent_dim=3, beta=2.0, anneal_steps=4)
    x = torch.randn(16, 5, generator=torch.Generator().manual_seed(1))
    weights = []
    for _ in range(6):
        weights.append(model.kl_weight().item())
        torch.manual_seed(7)
        loss = model.anomaly_score(x)
        with torch.no_grad():
            mean, logvar = model.encoder.distribution(x)
            torch.manual_seed(7)
            z = mean + torch.randn(mean.shape) * torch.exp(0.5 * logvar)
            kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(dim=1)
            expected = ((model.decoder(z) - x) ** 2).mean(dim=1) + weights[-1] * kl
        torch.testing.assert_close(loss.detach(), expected)
    assert weights == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.0])
    model.eval()
    model.anomaly_score(x)
    model(x)
    assert int(model.steps) == 6
    fresh = build_model("vae", {"highlevel": 5}, 1, seed=3, hidden=[8], latent_dim=3, beta=2.0, anneal_steps=4)
    assert int(fresh.steps) == 0 and fresh.kl_weight().item() == 0.0
    fresh.load_state_dict(model.state_dict())
    assert int(fresh.steps) == 6 and fresh.kl_weight().item() == 2.0
    no_annealing = build_model("vae", {"highlevel": 5}, 1, beta=0.5, anneal_steps=0)
    assert no_annealing.kl_weight().item() == 0.5


@pytest.mark.parametrize("score", SCORES)
def test_eval_scores_are_deterministic_and_what_they_say(score: str) -> None:
    """In eval mode forward and anomaly_score sample nothing (the same twice), and `score` selects: reconstruction MSE
    from the latent mean, the KL divergence, reconstruction + beta · KL, or |mean|; training mode samples."""
    model = build_model("vae", {"highlevel": 6}, 1, seed=4, hidden=[8], latent_dim=3, beta=0.3, score=score)
    x = torch.randn(32, 6, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(model(x), model(x))  # training mode: z is sampled
    model.eval()
    with torch.no_grad():
        first, second = model.anomaly_score(x), model.anomaly_score(x)
        scores = model.anomaly_scores(x)
        mean, logvar = model.encoder.distribution(x)
        reconstruction = ((model.decoder(mean) - x) ** 2).mean(dim=1)
        kl = 0.5 * (mean**2 + logvar.exp() - 1 - logvar).sum(dim=1)
        torch.testing.assert_close(model(x), model.decoder(mean))
    assert torch.equal(first, second) and first.shape == (32,)
    assert set(scores) == set(SCORES)
    torch.testing.assert_close(first, scores[score])
    torch.testing.assert_close(scores["reconstruction"], reconstruction)
    torch.testing.assert_close(scores["kl"], kl)
    torch.testing.assert_close(scores["combined"], reconstruction + 0.3 * kl)
    torch.testing.assert_close(scores["latent_distance"], mean.norm(dim=1))
    assert (scores["kl"] >= 0).all() and int(model.steps) == 0


@pytest.mark.parametrize("image", [(1, 12, 12), (2, 33, 33)])
def test_image_vae_reconstructs_the_input_shape(image: tuple[int, int, int]) -> None:
    """The convolutional VAE (the image autoencoder's layout) gives back the input's shape in both modes, one score
    per jet, and a latent of latent_dim."""
    model = build_model("vae", {"image": image}, 1, seed=5, input="image", channels=[4, 8], latent_dim=3)
    assert model.input_keys == ("image",)
    x = torch.rand(4, *image)
    assert model(x).shape == x.shape and model.anomaly_score(x).shape == (4,)
    model.eval()
    assert model(x).shape == x.shape
    assert all(score.shape == (4,) for score in model.anomaly_scores(x).values())
    representation, latent = latent_or_hidden(model, {"image": x})
    assert representation == "latent" and latent.shape == (4, 3)
    np.testing.assert_allclose(latent, model.encoder(x).detach().numpy(), rtol=1e-6)


def test_vae_is_an_anomaly_family_only(data: Path, tmp_path: Path) -> None:
    """The anomaly families are the autoencoders; a VAE without task anomaly, or an MLP with it, stop naming the
    task's key."""
    assert set(ANOMALY_FAMILIES) == {"autoencoder", "vae", "set_autoencoder"}
    for entry in ({"family": "vae"}, {"family": "mlp", "task": "anomaly", "background": ["g"]}):
        with pytest.raises(ConfigError, match="anomaly families") as error:
            train("m", entry, CONFIG, data, tmp_path / "m", device=CPU, progress=False)
        assert error.value.key == "models.m.task"
