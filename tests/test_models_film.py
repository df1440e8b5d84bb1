"""FiLM in the CNN (models.<name>.hparams.film): the plain CNN at initialisation, scalars that change the output once
the FiLM MLP has weights, a task only the scalars' modulation solves, the run reading images and the named high-level
columns, errors naming the key, and pruning (the modulated convolutions kept whole), ONNX export and the firmware
stage's refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import prune, train
from rootml.config import model_run
from rootml.errors import ConfigError
from rootml.firmware.settings import tool_of
from rootml.models.registry import build_model
from rootml.training.device import DEVICE_VARIABLE
from test_training_data import CLASSES, N_HIGHLEVEL, write_prepared

IMAGE = (1, 8, 8)
HIGHLEVEL = [f"hl{i}" for i in range(N_HIGHLEVEL)]
FILM = ["hl3", "hl1"]  # read in the prepared order: hl1, hl3
CNN = {"channels": [4, 8], "fc_params": [16]}
CONFIG = {"seed": 2, "classes": CLASSES, "features": {"highlevel": HIGHLEVEL, "sets": {}},
          "training": {"epochs": 2, "batch_size": 32, "num_threads": 1}}
ENTRY = {"family": "cnn", "hparams": {**CNN, "film": FILM}}


def inputs(n: int, seed: int) -> dict[str, torch.Tensor]:
    """Random images and two scalars per jet."""
    gen = torch.Generator().manual_seed(seed)
    return {"image": torch.randn(n, *IMAGE, generator=gen), "highlevel": torch.randn(n, len(FILM), generator=gen)}


def test_film_starts_as_the_plain_cnn(one_torch_thread) -> None:
    """Zero-initialised, the FiLM CNN gives the plain CNN's outputs (same seed) whatever the scalars; with weights in
    its FiLM MLP, other scalars give other outputs, and the plain CNN's parameters are a subset of its own."""
    plain = build_model("cnn", {"image": IMAGE}, 3, seed=4, **CNN).eval()
    film = build_model("cnn", {"image": IMAGE}, 3, seed=4, film=FILM, **CNN).eval()
    assert film.input_keys == ("image", "highlevel") and plain.input_keys == ("image",)
    assert set(plain.state_dict()) < set(film.state_dict())
    batch, other = inputs(16, 0), inputs(16, 1)["highlevel"]
    with torch.no_grad():
        reference = plain(batch["image"])
        torch.testing.assert_close(film(batch["image"], batch["highlevel"]), reference, rtol=0, atol=0)
        torch.testing.assert_close(film(batch["image"], other), reference, rtol=0, atol=0)
        torch.nn.init.normal_(film.film[-1].weight, std=0.5)
        modulated = film(batch["image"], batch["highlevel"])
        assert (modulated - film(batch["image"], other)).abs().amax(dim=1).min() > 1e-3
        assert (modulated - reference).abs().max() > 1e-3


@pytest.mark.parametrize("batchnorm", [True, False])
def test_film_learns_what_only_the_scalars_tell(batchnorm: bool, one_torch_thread) -> None:
    """Images of one distribution whose class is the sign of the product of the two scalars: on held-out jets the
    FiLM CNN has learnt it (loss below half of ln 2), the plain CNN cannot (it stays at ln 2 or above)."""
    batch, held_out = inputs(256, 3), inputs(256, 4)

    def labels(jets: dict[str, torch.Tensor]) -> torch.Tensor:
        """1 where the two scalars have the same sign."""
        return (jets["highlevel"].prod(dim=1) > 0).long()

    losses = {}
    for name, film in (("plain", []), ("film", FILM)):
        model = build_model("cnn", {"image": IMAGE}, 2, seed=1, film=film, batchnorm=batchnorm, dropout=0.0, **CNN)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(120):
            optimizer.zero_grad()
            logits = model(*(batch[key] for key in model.input_keys))
            torch.nn.functional.cross_entropy(logits, labels(batch)).backward()
            optimizer.step()
        with torch.no_grad():
            logits = model.eval()(*(held_out[key] for key in model.input_keys))
        losses[name] = torch.nn.functional.cross_entropy(logits, labels(held_out)).item()
    assert losses["film"] < 0.35 < 0.65 < losses["plain"]


def test_config_reads_the_named_columns_and_names_the_key() -> None:
    """With film the run reads images and highlevel (its `features` are the FiLM columns); an unknown feature, or a
    model-level `features`, stops with the key."""
    run = model_run("cnn_film", ENTRY, CONFIG)
    assert run.representations == ["images", "highlevel"] and run.features == FILM
    assert model_run("cnn", {"family": "cnn", "hparams": CNN}, CONFIG).representations == ["images"]
    with pytest.raises(ConfigError, match=r"models\.cnn_film\.hparams\.film.*'hl9' is not in features\.highlevel"):
        model_run("cnn_film", {**ENTRY, "hparams": {**CNN, "film": ["hl1", "hl9"]}}, CONFIG)
    with pytest.raises(ConfigError, match=r"models\.cnn_film\.hparams\.film"):
        model_run("cnn_film", {**ENTRY, "hparams": {**CNN, "film": ["hl1", "hl1"]}}, CONFIG)
    with pytest.raises(ConfigError, match=r"models\.cnn_film\.features"):
        model_run("cnn_film", {**ENTRY, "features": ["hl1"]}, CONFIG)
    with pytest.raises(ConfigError, match="firmware.models.*reads \\['images', 'highlevel'\\]"):
        tool_of(run)


def test_trains_prunes_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_torch_thread) -> None:
    """The trainer feeds the image and the two named columns; pruning keeps the modulated convolutions whole (FiLM
    combines their outputs with the scalars' gammas), prunes the rest, and the ONNX export of both inputs agrees."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir = write_prepared(tmp_path, sizes={"train": 160, "val": 64, "test": 64})
    train("cnn_film", ENTRY, CONFIG, data_dir, tmp_path / "model", progress=False)
    model_config = json.loads((tmp_path / "model" / "model_config.json").read_text())
    assert model_config["input_keys"] == ["image", "highlevel"]
    assert model_config["input_dims"]["highlevel"] == len(FILM)
    assert model_config["highlevel_columns"] == [1, 3] and model_config["feature_names"] == ["hl1", "hl3"]
    prune(tmp_path / "model", data_dir, tmp_path / "prune", {
        "methods": ["magnitude", "structured"], "sparsities": [0.5], "structured_sparsities": [0.5],
        "fine_tune_epochs": 0, "latency_batches": [1], "latency_warmup": 1, "latency_repeats": 1,
        "latency_budget_s": 0.1})
    summary = json.loads((tmp_path / "prune" / "pruning.json").read_text())
    whole = summary["structured"]["whole_layers"]
    assert all("combines its output" in whole[layer] for layer in ("features.0", "features.4"))
    assert "head.0" in summary["structured"]["layers"]
    assert summary["onnx_max_abs_diff"] <= 1e-4
    table = pd.read_csv(tmp_path / "prune" / "pruning.csv")
    assert list(table["method"]) == ["magnitude", "magnitude", "structured", "structured"]
