"""GarNet: the torch layers compute hls4ml's Keras GarNetStack (simplified, input_format 'xn', mean_by_nvert, collapse
'mean'), written here in numpy from its call; padded elements never matter; ONNX export; config errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rootml.errors import ConfigError
from rootml.models.registry import build_model
from rootml.pruning.onnx_export import check_onnx, export_onnx
from test_models import DIMS, TWO_SET_DIMS, assert_set_invariance, particle_batch, two_set_batch
from test_pruning_onnx import DIMS as ONNX_DIMS
from test_pruning_onnx import jets

HPARAMS = {"n_aggregators": [3, 2], "n_propagate": [4, 5], "n_filters": [6, 4], "fc_params": [8]}


def keras_garnet_stack(data: np.ndarray, n_vertex: np.ndarray, layers: list[dict[str, np.ndarray]]) -> np.ndarray:
    """hls4ml.contrib.garnet.GarNetStack.call (simplified, mean_by_nvert, collapse 'mean' as the HLS layer means it:
    over the real vertices) on data (B, V, C), with Keras kernels (in, out)."""
    vertex_mask = (np.arange(data.shape[1])[None, :] < n_vertex[:, None]).astype(np.float64)[..., None]
    for w in layers:
        features = data @ w["FLR_kernel"] + w["FLR_bias"]
        edge_weights = vertex_mask * np.exp(-np.square(data @ w["S_kernel"] + w["S_bias"]))  # (B, V, S)
        aggregated = np.einsum("bvs,bvf->bsf", edge_weights, features) / n_vertex[:, None, None]
        updated = (edge_weights[..., None] * aggregated[:, None]).reshape(*data.shape[:2], -1)  # (B, V, S*F)
        data = vertex_mask * (updated @ w["Fout_kernel"] + w["Fout_bias"])
    return data.sum(axis=1) / n_vertex[:, None]


def test_matches_the_keras_layer(one_torch_thread: None) -> None:
    """The stack's pooled output equals the Keras GarNetStack's on the same weights (kernel = torch weight.T)."""
    model = build_model("garnet", DIMS, 3, seed=4, **HPARAMS).double().eval()
    batch = particle_batch([9, 2, 1, 6, 9], 10, seed=3)
    layers = [{"FLR_kernel": layer.input_transform.weight.detach().numpy().T,
               "FLR_bias": layer.input_transform.bias.detach().numpy(),
               "S_kernel": layer.aggregator_distance.weight.detach().numpy().T,
               "S_bias": layer.aggregator_distance.bias.detach().numpy(),
               "Fout_kernel": layer.output_transform.weight.detach().numpy().T,
               "Fout_bias": layer.output_transform.bias.detach().numpy()} for layer in model.layers]
    n_vertex = batch["mask"].sum(dim=(1, 2)).numpy().astype(np.float64)
    expected = keras_garnet_stack(batch["features"].double().transpose(1, 2).numpy(), n_vertex, layers)
    with torch.no_grad():
        got = model.stack(batch["features"].double(), batch["mask"].double()).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert np.abs(expected).max() > 1e-2


@pytest.mark.parametrize("variant", [{}, {"simplified": False, "output_activation": "tanh"}])
def test_invariant_to_padding_and_order_on_one_and_two_sets(variant: dict, one_torch_thread: None) -> None:
    """Slot order, padding and junk in padded slots never change the output (also the max of the full variant)."""
    model = build_model("garnet", DIMS, 3, seed=1, **HPARAMS, **variant).eval()
    assert_set_invariance(model, particle_batch([9, 2, 1, 6, 9], 10, seed=3), [""])
    joined = build_model("garnet", TWO_SET_DIMS, 3, seed=1, set_embed_dim=8, **HPARAMS, **variant).eval()
    assert_set_invariance(joined, two_set_batch([9, 2, 1, 6, 9], 10, seed=3), ["part/", "sv/"])


def test_onnx_export_matches_torch(tmp_path: Path, one_torch_thread: None) -> None:
    """Exported at 3 jets x 6 slots, onnxruntime agrees with torch at 5 jets x 11 slots."""
    model = build_model("garnet", ONNX_DIMS, 3, seed=7, **HPARAMS)
    path = export_onnx(model, jets([3, 6, 2], 6, 0), tmp_path / "garnet.onnx", name="garnet")
    assert check_onnx(path, model, jets([4, 11, 1, 7, 2], 11, 1), name="garnet") <= 1e-4


def test_layer_lists_of_unequal_length_name_the_key() -> None:
    """n_aggregators, n_propagate and n_filters give one entry per layer: unequal lengths are a ConfigError."""
    with pytest.raises(ConfigError, match="equally long") as error:
        build_model("garnet", DIMS, 2, config_key="models.g", n_aggregators=[4], n_propagate=[8, 8])
    assert error.value.key == "models.g.n_filters"
