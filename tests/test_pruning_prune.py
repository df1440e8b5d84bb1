"""Iterative global magnitude pruning: sparsity reached per step, masks held through fine-tuning, config errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from rootml.errors import ConfigError
from rootml.models.registry import build_model
from rootml.pruning.prune import MODULE_TYPES, count_parameters, iterative_prune, prunable_weights, weight_sparsity

SCHEDULE = [0.5, 0.75, 0.9]
DIMS = {"features": 5, "points": 2, "highlevel": 6, "image": (1, 8, 8)}


def toy_data(n: int = 512, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian blobs in 6 dimensions, separated along every axis (labels 0/1)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    x = torch.randn(n, 6, generator=gen) + 1.5 * (2 * labels.unsqueeze(1).float() - 1)
    return x, labels


def accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of correctly classified jets."""
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(dim=1) == labels).float().mean())


def particle_inputs(model: nn.Module, batch: int = 4, n: int = 7) -> list[torch.Tensor]:
    """Random inputs for `model.input_keys` (all particle slots real)."""
    shapes = {"features": (batch, 5, n), "points": (batch, 2, n), "mask": (batch, 1, n), "highlevel": (batch, 6),
              "image": (batch, 1, 8, 8)}
    return [torch.ones(shapes[key]) if key == "mask" else torch.randn(shapes[key]) for key in model.input_keys]


@pytest.mark.parametrize("family,hparams", [
    ("mlp", {"hidden": [32, 32]}),
    ("cnn", {"channels": [4, 8], "fc_params": [16]}),
    ("particlenet", {"k": 3, "conv_params": [[16, 16], [16]], "fc_params": [16]}),
], ids=["mlp", "cnn", "particlenet"])
def test_each_sparsity_is_reached_and_model_runs(family: str, hparams: dict) -> None:
    """Measured zero fraction of Linear/Conv weights is each target within 1%; hooks are gone; outputs finite."""
    model = build_model(family, DIMS, 3, seed=2, **hparams)
    inputs = particle_inputs(model)
    dense_nonzero = sum(int((p != 0).sum()) for p in model.parameters())  # BatchNorm biases start at zero
    calls = []
    table, pruned = iterative_prune(model, SCHEDULE, evaluate=lambda m: calls.append(1) or float(len(calls)),
                                   module_types=list(MODULE_TYPES))
    assert [row.target_sparsity for row in table] == [0.0, *SCHEDULE]
    assert table[0].sparsity == 0.0 and table[0].n_nonzero == dense_nonzero
    for row, target in zip(table[1:], SCHEDULE):
        assert abs(row.sparsity - target) < 0.01
    assert [row.metric for row in table] == [1.0, 2.0, 3.0, 4.0]  # evaluate ran once per row, in order
    assert all(a.n_nonzero > b.n_nonzero for a, b in zip(table, table[1:]))
    types = (nn.Linear, nn.Conv1d, nn.Conv2d)
    assert abs(weight_sparsity(pruned, types) - 0.9) < 0.01
    assert not [name for name, _ in pruned.named_parameters() if name.endswith("_orig")]  # masks made permanent
    assert not [name for name, _ in pruned.named_buffers() if name.endswith("_mask")]
    with torch.no_grad():
        assert torch.isfinite(pruned.eval()(*inputs)).all()


def test_global_magnitude_prunes_the_smallest_weights() -> None:
    """One 50% step without fine-tuning removes exactly the globally smallest |w| across layers."""
    model = build_model("mlp", DIMS, 2, seed=3, hidden=[16, 8])
    before = torch.cat([getattr(m, n).detach().abs().flatten() for m, n in prunable_weights(model, (nn.Linear,))])
    _, pruned = iterative_prune(model, [0.5], evaluate=lambda m: 0.0, module_types=["linear"])
    after = torch.cat([getattr(m, n).detach().abs().flatten() for m, n in prunable_weights(pruned, (nn.Linear,))])
    kept, removed = before[after != 0], before[after == 0]
    assert len(removed) == round(0.5 * len(before))
    assert kept.min() >= removed.max()
    assert torch.equal(after[after != 0], kept)  # survivors are untouched


def test_pruned_weights_stay_zero_while_fine_tuning_and_model_still_learns() -> None:
    """Masks stay applied through optimiser steps; fine-tuned 90%-sparse model still separates toy blobs."""
    torch.manual_seed(0)
    x, labels = toy_data()
    model = build_model("mlp", DIMS, 2, seed=4, hidden=[32, 32], dropout=0.0)
    masked_zero_after_steps = []

    def fine_tune(m: nn.Module) -> None:
        """A few Adam steps on the toy data, then check every masked weight is still exactly zero."""
        m.train()
        optimiser = torch.optim.Adam(m.parameters(), lr=0.01)
        for _ in range(30):
            optimiser.zero_grad()
            nn.functional.cross_entropy(m(x), labels).backward()
            optimiser.step()
        if prune.is_pruned(m):
            m.eval()(x)  # the forward pre-hook recomputes each weight from weight_orig and its mask
            layers = [mod for mod, _ in prunable_weights(m, (nn.Linear,))]
            masked_zero_after_steps.append(all(bool((mod.weight[mod.weight_mask == 0] == 0).all()) for mod in layers))

    fine_tune(model)  # train the dense model first: a real baseline
    table, pruned = iterative_prune(model, SCHEDULE, lambda m: accuracy(m, x, labels), fine_tune=fine_tune,
                                   module_types=list(MODULE_TYPES))
    assert masked_zero_after_steps == [True, True, True]
    assert table[0].metric > 0.95
    assert all(row.metric > 0.9 for row in table)
    assert abs(table[-1].sparsity - 0.9) < 0.01
    assert accuracy(pruned, x, labels) == table[-1].metric


def test_module_types_choose_what_is_pruned() -> None:
    """module_types: [linear] prunes the dense head of a CNN and leaves its convolutions dense."""
    model = build_model("cnn", DIMS, 2, seed=5, channels=[4, 8], fc_params=[16])
    _, pruned = iterative_prune(model, [0.6], evaluate=lambda m: 0.0, module_types=["linear"])
    assert abs(weight_sparsity(pruned, (nn.Linear,)) - 0.6) < 0.01
    assert weight_sparsity(pruned, (nn.Conv2d,)) == 0.0
    total, nonzero = count_parameters(pruned)
    assert total == sum(p.numel() for p in pruned.parameters()) and nonzero < total


@pytest.mark.parametrize("sparsities,module_types,key", [
    ([0.5, 0.4], ["linear"], "pruning.sparsities"),
    ([0.5, 1.0], ["linear"], "pruning.sparsities"),
    ([], ["linear"], "pruning.sparsities"),
    ([0.5], ["dense"], "pruning.module_types"),
    ([0.5], ["conv1d"], "pruning.module_types"),  # an MLP has no Conv1d
])
def test_bad_settings_name_the_config_key(sparsities: list[float], module_types: list[str], key: str) -> None:
    """A non-increasing or out-of-range schedule, or module types the model lacks, raise ConfigError."""
    model = build_model("mlp", DIMS, 2, seed=6, hidden=[8])
    with pytest.raises(ConfigError) as error:
        iterative_prune(model, sparsities, evaluate=lambda m: 0.0, module_types=module_types)
    assert error.value.key == key


@pytest.mark.parametrize("family,hparams", [
    ("particlenet", {"k": 3, "conv_params": [[16, 16], [16]], "fc_params": [16]}),
    ("transformer", {"embed_dims": [16], "num_heads": 2, "num_layers": 1, "num_cls_layers": 1}),
    ("interaction_net", {"edge_sizes": [8], "node_sizes": [8], "fc_params": [8]}),
], ids=["particlenet", "transformer", "interaction_net"])
def test_fine_tuning_steps_go_through_the_pruning_masks(family: str, hparams: dict) -> None:
    """Two optimisation steps while masks are attached: every layer reads its masked weight in its own forward."""
    model = build_model(family, DIMS, 3, seed=4, **hparams)
    inputs, labels = particle_inputs(model, batch=8), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def fine_tune(m: nn.Module) -> None:
        """Two SGD steps (a stale, pre-computed masked weight would fail the second backward)."""
        for _ in range(2):
            optimizer.zero_grad()
            nn.functional.cross_entropy(m(*inputs), labels).backward()
            optimizer.step()

    table, pruned = iterative_prune(model, [0.5], evaluate=lambda m: 0.0, fine_tune=fine_tune,
                                   module_types=list(MODULE_TYPES))
    assert abs(table[-1].sparsity - 0.5) < 0.01
    assert abs(weight_sparsity(pruned, (nn.Linear, nn.Conv1d, nn.Conv2d)) - 0.5) < 0.01
