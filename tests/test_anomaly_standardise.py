"""The anomaly families standardise their input with the background training jets' statistics: the trainer fills
them from the background classes only, a never-varying input gets a floor, and the error is in those units."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from conftest import load, train
from rootml.models.autoencoder import SCALE_FLOOR, Standardise
from rootml.models.registry import build_model
from rootml.training.device import CPU
from test_models_vae import CONFIG, data  # noqa: F401  (the module's prepared data fixture)


def test_floor_and_units() -> None:
    """Each element is centred and scaled by its own spread; a constant element gets SCALE_FLOOR x the median."""
    standardise = Standardise(4, enabled=True)
    standardise.fit(torch.tensor([1.0, -2.0, 0.0, 5.0]), torch.tensor([2.0, 4.0, 6.0, 0.0]))
    assert torch.allclose(standardise.scale, torch.tensor([2.0, 4.0, 6.0, SCALE_FLOOR * 4.0]))
    assert torch.allclose(standardise(torch.tensor([[3.0, 2.0, 6.0, 5.4]])), torch.ones(1, 4))
    disabled = Standardise(3, enabled=False)
    disabled.fit(torch.tensor([1.0, -2.0, 5.0]), torch.tensor([2.0, 4.0, 0.0]))
    assert torch.equal(disabled(torch.ones(1, 3)), torch.ones(1, 3))


def test_untrained_model_reconstructs_in_input_units() -> None:
    model = build_model("autoencoder", {"highlevel": 4}, 1, seed=1, hidden=[8], latent_dim=2)
    x = torch.randn(5, 4)
    assert torch.allclose(model.anomaly_score(x), (model(x) - x).square().mean(dim=1))


@pytest.mark.parametrize("family", ["autoencoder", "vae"])
def test_training_fits_the_background_statistics(family: str, data: Path, tmp_path: Path) -> None:  # noqa: F811
    """centre and scale of the trained model are the mean and spread of the g and q training jets, not of all."""
    torch.set_num_threads(1)
    entry = {"family": family, "task": "anomaly", "background": ["g", "q"], "hparams": {"hidden": [8],
                                                                                         "latent_dim": 2}}
    train("m", entry, CONFIG, data, tmp_path, device=CPU, progress=False)
    standardise = load(tmp_path, device=CPU).model.standardise
    with h5py.File(data / "train" / "highlevel.h5") as h5:
        x, label = h5["highlevel"][:].astype(np.float64), h5["label"][:]
    background = x[np.isin(label, [0, 1])]
    assert np.allclose(standardise.centre.numpy(), background.mean(axis=0), atol=1e-5)
    assert np.allclose(standardise.scale.numpy(), background.std(axis=0), rtol=1e-4)
    assert not np.allclose(standardise.centre.numpy(), x.mean(axis=0), atol=1e-2)
