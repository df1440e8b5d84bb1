"""DisCo: the weighted distance correlation against direct evaluations, and a classifier trained with it on toy jets
whose mass separates the classes sculpts the background mass distribution far less than one trained without."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import train
from rootml.config import model_run
from rootml.errors import ConfigError
from rootml.evaluation.metrics import signal_vs_background
from rootml.metrics.binary import auc
from rootml.metrics.sculpting import sculpting_jsd, selection_threshold
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.device import CPU
from rootml.training.disco import DiscoPenalty, distance_correlation, signal_discriminant

CLASSES = ["qcd", "w"]
SIZES = {"train": 3000, "val": 600, "test": 3000}
CONFIG = {"seed": 3, "classes": CLASSES,
          "training": {"epochs": 40, "batch_size": 512, "lr": 0.002, "warmup_epochs": 0, "schedule": "constant",
                       "patience": 40, "num_threads": 1}}
MLP = {"family": "mlp", "hparams": {"hidden": [16, 16]}}
EDGES = np.linspace(20.0, 200.0, 31)


def reference_dcorr(x: np.ndarray, y: np.ndarray) -> float:
    """Székely's squared distance correlation (V-statistic), by the textbook double centring of n x n matrices."""

    def centred(v: np.ndarray) -> np.ndarray:
        """|v_i - v_j| minus its row and column means plus its grand mean."""
        d = np.abs(v[:, None] - v[None, :])
        return d - d.mean(axis=0)[None, :] - d.mean(axis=1)[:, None] + d.mean()

    a, b = centred(x), centred(y)
    return float((a * b).mean() / np.sqrt((a * a).mean() * (b * b).mean()))


def test_distance_correlation_references() -> None:
    """~0 for independent samples, 1 for y = x and y = 3x + 2, the O(n^2) numpy value for a nonlinear dependence,
    unit weights change nothing, integer weights equal repeating the jets, and a scale of the weights cancels."""
    rng = np.random.default_rng(1)
    x, noise = rng.normal(size=(2, 2000))
    tx = torch.from_numpy(x)
    assert float(distance_correlation(tx, torch.from_numpy(noise))) < 0.01
    assert float(distance_correlation(tx, tx)) == pytest.approx(1.0, abs=1e-6)
    assert float(distance_correlation(tx, 3 * tx + 2)) == pytest.approx(1.0, abs=1e-6)
    y = x**2 + 0.3 * noise  # uncorrelated (Pearson ~0) yet dependent
    value = float(distance_correlation(tx, torch.from_numpy(y)))
    assert value == pytest.approx(reference_dcorr(x, y), rel=1e-5)
    assert 0.2 < value < 0.9 and abs(np.corrcoef(x, y)[0, 1]) < 0.1
    assert float(distance_correlation(tx, torch.from_numpy(y), torch.ones(2000))) == pytest.approx(value, rel=1e-6)
    counts = rng.integers(1, 4, 300)
    weighted = distance_correlation(tx[:300], torch.from_numpy(y[:300]), torch.from_numpy(counts.astype(float)))
    repeated = reference_dcorr(np.repeat(x[:300], counts), np.repeat(y[:300], counts))
    assert float(weighted) == pytest.approx(repeated, rel=1e-5)
    scaled = distance_correlation(tx[:300], torch.from_numpy(y[:300]), torch.from_numpy(7.5 * counts))
    assert float(scaled) == pytest.approx(float(weighted), rel=1e-6)


def test_penalty_uses_background_jets_and_is_differentiable() -> None:
    """The term is strength x dCorr^2 of the evaluation's discriminant over the background jets only; its gradient
    reaches the logits; with fewer than two background jets it is 0."""
    rng = np.random.default_rng(2)
    logits = torch.from_numpy(rng.normal(size=(64, 3))).float().requires_grad_()
    label = torch.from_numpy(rng.integers(0, 3, 64))
    mass = torch.from_numpy(rng.uniform(20, 200, 64)).float()
    weight = torch.from_numpy(rng.uniform(0.5, 2.0, 64)).float()
    penalty = DiscoPenalty(2.5, "obs_jet_mass", signal=(2,), background=(0, 1))
    value = penalty(logits, {"label": label, "obs_jet_mass": mass, "weight": weight})
    keep = np.isin(label.numpy(), [0, 1])
    probabilities = torch.softmax(logits.detach(), 1).numpy()[keep]
    score = probabilities[:, 2] / probabilities.sum(axis=1)
    assert torch.allclose(signal_discriminant(logits.detach()[keep], (2,), (0, 1)).double(),
                          torch.from_numpy(score).double(), atol=1e-6)
    expected = 2.5 * distance_correlation(torch.from_numpy(score), mass[keep], weight[keep])
    assert float(value) == pytest.approx(float(expected), rel=1e-4) and float(value) > 0
    value.backward()
    assert logits.grad is not None and logits.grad[keep].abs().sum() > 0 and logits.grad[~keep].abs().sum() == 0
    lonely = torch.tensor([2, 2, 0, 2])
    assert float(penalty(logits[:4], {"label": lonely, "obs_jet_mass": mass[:4], "weight": weight[:4]})) == 0.0


def toy_jets(n: int, seed: int) -> dict[str, np.ndarray]:
    """W jets peak at a mass of 80 GeV, QCD jets fall over 20-200 GeV; a second feature separates them independently
    of the mass. The high-level features: the standardised mass and that feature."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    mass = np.where(label == 1, rng.normal(80.0, 8.0, n), 20.0 + rng.exponential(60.0, n)).clip(20.0, 200.0)
    other = rng.normal(np.where(label == 1, 0.5, -0.5), 1.0)
    features = np.stack([(mass - 80.0) / 40.0, other], axis=1).astype(np.float32)
    return {"highlevel": features, "obs_jet_mass": mass.astype(np.float32), "label": label.astype(np.int64),
            "weight": np.ones(n, np.float32), "event_id": np.arange(n, dtype=np.int64) + 100_000 * seed}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """highlevel.h5 of each split as the prepare stage lays it out, with the observer obs_jet_mass."""
    data_dir = tmp_path_factory.mktemp("disco") / "prepared"
    for seed, (split, n) in enumerate(SIZES.items()):
        (data_dir / split).mkdir(parents=True)
        with open_for_writing(data_dir / split / "highlevel.h5") as h5:
            H5Appender(h5, rows_per_chunk=500).append(toy_jets(n, seed + 1))
            h5.attrs.update({"classes": json.dumps(CLASSES), "split": split,
                             "feature_names": json.dumps(["jet_mass", "x"])})
    return data_dir


def background_jsd(model_dir: Path) -> tuple[float, float]:
    """(JSD of the test background's mass before and after the cut at 50% signal efficiency, AUC)."""
    frame = pd.read_parquet(model_dir / "predictions_test.parquet")
    scores = signal_vs_background(frame, CLASSES, ["w"], ["qcd"])
    passed = scores.score[~scores.is_signal] >= selection_threshold(scores, 0.5)
    mass = frame["obs_jet_mass"].to_numpy(np.float64)[scores.rows[~scores.is_signal]]
    return sculpting_jsd(mass, scores.background_weight, passed, EDGES), auc(scores.is_signal, scores.score)


@pytest.mark.usefixtures("one_torch_thread")
def test_disco_lowers_the_mass_sculpting(data: Path, tmp_path: Path) -> None:
    """The MLP trained alone cuts the background into the W mass peak; with DisCo at lambda = 2 the background mass
    distribution after the cut stays near the inclusive one (as the mass-blind feature alone: JSD 0.017, AUC 0.76),
    for a smaller AUC; the run records the block."""
    train("mlp", MLP, CONFIG, data, tmp_path / "alone", device=CPU, progress=False)
    disco = {**MLP, "training": {"decorrelation": {"strength": 2.0}}}
    train("mlp_disco", disco, CONFIG, data, tmp_path / "disco", device=CPU, progress=False)
    jsd_alone, auc_alone = background_jsd(tmp_path / "alone")
    jsd_disco, auc_disco = background_jsd(tmp_path / "disco")
    assert jsd_alone > 0.3 and jsd_disco < jsd_alone / 5, (jsd_alone, jsd_disco)
    assert auc_alone > 0.9 and auc_alone > auc_disco > 0.7, (auc_alone, auc_disco)
    recorded = json.loads((tmp_path / "disco" / "model_config.json").read_text())["training"]["decorrelation"]
    assert recorded == {"method": "disco", "strength": 2.0, "observable": "jet_mass", "signal": ["w"],
                        "background": ["qcd"]}


def test_unknown_observable_names_the_key(data: Path, tmp_path: Path) -> None:
    """An observable the prepared data does not carry stops the training with the config key."""
    entry = {**MLP, "training": {"decorrelation": {"strength": 1.0, "observable": "jet_sdmass"}}}
    with pytest.raises(ConfigError, match=r"models\.m\.training\.decorrelation\.observable.*jet_sdmass"):
        train("m", entry, CONFIG, data, tmp_path, device=CPU, progress=False)


@pytest.mark.parametrize(("entry", "key", "message"), [
    ({"family": "bdt", "training": {"decorrelation": {"strength": 1.0}}}, r"decorrelation", "not supported"),
    ({"family": "mlp", "task": "regression", "target": "jet_mass", "training": {"decorrelation": {"strength": 1.0}}},
     r"decorrelation", "regression"),
    ({**MLP, "training": {"decorrelation": {"strength": 1.0, "signal": ["top"]}}}, r"decorrelation\.signal", "top"),
    ({**MLP, "training": {"decorrelation": {"strength": 1.0, "background": ["qcd", "w"]}}},
     r"decorrelation\.background", "shares"),
    ({**MLP, "training": {"decorrelation": {"strength": -1.0}}}, r"decorrelation\.strength", "minimum"),
    ({**MLP, "training": {"decorrelation": {"lambda": 1.0}}}, r"decorrelation", "strength"),
    ({**MLP, "training": {"decorrelation": {"strength": 1.0, "method": "adversary"}}}, r"decorrelation\.method", ""),
])
def test_config_errors_name_the_key(entry: dict, key: str, message: str) -> None:
    """A BDT, a regression, an unknown or shared class, a negative strength, a missing strength or an unknown method:
    ConfigError naming the key."""
    with pytest.raises(ConfigError, match=rf"models\.m\.training\.{key}.*{message}"):
        model_run("m", entry, CONFIG)


def test_defaults_follow_the_evaluate_block() -> None:
    """signal and background default to evaluate's; no block is no decorrelation."""
    config = {**CONFIG, "classes": ["g", "q", "t"], "evaluate": {"signal": ["t"], "background": ["q"]}}
    run = model_run("m", {**MLP, "training": {"decorrelation": {"strength": 0.5}}}, config)
    assert run.training.decorrelation == {"method": "disco", "strength": 0.5, "observable": "jet_mass",
                                          "signal": ["t"], "background": ["q"]}
    assert model_run("m", MLP, config).training.decorrelation is None
