"""DynEdge: padded elements never matter, on one set and on two; the first graph is built on the set's coordinates;
summed EdgeConv messages; ONNX export matches torch."""

from __future__ import annotations

from pathlib import Path

import torch

from rootml.models.dynedge import DynEdgeConv
from rootml.models.particlenet import Packing
from rootml.models.registry import build_model
from rootml.pruning.onnx_export import check_onnx, export_onnx
from test_models import DIMS, N_FEATURES, TWO_SET_DIMS, assert_set_invariance, particle_batch, run, two_set_batch
from test_pruning_onnx import DIMS as ONNX_DIMS
from test_pruning_onnx import jets

HPARAMS = {"k": 3, "conv_params": [[16, 16], [12]], "post_sizes": [16, 8], "readout_sizes": [8]}


def test_invariant_to_padding_and_order_on_one_and_two_sets(one_torch_thread: None) -> None:
    """Slot order, padding and junk in padded slots never change the output; a real element does."""
    model = build_model("dynedge", DIMS, 3, seed=1, **HPARAMS).eval()
    assert_set_invariance(model, particle_batch([9, 2, 1, 6, 9], 10, seed=3), [""])
    joined = build_model("dynedge", TWO_SET_DIMS, 3, seed=1, set_embed_dim=8, **HPARAMS).eval()
    assert_set_invariance(joined, two_set_batch([9, 2, 1, 6, 9], 10, seed=3), ["part/", "sv/"])


def test_first_graph_on_three_coordinates(one_torch_thread: None) -> None:
    """On a set with x, y, z coordinates, stretching z alone changes the first graph and so the output."""
    dims = {"features": N_FEATURES, "points": 3}
    model = build_model("dynedge", dims, 2, seed=1, **HPARAMS).eval()
    batch = particle_batch([9, 2, 1, 6, 9], 10, seed=3, n_coordinates=3)
    assert_set_invariance(model, batch, [""])
    stretched = {**batch, "points": batch["points"] * torch.tensor([1.0, 1.0, 5.0]).view(1, 3, 1)}
    assert not torch.allclose(run(model, stretched), run(model, batch), atol=1e-4)


def test_messages_are_summed_over_real_neighbours(one_torch_thread: None) -> None:
    """With an edge MLP relu(x_j - x_i), an element's output is the sum over its real neighbours; with k = 3 and two
    other real elements the missing neighbour adds nothing, and the padded slot (nearest to element 2) is no
    neighbour."""
    conv = DynEdgeConv(3, 1, [1], "relu")
    with torch.no_grad():
        conv.first.weight.copy_(torch.tensor([[0.0, 1.0]])), conv.first.bias.zero_()
    mask = torch.tensor([[[1.0, 1.0, 1.0, 0.0]]])
    values = torch.tensor([[[1.0, 2.0, 4.0, 4.5]]])
    packing = Packing(mask)
    out = conv(values, packing.pack(values), packing).squeeze(1)
    torch.testing.assert_close(out, torch.tensor([1.0 + 3.0, 0.0 + 2.0, 0.0]))


def test_onnx_export_matches_torch(tmp_path: Path, one_torch_thread: None) -> None:
    """Exported at 3 jets x 6 slots, onnxruntime agrees with torch at 5 jets x 11 slots."""
    model = build_model("dynedge", ONNX_DIMS, 3, seed=7, **HPARAMS)
    path = export_onnx(model, jets([3, 6, 2], 6, 0), tmp_path / "dynedge.onnx", name="dynedge")
    assert check_onnx(path, model, jets([4, 11, 1, 7, 2], 11, 1), name="dynedge") <= 1e-4
