"""GravNet: padded elements never matter, on one set and on two; the exp(-10 d^2) weights in the learned space; ONNX
export matches torch."""

from __future__ import annotations

from pathlib import Path

import torch

from rootml.models.gravnet import GravNetLayer
from rootml.models.particlenet import Packing
from rootml.models.registry import build_model
from rootml.pruning.onnx_export import check_onnx, export_onnx
from test_models import DIMS, TWO_SET_DIMS, assert_set_invariance, particle_batch, run, two_set_batch
from test_pruning_onnx import DIMS as ONNX_DIMS
from test_pruning_onnx import jets

HPARAMS = {"dense_sizes": [16], "filters": [16, 12], "propagate_dims": 8, "k": 3, "fc_params": [16]}


def test_invariant_to_padding_and_order_on_one_and_two_sets(one_torch_thread: None) -> None:
    """Slot order, padding and junk in padded slots never change the output; a real element does."""
    model = build_model("gravnet", DIMS, 3, seed=1, **HPARAMS).eval()
    assert_set_invariance(model, particle_batch([9, 2, 1, 6, 9], 10, seed=3), [""])
    joined = build_model("gravnet", TWO_SET_DIMS, 3, seed=1, set_embed_dim=8, **HPARAMS).eval()
    assert_set_invariance(joined, two_set_batch([9, 2, 1, 6, 9], 10, seed=3), ["part/", "sv/"])


def test_neighbours_weighted_by_distance_in_learned_space(one_torch_thread: None) -> None:
    """A layer whose learned space puts the two other elements at d^2 = 0.01 and 1 passes the near one's F_LR with
    weight exp(-0.1) and the far one's with exp(-10); a jet of one element gets no messages."""
    layer = GravNetLayer(1, 1, 1, 1, k=2)
    with torch.no_grad():
        layer.space.weight.fill_(1.0), layer.space.bias.zero_()
        layer.propagate.weight.fill_(0.0), layer.propagate.bias.fill_(1.0)  # F_LR = 1 for every element
        layer.output[0].weight.copy_(torch.tensor([[0.0, 1.0, 0.0]])), layer.output[0].bias.zero_()  # the max
    mask = torch.tensor([[[1.0, 1.0, 1.0]], [[1.0, 0.0, 0.0]]])
    x = torch.tensor([[0.0, 0.1, 1.1], [0.0, 5.0, 5.0]])  # element 1 is 0.1 from element 0, element 2 is 1.0 from 1
    packing = Packing(mask)
    out = layer(packing.pack(x.unsqueeze(1)), packing)
    expected = torch.tanh(torch.tensor([torch.exp(torch.tensor(-0.1)), torch.exp(torch.tensor(-0.1)),
                                        torch.exp(torch.tensor(-10.0)), 0.0]))
    torch.testing.assert_close(out.squeeze(1), expected)


def test_onnx_export_matches_torch(tmp_path: Path, one_torch_thread: None) -> None:
    """Exported at 3 jets x 6 slots, onnxruntime agrees with torch at 5 jets x 11 slots."""
    model = build_model("gravnet", ONNX_DIMS, 3, seed=7, **HPARAMS)
    path = export_onnx(model, jets([3, 6, 2], 6, 0), tmp_path / "one.onnx", name="gravnet")
    assert check_onnx(path, model, jets([4, 11, 1, 7, 2], 11, 1), name="gravnet") <= 1e-4


def test_outputs_finite_in_training_mode(one_torch_thread: None) -> None:
    """A training-mode forward and backward on jets of 1 to 12 elements gives finite outputs and gradients."""
    model = build_model("gravnet", DIMS, 2, seed=2, **HPARAMS)
    out = run(model, particle_batch([12, 1, 5, 3], 12, seed=4))
    out.sum().backward()
    assert torch.isfinite(out).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
