"""Fake quantization to b bits with torch.ao on a trained toy MLP and on other families: at 16 bits it matches the float
model, at 2-4 bits it differs measurably; weights take at most 2^b values per channel; QAT fine-tunes with the
trainer; the figure is written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.ao.nn.qat as nnqat
from torch import nn

from conftest import load, split_reader
from rootml.errors import ConfigError
from rootml.models.registry import build_model
from rootml.plotting.quantization import plot_metric_vs_bits
from rootml.quantize.qat import (
    calibrate,
    evaluate_model,
    fake_quantized,
    fold_batchnorm,
    qat_settings,
    set_observers,
    sweep_bits,
)
from rootml.training.device import DEVICE_VARIABLE
from test_quantize_onnx import trained_mlp

# |fake-quantized - float| logits at 16 bits, over logit ranges of ~10
SIXTEEN_BITS_ATOL = 2e-3


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(prepared data folder, trained toy MLP folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        return trained_mlp(tmp_path_factory.mktemp("qat"))


@pytest.fixture
def readers(trained: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> dict:
    """The trained model and the readers of its three splits."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained
    return {"model": load(model_dir),
            **{split: split_reader(data_dir, split, ["highlevel"], 10_000) for split in ("train", "val", "test")}}


def logits(model: nn.Module, inputs: np.ndarray) -> np.ndarray:
    """The model's outputs for a batch of high-level features."""
    with torch.no_grad():
        return model.eval()(torch.from_numpy(inputs)).numpy()


def test_layers_become_qat_modules_with_b_bit_weights(readers: dict) -> None:
    trained = readers["model"]
    quantized = fake_quantized(trained.model, 3)
    linears = [m for m in trained.model.modules() if isinstance(m, nn.Linear)]
    swapped = [m for m in quantized.modules() if isinstance(m, nnqat.Linear)]
    assert len(swapped) == len(linears) == 3
    assert all(type(m) is nn.Linear for m in trained.model.modules() if isinstance(m, nn.Linear))  # original kept
    calibrate(quantized, trained, readers["train"], 256)
    for layer in swapped:
        weights = layer.weight_fake_quant(layer.weight).detach()
        assert max(len(np.unique(row)) for row in weights.numpy()) <= 2 ** 3
        assert not torch.equal(weights, layer.weight.detach())
        assert layer.activation_post_process.scale.item() > 0  # the output range was observed
    assert quantized.input_keys == trained.model.input_keys


def test_sixteen_bits_match_float_and_few_bits_differ(readers: dict) -> None:
    trained = readers["model"]
    batch = next(readers["test"].batches(["highlevel"], 10_000))["highlevel"]
    reference = logits(trained.model, batch)
    differences = {}
    for bits in (2, 4, 16):
        quantized = fake_quantized(trained.model, bits)
        calibrate(quantized, trained, readers["test"], 10_000)  # the ranges of these jets: no clipping, only rounding
        differences[bits] = float(np.abs(logits(quantized, batch) - reference).max())
    assert differences[16] <= SIXTEEN_BITS_ATOL
    assert differences[4] > 0.05 and differences[2] > differences[4]
    metrics = evaluate_model(trained.model, trained, readers["test"], None)
    sixteen = fake_quantized(trained.model, 16)
    calibrate(sixteen, trained, readers["train"], 512)
    assert evaluate_model(sixteen, trained, readers["test"], None)["auc"] == pytest.approx(metrics["auc"], abs=1e-3)


def test_frozen_observers_keep_the_ranges(readers: dict) -> None:
    trained = readers["model"]
    quantized = fake_quantized(trained.model, 6)
    calibrate(quantized, trained, readers["train"], 128)
    scales = [m.activation_post_process.scale.clone() for m in quantized.modules() if isinstance(m, nnqat.Linear)]
    logits(quantized, 10 * next(readers["test"].batches(["highlevel"], 64))["highlevel"])
    assert all(torch.equal(a, m.activation_post_process.scale) for a, m in zip(
        scales, [m for m in quantized.modules() if isinstance(m, nnqat.Linear)]))
    set_observers(quantized, True)
    logits(quantized, 10 * next(readers["test"].batches(["highlevel"], 64))["highlevel"])
    assert not torch.equal(scales[0], next(m for m in quantized.modules()
                                           if isinstance(m, nnqat.Linear)).activation_post_process.scale)


def test_sweep_ptq_and_qat(readers: dict, tmp_path: Path) -> None:
    """PTQ at 16 bits is the float AUC; QAT fine-tunes (weights move) and stays close at 16 bits; 3 bits lose."""
    trained = readers["model"]
    float_auc = evaluate_model(trained.model, trained, readers["test"], None)["auc"]
    before = {key: value.clone() for key, value in trained.model.state_dict().items()}
    steps = sweep_bits(trained, readers, [3, 16], ["linear"], 512, "test", None, qat_settings(trained, 1, None),
                       tmp_path)
    assert [step.bits for step in steps] == [3, 16]
    three, sixteen = steps
    assert sixteen.ptq["auc"] == pytest.approx(float_auc, abs=1e-3)
    assert abs(sixteen.qat["auc"] - float_auc) < 0.02
    assert three.ptq["auc"] < float_auc - 0.005
    assert three.qat is not None and three.qat["auc"] > 0.5
    assert all(torch.equal(value, trained.model.state_dict()[key]) for key, value in before.items())  # a copy tuned


def test_qat_settings_default_to_a_tenth_of_the_lr(readers: dict) -> None:
    trained = readers["model"]
    settings = qat_settings(trained, 3, None)
    assert (settings.epochs, settings.warmup_epochs) == (3, 0)
    assert settings.lr == pytest.approx(0.1 * trained.config["training"]["lr"])
    assert qat_settings(trained, 1, 1e-4).lr == 1e-4


@pytest.mark.parametrize("family, hparams, dims, shape", [
    ("cnn", {"channels": [4, 8], "fc_params": [16]}, {"image": (1, 10, 10)}, (1, 10, 10)),
    ("autoencoder", {"hidden": [8], "latent_dim": 2}, {"highlevel": 6}, (6,)),
])
def test_other_families_are_fake_quantized(family: str, hparams: dict, dims: dict, shape: tuple) -> None:
    """Conv2d layers too, and an autoencoder: close to float at 16 bits, not at 3."""
    model = build_model(family, dims, 3 if family == "cnn" else 6, seed=1, **hparams).eval()
    inputs = torch.from_numpy(np.random.default_rng(0).normal(size=(64, *shape)).astype(np.float32))
    with torch.no_grad():
        reference = model(inputs)
        results = {}
        for bits in (3, 16):
            quantized = fake_quantized(model, bits).eval()
            quantized(inputs)  # calibration: the observers take the batch's ranges
            set_observers(quantized, False)
            results[bits] = float((quantized(inputs) - reference).abs().max() / reference.abs().max())
    assert any(isinstance(m, nnqat.Conv2d) for m in fake_quantized(model, 8).modules()) == (family == "cnn")
    assert results[16] < 1e-3 < 0.02 < results[3]


@pytest.mark.parametrize("family, hparams, dims, shape, n_norms", [
    ("cnn", {"channels": [4, 8], "fc_params": [16], "batchnorm": True}, {"image": (1, 10, 10)}, (1, 10, 10), 2),
    ("mlp", {"hidden": [16, 8], "batchnorm": True}, {"highlevel": 6}, (6,), 2),
])
def test_batchnorm_folds_into_the_layer_before(family: str, hparams: dict, dims: dict, shape: tuple,
                                               n_norms: int) -> None:
    """Same outputs in eval mode with the running statistics of a trained model, no BatchNorm left."""
    model = build_model(family, dims, 3, seed=2, **hparams)
    generator = torch.Generator().manual_seed(0)
    for norm in (m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)):
        norm.running_mean.normal_(generator=generator)
        norm.running_var.uniform_(0.5, 2.0, generator=generator)
        norm.weight.data.uniform_(0.5, 1.5, generator=generator)
    model.eval()
    inputs = torch.from_numpy(np.random.default_rng(1).normal(size=(16, *shape)).astype(np.float32))
    with torch.no_grad():
        reference = model(inputs)
        assert fold_batchnorm(model) == n_norms
        torch.testing.assert_close(model(inputs), reference, atol=1e-5, rtol=1e-5)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def test_no_quantizable_layer_names_the_key() -> None:
    with pytest.raises(ConfigError, match="quantization.module_types"):
        fake_quantized(nn.Sequential(nn.Linear(3, 2)), 8, ["conv1d"])


def test_bits_figure(tmp_path: Path) -> None:
    table = pd.DataFrame({"bits": [4, 8, 16], "ptq_metric": [0.6, 0.85, 0.86], "qat_metric": [0.8, 0.86, 0.86]})
    written = plot_metric_vs_bits(table, tmp_path / "auc_vs_bits", model="mlp", float_metric=0.86, int8_metric=0.858)
    assert [path.name for path in written] == ["auc_vs_bits.pdf", "auc_vs_bits.png"]
    assert all(path.stat().st_size > 1000 for path in written)
    with pytest.raises(ValueError, match="lacks columns"):
        plot_metric_vs_bits(table.drop(columns="ptq_metric"), tmp_path / "x", model="mlp", float_metric=0.86)
