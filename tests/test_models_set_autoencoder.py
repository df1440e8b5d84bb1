"""The set autoencoder: its masked Chamfer distance is order- and padding-blind and grows when a particle moves; the
model is invariant under permutations and padding of its particles; trained through train_model on background jets
it scores a class of shifted particles as anomalous, standardised with the background's statistics over real
particles; it reads one set only."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from conftest import load, train
from rootml.config import model_run
from rootml.errors import ConfigError
from rootml.metrics.binary import auc
from rootml.models.registry import build_model
from rootml.models.set_autoencoder import SetAutoencoder, chamfer_distance
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.device import CPU
from rootml.unsupervised.representations import latent_or_hidden
from test_training_data import features_block

CLASSES = ["g", "q", "t"]
N_FEATURES, N_SLOTS, SHIFT = 4, 10, 1.5  # an untrained model's AUC is about 0.92, a trained one's 0.96
SIZES = {"train": 1200, "val": 300, "test": 600}
CONFIG = {"seed": 5, "classes": CLASSES, "features": features_block("part"),
          "training": {"epochs": 5, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant",
                       "num_threads": 1}}
HPARAMS = {"phi_sizes": [16, 16], "encoder_sizes": [16], "latent_dim": 4, "decoder_sizes": [32], "n_out": 8}
ENTRY = {"family": "set_autoencoder", "task": "anomaly", "background": ["g", "q"], "sets": ["part"],
         "hparams": HPARAMS}


def reference_chamfer(reconstructed: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The Chamfer distance of each jet by loops over its real particles (B,)."""
    out = []
    for rec, tgt, real in zip(reconstructed, target, mask[:, 0] > 0):
        points, recs = tgt[:, real].T, rec.T
        if not len(points):
            out.append(0.0)
            continue
        squared = ((points[:, None, :] - recs[None, :, :]) ** 2).sum(axis=2)
        out.append(squared.min(axis=1).mean() + squared.min(axis=0).mean())
    return np.array(out)


def padded_jets(n_real: list[int], n_slots: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """features (B, C, n_slots) with junk in the padded slots, and mask (B, 1, n_slots)."""
    gen = torch.Generator().manual_seed(seed)
    mask = (torch.arange(n_slots) < torch.tensor(n_real)[:, None]).float()[:, None]
    return torch.randn(len(n_real), N_FEATURES, n_slots, generator=gen) * 3, mask


def test_chamfer_is_zero_for_any_permutation_and_ignores_padding() -> None:
    """A reconstruction made of the real particles in any order (repeated to fill its slots) is at distance 0,
    whatever sits in the padded slots; a jet without real particles scores 0; otherwise it is the loop's value."""
    target, mask = padded_jets([5, 3, 1], 7, seed=1)
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        reconstructed = torch.stack([jet[:, real.bool()][:, torch.randint(int(real.sum()), (6,), generator=gen)]
                                     for jet, real in zip(target, mask[:, 0])])
        for index, jet in enumerate(reconstructed):  # every real particle at least once
            n = int(mask[index].sum())
            jet[:, :n] = target[index][:, torch.randperm(n, generator=gen)]
        junk = target + (1 - mask) * torch.randn(target.shape, generator=gen) * 10
        torch.testing.assert_close(chamfer_distance(reconstructed, junk, mask), torch.zeros(3), atol=1e-6, rtol=0)
    assert chamfer_distance(torch.randn(1, N_FEATURES, 4), target[:1], torch.zeros(1, 1, 7)).item() == 0.0
    reconstructed = torch.randn(3, N_FEATURES, 4)
    np.testing.assert_allclose(chamfer_distance(reconstructed, target, mask).numpy(),
                               reference_chamfer(reconstructed.numpy(), target.numpy(), mask.numpy()), rtol=1e-5)


def test_chamfer_grows_when_a_particle_moves_and_has_finite_gradients() -> None:
    """Moving one real particle away from an exact reconstruction makes the distance positive; the gradient at an
    exact reconstruction is finite (0)."""
    target, mask = padded_jets([3], 5, seed=2)
    reconstructed = target[..., :3].clone().requires_grad_()
    distance = chamfer_distance(reconstructed, target, mask)
    distance.sum().backward()
    assert distance.item() == pytest.approx(0.0, abs=1e-6)
    assert torch.isfinite(reconstructed.grad).all() and reconstructed.grad.abs().max() < 1e-6
    for step in (0.1, 50.0):
        moved = target.clone()
        moved[0, :, 1] += step
        distance = chamfer_distance(target[..., :3], moved, mask).item()
        assert distance == pytest.approx(reference_chamfer(target[..., :3].numpy(), moved.numpy(), mask.numpy())[0])
        # at least its squared move over the 3 real particles (far: about that, its old place left to its neighbours)
        assert N_FEATURES * step**2 / 3 * (1 - 1e-5) <= distance < N_FEATURES * step**2 / 3 + 100


def test_model_is_blind_to_order_and_padding() -> None:
    """Reconstruction (B, C, n_out), latent and score of each jet are unchanged by shuffling its slots and by
    adding, removing or filling padding; the score is the Chamfer distance of the reconstruction."""
    model = build_model("set_autoencoder", {"features": N_FEATURES, "points": 2}, 1, seed=3, **HPARAMS)
    assert isinstance(model, SetAutoencoder) and model.input_keys == ("features", "mask")
    features, mask = padded_jets([4, 9, 1, 6], 9, seed=3)
    features = features * mask
    reference = (model(features, mask), model.latent(features, mask), model.anomaly_score(features, mask))
    assert [tuple(t.shape) for t in reference] == [(4, N_FEATURES, 8), (4, 4), (4,)]
    torch.testing.assert_close(reference[2], chamfer_distance(reference[0], features, mask))
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(0))
    for changed, changed_mask in ((features[..., perm], mask[..., perm]),
                                  (torch.nn.functional.pad(features, (0, 5)), torch.nn.functional.pad(mask, (0, 5))),
                                  (features + (1 - mask) * 7.0, mask)):
        outputs = (model(changed, changed_mask), model.latent(changed, changed_mask),
                   model.anomaly_score(changed, changed_mask))
        for got, expected in zip(outputs, reference):
            torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    representation, latent = latent_or_hidden(model, {"features": features, "mask": mask})
    assert representation == "latent" and latent.shape == (4, 4)


def test_one_set_only() -> None:
    """On two sets the family stops: at config time naming models.<name>.sets, and when built."""
    config = {"seed": 1, "classes": CLASSES, "features": features_block("part", "sv")}
    for entry in ({"family": "set_autoencoder", "task": "anomaly", "background": ["g"]},
                  {"family": "set_autoencoder", "task": "anomaly", "background": ["g"], "sets": ["part", "sv"]}):
        with pytest.raises(ConfigError, match="reads one set") as error:
            model_run("sae", entry, config)
        assert error.value.key == "models.sae.sets"
    assert model_run("sae", {**entry, "sets": ["sv"]}, config).representations == ["sv"]
    with pytest.raises(ConfigError, match="reads one set"):
        build_model("set_autoencoder", {"part/features": N_FEATURES, "sv/features": 3}, 1)


def shifted_sets(n: int, seed: int) -> dict[str, np.ndarray]:
    """Jets of 3-10 particles: g's features N(0, 1), q's N(0, 1.5) around a particle-dependent offset, t's those of
    g shifted by SHIFT; padded slots 0."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, len(CLASSES), n)
    mask = np.arange(N_SLOTS)[None, :] < rng.integers(3, N_SLOTS + 1, n)[:, None]
    spread = np.where(label == 1, 1.5, 1.0)[:, None, None]
    offset = np.linspace(-1.0, 1.0, N_FEATURES)[None, :, None] * rng.normal(size=(n, 1, N_SLOTS))
    features = (rng.normal(size=(n, N_FEATURES, N_SLOTS)) * spread + offset + SHIFT * (label == 2)[:, None, None])
    features = (features * mask[:, None, :]).astype(np.float32)
    points = (rng.normal(scale=0.3, size=(n, 2, N_SLOTS)) * mask[:, None, :]).astype(np.float32)
    return {"features": features, "points": points, "mask": mask, "label": label.astype(np.int64)}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """part.h5 of each split as the prepare stage lays a set out."""
    data_dir = tmp_path_factory.mktemp("set_ae") / "prepared"
    layout = features_block("part")["sets"]["part"]
    for seed, (split, n) in enumerate(SIZES.items()):
        jets = shifted_sets(n, seed + 1)
        (data_dir / split).mkdir(parents=True)
        with open_for_writing(data_dir / split / "part.h5") as h5:
            H5Appender(h5, rows_per_chunk=200).append({
                **jets, "weight": np.ones(n, np.float32), "event_id": np.arange(n, dtype=np.int64) + 10_000 * seed})
            h5.attrs.update({"classes": json.dumps(CLASSES), "split": split,
                             **{key: json.dumps(value) for key, value in {
                                 "feature_names": layout["features"][:N_FEATURES], "normalization": {},
                                 "n_particles": N_SLOTS, "coordinates": layout["coordinates"], "set": "part"}.items()}})
    return data_dir


def test_trained_set_autoencoder_scores_the_shifted_class_higher(data: Path, tmp_path: Path) -> None:
    """Trained on g and q only, the Chamfer score separates t (AUC > 0.85); the training lowers the background's
    score; the standardisation is the mean and spread of each feature over the real particles of the g and q
    training jets."""
    torch.set_num_threads(1)
    outcome = train("sae", ENTRY, CONFIG, data, tmp_path, device=CPU, progress=False)
    assert outcome.metrics["auc"] > 0.85, outcome.metrics
    assert min(row["val_loss"] for row in outcome.history) < outcome.history[0]["val_loss"]
    model = load(tmp_path, device=CPU).model
    with h5py.File(data / "train" / "part.h5") as h5:
        features, mask, label = h5["features"][:].astype(np.float64), h5["mask"][:], h5["label"][:]
    background = features.transpose(0, 2, 1)[mask & np.isin(label, [0, 1])[:, None]]  # (real particles, C)
    centre, scale = model.standardise.centre.numpy(), model.standardise.scale.numpy()
    assert centre.shape == scale.shape == (N_FEATURES, 1)
    np.testing.assert_allclose(centre[:, 0], background.mean(axis=0), atol=1e-5)
    np.testing.assert_allclose(scale[:, 0], background.std(axis=0), rtol=1e-4)
    every_slot = features.transpose(0, 2, 1)[np.isin(label, [0, 1])].reshape(-1, N_FEATURES)
    assert not np.allclose(scale[:, 0], every_slot.std(axis=0), rtol=1e-2)  # padded zeros do not count
    jets = shifted_sets(SIZES["test"], 9)
    with torch.no_grad():
        score = model.anomaly_score(torch.from_numpy(jets["features"]),
                                    torch.from_numpy(jets["mask"][:, None].astype(np.float32))).numpy()
    assert auc(jets["label"] == 2, score) > 0.85
