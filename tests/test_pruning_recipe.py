"""The hls4ml pruning recipe: the L1 penalty (value, gradient through the masks), L1 fine-tuning that drives weights
to zero so that a one-shot cut keeps the AUC plain fine-tuning loses, and rewinding the survivors to trained values."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from rootml.metrics.binary import auc
from rootml.models.registry import build_model
from rootml.pruning.prune import iterative_prune, l1_penalty, make_permanent, rewind

DIMS = {"highlevel": 6}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def xor_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A non-linear toy task: label 1 when x0 * x1 + 0.5 * x2 > 0, three of six inputs uninformative."""
    x = torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))
    return x, ((x[:, 0] * x[:, 1] + 0.5 * x[:, 2]) > 0).long()


def train(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor], steps: int, strength: float) -> None:
    """Full-batch Adam steps on the cross entropy, plus the L1 penalty of the Linear weights when strength > 0."""
    x, labels = data
    torch.manual_seed(0)
    penalty = l1_penalty(strength, (nn.Linear,))
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = nn.functional.cross_entropy(model(x), labels)
        (loss + penalty(model) if strength > 0 else loss).backward()
        optimiser.step()


def test_penalty_value_and_gradient_through_the_masks() -> None:
    """lambda * sum |w| of the masked weights; its gradient is lambda * sign(w) on survivors and 0 on pruned ones."""
    model = build_model("mlp", DIMS, 2, seed=1, hidden=[8], dropout=0.0)
    prune.l1_unstructured(model.net[0], "weight", amount=0.5)
    weights = [model.net[0].weight_orig * model.net[0].weight_mask, model.net[2].weight]
    value = l1_penalty(0.01, (nn.Linear,))(model)
    torch.testing.assert_close(value, 0.01 * sum(w.abs().sum() for w in weights))
    value.backward()
    mask = model.net[0].weight_mask
    torch.testing.assert_close(model.net[0].weight_orig.grad, 0.01 * torch.sign(model.net[0].weight_orig) * mask)
    torch.testing.assert_close(model.net[2].weight.grad, 0.01 * torch.sign(model.net[2].weight))
    assert model.net[0].bias.grad is None  # biases are not penalised


def test_l1_fine_tuning_makes_a_one_shot_cut_keep_the_auc() -> None:
    """From one trained model: fine-tuning with L1 drives most weights near zero, and cutting 90% of them at once
    keeps the AUC, where the same fine-tuning without L1 loses much of it."""
    data, test = xor_data(512, 0), xor_data(1000, 1)

    def test_auc(model: nn.Module) -> float:
        """AUC of class 1 on the test jets."""
        with torch.no_grad():
            return auc(test[1].numpy() == 1, torch.softmax(model.eval()(test[0]), 1)[:, 1].numpy())

    dense = build_model("mlp", DIMS, 2, seed=3, hidden=[32, 32], dropout=0.0)
    train(dense, data, 150, 0.0)
    results = {}
    for strength in (0.0, 3e-3):
        model = copy.deepcopy(dense)
        train(model, data, 100, strength)
        weights = torch.cat([m.weight.detach().abs().flatten() for m in model.modules() if isinstance(m, nn.Linear)])
        table, _ = iterative_prune(model, [0.9], test_auc, module_types=["linear"])
        results[strength] = (float((weights < 1e-2).float().mean()), table[0].metric, table[-1].metric)
    (small_plain, dense_plain, cut_plain), (small_l1, dense_l1, cut_l1) = results[0.0], results[3e-3]
    assert small_plain < 0.1 and small_l1 > 0.6  # fraction of |w| < 0.01
    assert min(dense_plain, dense_l1) > 0.98
    assert cut_l1 > dense_l1 - 0.01  # the 90% cut costs less than 0.01 in AUC after L1 fine-tuning
    assert cut_plain < cut_l1 - 0.1  # and much more without it


def test_rewind_restores_survivors_and_keeps_pruned_weights_zero() -> None:
    """After pruning and fine-tuning, rewind puts the trained value back in every surviving weight (and bias,
    BatchNorm statistics), the pruned ones stay exactly zero."""
    model = build_model("mlp", DIMS, 2, seed=2, hidden=[16], batchnorm=True, dropout=0.0)
    data = xor_data(128, 2)
    train(model, data, 20, 0.0)
    trained = {key: value.clone() for key, value in model.state_dict().items()}
    prune.l1_unstructured(model.net[0], "weight", amount=0.5)
    train(model, data, 5, 1e-3)  # survivors, bias and BatchNorm statistics move
    assert not torch.equal(model.net[1].running_mean, trained["net.1.running_mean"])
    rewind(model, trained)
    mask = model.net[0].weight_mask.bool()
    survivor = model.net[0].weight_orig * model.net[0].weight_mask
    assert int(mask.sum()) == mask.numel() // 2
    assert torch.equal(survivor[mask], trained["net.0.weight"][mask])
    assert torch.equal(survivor[~mask], torch.zeros(int((~mask).sum())))
    assert torch.equal(model.net[0].bias, trained["net.0.bias"])
    assert torch.equal(model.net[1].running_mean, trained["net.1.running_mean"])
    assert torch.equal(make_permanent(model).net[0].weight[mask], trained["net.0.weight"][mask])
