"""Structured pruning: which layers can lose units, the lowest-norm units go, the smaller model computes exactly what
the masked one does, has the parameters its kept units say, and exports to ONNX."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from rootml.errors import ConfigError
from rootml.models.registry import build_model
from rootml.pruning.onnx_export import check_onnx, export_onnx
from rootml.pruning.prune import count_parameters
from rootml.pruning.structured import (
    iterative_structured_prune,
    kept_units,
    remove_units,
    shrink_model,
    unit_links,
)

DIMS = {"features": 5, "points": 2, "highlevel": 6, "image": (1, 8, 8)}
MODELS = {
    "mlp": ("mlp", {"hidden": [16, 8, 8], "batchnorm": True, "dropout": 0.1}),
    "cnn": ("cnn", {"channels": [4, 8], "fc_params": [16], "batchnorm": True}),
    "autoencoder": ("autoencoder", {"hidden": [8, 4], "latent_dim": 2}),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def inputs(model: nn.Module, batch: int = 7, seed: int = 0) -> list[torch.Tensor]:
    """Random inputs for the model's input_keys."""
    shapes = {"highlevel": (batch, 6), "image": (batch, 1, 8, 8), "features": (batch, 5, 9), "mask": (batch, 1, 9)}
    gen = torch.Generator().manual_seed(seed)
    return [torch.ones(shapes[key]) if key == "mask" else torch.randn(shapes[key], generator=gen)
            for key in model.input_keys]


def built(name: str, seed: int = 1) -> nn.Module:
    """One of MODELS, with BatchNorm statistics and affine parameters far from their initial values."""
    family, hparams = MODELS[name]
    model = build_model(family, DIMS, 3, seed=seed, **hparams)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                for tensor, low, high in ((module.running_mean, -1, 1), (module.running_var, 0.5, 2),
                                          (module.weight, 0.5, 1.5), (module.bias, -1, 1)):
                    tensor.copy_(torch.rand(tensor.shape, generator=gen) * (high - low) + low)
    return model


def expected_parameters(model: nn.Module, kept: dict[str, list[int]]) -> int:
    """Parameters after the surgery, counted from the dense model's layers and the kept units alone."""
    links = {link.layer: link for link in unit_links(model)[0]}
    outputs = {name: len(units) for name, units in kept.items()}
    inputs_kept = {links[name].consumer: len(units) * links[name].block for name, units in kept.items()}
    norms = {norm: len(units) for name, units in kept.items() for norm in links[name].norms}
    total = 0
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            n_out = outputs.get(name, module.weight.shape[0])
            n_in = inputs_kept.get(name, module.weight.shape[1])
            total += n_out * n_in * int(np.prod(module.weight.shape[2:])) + (n_out if module.bias is not None else 0)
        elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            total += 2 * norms.get(name, module.num_features)
        elif not list(module.children()):
            total += sum(p.numel() for p in module.parameters(recurse=False))
    return total


@pytest.mark.parametrize("name", list(MODELS))
def test_smaller_model_equals_masked_model(name: str) -> None:
    """Half the units of every removable layer masked: the built model is smaller, its outputs equal the masked
    model's (float tolerance), its parameter count is what the kept units say, its masks are gone."""
    model = built(name)
    links, _ = unit_links(model)
    remove_units(model, links, 0.5, norm=1.0)
    kept = kept_units(model, links)
    small = shrink_model(model, kept).eval()
    x = inputs(model)
    with torch.no_grad():
        masked, smaller = model.eval()(*x), small(*x)
    torch.testing.assert_close(smaller, masked, rtol=1e-5, atol=1e-6)
    assert masked.abs().max() > 0.1  # a real output, not zeros
    for link in links:
        layer = small.get_submodule(link.layer)
        assert (layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels) == len(kept[link.layer])
        assert len(kept[link.layer]) == len(model.get_submodule(link.layer).weight_mask) - round(
            0.5 * len(model.get_submodule(link.layer).weight_mask))
    assert count_parameters(small)[0] == expected_parameters(built(name), kept) < count_parameters(model)[0]
    assert not [key for key in small.state_dict() if key.endswith(("_orig", "_mask"))]


def test_links_of_each_model_and_why_others_keep_their_units() -> None:
    """MLP, CNN (channels into the flattened head) and Deep Sets (the layer before the pooling keeps its units)."""
    mlp = [(link.layer, link.norms, link.consumer, link.block) for link in unit_links(built("mlp"))[0]]
    assert mlp == [("net.0", ("net.1",), "net.4", 1), ("net.4", ("net.5",), "net.8", 1),
                   ("net.8", ("net.9",), "net.12", 1)]
    cnn = [(link.layer, link.consumer, link.block) for link in unit_links(built("cnn"))[0]]
    assert cnn == [("features.0", "features.4", 1), ("features.4", "head.0", 4), ("head.0", "head.3", 1)]
    deepsets = build_model("deepsets", DIMS, 3, seed=1, phi_sizes=[16, 16], f_sizes=[16])
    links, reasons = unit_links(deepsets)
    assert [link.layer for link in links] == ["phi.0", "f.0"]
    assert "transpose" in reasons["phi.2"] and "outputs are the model's" in reasons["f.2"]
    assert [link.layer for link in unit_links(built("cnn"), (nn.Linear,))[0]] == ["head.0"]


def test_lowest_norm_units_go_first_and_stay_removed() -> None:
    """Rows with the smallest L1 norm are masked first, cumulatively over the steps; at least one unit stays."""
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[3.0, 0, 0], [0.1, 0.1, 0.1], [-1.0, -1.0, 0], [0.0, 0.0, -0.5]]))
    links, _ = unit_links(model)
    remove_units(model, links, 0.5, norm=1.0)
    assert kept_units(model, links) == {"0": [0, 2]}
    assert torch.equal(model[0].bias[[1, 3]], torch.zeros(2))  # the biases of removed units are masked too
    with torch.no_grad():  # the removed rows grow large (as fine-tuning could): they stay removed
        model[0].weight_orig.mul_(100.0)
    remove_units(model, links, 0.75, norm=2.0)
    assert kept_units(model, links) == {"0": [0]}
    remove_units(model, links, 0.99, norm=2.0)
    assert kept_units(model, links) == {"0": [0]}


def test_iterative_schedule_with_fine_tuning_keeps_units_removed() -> None:
    """Fine-tuning the masked model keeps removed units at zero; rows: method, measured sparsity, smaller sizes."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(256) % 3
    x = torch.randn(256, 6, generator=gen) + 2.0 * nn.functional.one_hot(labels, 6).float()
    model = build_model("mlp", DIMS, 3, seed=4, hidden=[32, 16], batchnorm=True, dropout=0.1)

    def fine_tune(m: nn.Module) -> None:
        """A few Adam steps in training mode (BatchNorm and dropout active)."""
        m.train()
        optimiser = torch.optim.Adam(m.parameters(), lr=0.01)
        for _ in range(20):
            optimiser.zero_grad()
            nn.functional.cross_entropy(m(x), labels).backward()
            optimiser.step()

    fine_tune(model)  # train the dense model first: a real baseline

    def accuracy(m: nn.Module) -> float:
        """Fraction of correct classes."""
        with torch.no_grad():
            return float((m.eval()(x).argmax(1) == labels).float().mean())

    table, small, kept = iterative_structured_prune(model, [0.25, 0.5, 0.75], accuracy, fine_tune,
                                                    module_types=["linear"])
    assert [row.method for row in table] == ["structured"] * 4
    assert [row.target_sparsity for row in table] == [0.0, 0.25, 0.5, 0.75]
    assert {name: len(units) for name, units in kept.items()} == {"net.0": 8, "net.4": 4}
    # weights: 6x32 + 32x16 + 16x3 dense; 6x8 + 8x4 + 4x3 left
    assert table[-1].sparsity == pytest.approx(1 - (6 * 8 + 8 * 4 + 4 * 3) / (6 * 32 + 32 * 16 + 16 * 3))
    assert all(a.n_parameters > b.n_parameters for a, b in zip(table, table[1:]))
    assert table[-1].n_parameters == count_parameters(small)[0]
    assert table[-1].metric == accuracy(small) > 0.75  # three classes: chance is 1/3
    removed = [i for i in range(32) if i not in kept["net.0"]]
    assert torch.equal(model.net[0].weight[removed], torch.zeros(len(removed), 6))
    assert torch.equal(model.net[1].weight[removed], torch.zeros(len(removed)))
    with torch.no_grad():
        torch.testing.assert_close(small(x), model.eval()(x), rtol=1e-5, atol=1e-6)


def test_unsupported_model_raises_naming_the_method_key() -> None:
    """A model none of whose layers can lose units (ParticleNet: not traceable) raises ConfigError pruning.methods."""
    model = build_model("particlenet", DIMS, 3, seed=2, k=3, conv_params=[[16]], fc_params=[])
    links, reasons = unit_links(model)
    assert links == [] and "torch.fx cannot trace ParticleNet" in reasons["(model)"]
    with pytest.raises(ConfigError) as error:
        iterative_structured_prune(model, [0.5], lambda m: 0.0, module_types=["linear", "conv1d", "conv2d"])
    assert error.value.key == "pruning.methods"
    with pytest.raises(ValueError, match="cannot be removed"):
        shrink_model(built("mlp"), {"net.12": [0]})


def test_smaller_cnn_exports_to_onnx_and_runs(tmp_path: Path) -> None:
    """The smaller CNN exports with its smaller weights; onnxruntime matches the masked torch model."""
    model = built("cnn")
    links, _ = unit_links(model)
    remove_units(model, links, 0.5, norm=2.0)
    small = shrink_model(model, kept_units(model, links)).eval()
    example = {"image": inputs(model, batch=3)[0].numpy()}
    path = export_onnx(small, example, tmp_path / "small.onnx", name="cnn_structured")
    check = {"image": inputs(model, batch=5, seed=1)[0].numpy()}
    assert check_onnx(path, small, check, name="cnn_structured") <= 1e-4
    assert check_onnx(path, model.eval(), check, name="cnn_masked") <= 1e-4  # = the masked model
    shapes = sorted(tuple(t.dims) for t in onnx.load(path).graph.initializer if len(t.dims) == 4)
    assert shapes == [(2, 1, 3, 3), (4, 2, 3, 3)]  # conv channels 4, 8 -> 2, 4
