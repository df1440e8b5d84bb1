"""ONNX export of every torch family (set families on one set and on two): onnxruntime matches torch on other batch
sizes and particle counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from rootml.models.registry import build_model
from rootml.pruning.onnx_export import OnnxExportError, check_onnx, dynamic_axes, export_onnx
from rootml.pruning.prune import MODULE_TYPES, iterative_prune

N_FEATURES, N_HIGHLEVEL, IMAGE = 5, 6, (1, 10, 10)
DIMS = {"features": N_FEATURES, "points": 2, "highlevel": N_HIGHLEVEL, "image": IMAGE}
SET_KEYS = ("features", "points", "vectors", "mask")
TOLERANCE = 1e-4

# tiny versions of every torch family (test id, family, hyper-parameters)
FAMILIES = [
    ("mlp", "mlp", {"hidden": [16, 16], "batchnorm": True}),
    ("cnn", "cnn", {"channels": [4, 8], "fc_params": [16]}),
    ("deepsets", "deepsets", {"phi_sizes": [16, 16], "f_sizes": [16]}),
    ("particlenet", "particlenet", {"k": 3, "conv_params": [[16, 16], [16]], "fc_params": [16]}),
    ("interaction_net", "interaction_net", {"edge_sizes": [16, 8], "node_sizes": [16], "fc_params": [16]}),
    ("transformer_pairs", "transformer", {"embed_dims": [16], "num_heads": 2, "num_layers": 1, "num_cls_layers": 1,
                                          "pair_features": True, "pair_embed_dims": [8]}),
    ("autoencoder_dense", "autoencoder", {"hidden": [8], "latent_dim": 2}),
    ("autoencoder_image", "autoencoder", {"input": "image", "channels": [4], "latent_dim": 3}),
    ("vae_dense", "vae", {"hidden": [8], "latent_dim": 2}),
    ("vae_image", "vae", {"input": "image", "channels": [4], "latent_dim": 3}),
    ("set_autoencoder", "set_autoencoder", {"phi_sizes": [16], "encoder_sizes": [8], "latent_dim": 3,
                                            "decoder_sizes": [16], "n_out": 5}),
]


def jets(n_real: list[int], n_max: int, seed: int, n_features: int = N_FEATURES,
         n_coordinates: int = 2) -> dict[str, np.ndarray]:
    """Random jets with `n_real` particles each, zero-padded to `n_max` slots, for every input key."""
    rng = np.random.default_rng(seed)
    batch = len(n_real)
    mask = (np.arange(n_max)[None, :] < np.array(n_real)[:, None]).astype(np.float32)[:, None, :]
    pt = rng.uniform(1.0, 50.0, (batch, n_max))
    eta, phi = rng.normal(0.5, 0.4, (batch, n_max)), rng.normal(1.0, 0.4, (batch, n_max))
    vectors = np.stack((pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)), axis=1)
    return {"features": rng.normal(size=(batch, n_features, n_max)) * mask,
            "points": rng.normal(0.0, 0.4, (batch, n_coordinates, n_max)) * mask,
            "vectors": vectors * mask, "mask": mask,
            "highlevel": rng.normal(size=(batch, N_HIGHLEVEL)),
            "image": rng.normal(size=(batch, *IMAGE))}


def two_sets(n_real: list[int], n_max: int, seed: int) -> dict[str, np.ndarray]:
    """jets as set `part` (2 coordinates) and a set `hits` of 2 features, n_max + 3 slots, 3 coordinates."""
    part, hits = jets(n_real, n_max, seed), jets([n + 1 for n in n_real], n_max + 3, seed + 1, 2, 3)
    hits["points"] = hits["points"][:, :2]  # ParticleNet's joined graph needs as many coordinates in every set
    return {**{f"part/{key}": part[key] for key in SET_KEYS}, **{f"hits/{key}": hits[key] for key in SET_KEYS}}


def input_shapes(path: Path) -> dict[str, list[str | int]]:
    """Input name -> its dimensions (a symbolic name or a size), in the order of the exported graph's inputs."""
    return {node.name: [d.dim_param or d.dim_value for d in node.type.tensor_type.shape.dim]
            for node in onnx.load(path).graph.input}


@pytest.mark.parametrize("family,hparams", [m[1:] for m in FAMILIES], ids=[m[0] for m in FAMILIES])
def test_onnx_matches_torch_on_new_batch_and_particle_counts(tmp_path: Path, family: str, hparams: dict) -> None:
    """Exported at 3 jets x 6 slots; onnxruntime agrees with torch within 1e-4 at 5 x 11 and 1 x 4."""
    model = build_model(family, DIMS, 3, seed=7, **hparams)
    path = export_onnx(model, jets([3, 6, 2], 6, 0), tmp_path / "model.onnx", name=family)
    shapes = input_shapes(path)
    assert list(shapes) == list(model.input_keys)
    for name, shape in shapes.items():
        assert shape[0] == "batch"
        assert ("particles" in shape) == (name in ("features", "points", "vectors", "mask"))
        assert shape.index("particles") == 2 if "particles" in shape else all(isinstance(d, int) for d in shape[1:])
    for n_real, n_max in (([4, 11, 1, 7, 2], 11), ([3], 4)):
        difference = check_onnx(path, model, jets(n_real, n_max, 1), name=family, atol=TOLERANCE)
        assert 0.0 <= difference <= TOLERANCE


@pytest.mark.parametrize("family,hparams", [m[1:] for m in FAMILIES[2:6]], ids=[m[0] for m in FAMILIES[2:6]])
def test_two_set_models_export_with_an_axis_per_set(tmp_path: Path, family: str, hparams: dict) -> None:
    """A model on two sets exports with inputs <set>/<name> and a slot axis per set; onnxruntime agrees with torch
    on other batch sizes and other slot counts of each set."""
    dims = {"part/features": N_FEATURES, "part/points": 2, "part/vectors": 4, "hits/features": 2,
            "hits/points": 2, "hits/vectors": 4}
    model = build_model(family, dims, 3, seed=7, **hparams)
    path = export_onnx(model, two_sets([3, 6, 2], 6, 0), tmp_path / "model.onnx", name=family)
    shapes = input_shapes(path)
    assert list(shapes) == list(model.input_keys)
    for name, shape in shapes.items():
        assert shape[0] == "batch" and shape[2] == f"particles_{name.split('/')[0]}"
    for n_real, n_max in (([4, 11, 1, 7, 2], 11), ([3], 4)):
        assert check_onnx(path, model, two_sets(n_real, n_max, 1), name=family, atol=TOLERANCE) <= TOLERANCE


def test_three_coordinate_particlenet_exports(tmp_path: Path) -> None:
    """ParticleNet with its graph on three coordinates (x, y, z) exports and matches torch."""
    model = build_model("particlenet", {"features": N_FEATURES, "points": 3}, 2, seed=7, k=3, conv_params=[[16]])
    path = export_onnx(model, jets([3, 6, 2], 6, 0, n_coordinates=3), tmp_path / "model.onnx", name="pnet_xyz")
    assert input_shapes(path)["points"] == ["batch", 3, "particles"]
    assert check_onnx(path, model, jets([4, 11, 1, 7, 2], 11, 1, n_coordinates=3), name="pnet_xyz") <= TOLERANCE


def test_pruned_model_exports_with_its_zeros(tmp_path: Path) -> None:
    """A 75%-pruned particle model exports, matches torch, and its ONNX weights keep the zeros."""
    model = build_model("deepsets", DIMS, 2, seed=8, phi_sizes=[32, 32], f_sizes=[32])
    _, pruned = iterative_prune(model, [0.75], evaluate=lambda m: 0.0, module_types=list(MODULE_TYPES))
    path = export_onnx(pruned, jets([5, 3], 8, 2), tmp_path / "pruned.onnx", name="deepsets_pruned")
    check_onnx(path, pruned, jets([2, 9, 4], 9, 3), name="deepsets_pruned")
    matrices = [onnx.numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer if len(t.dims) == 2]
    zeros = sum(int((m == 0).sum()) for m in matrices) / sum(m.size for m in matrices)
    assert abs(zeros - 0.75) < 0.01


def test_mismatch_raises_with_the_model_name(tmp_path: Path) -> None:
    """Checking an ONNX file against a different torch model raises OnnxExportError naming the model."""
    exported = build_model("mlp", DIMS, 2, seed=9, hidden=[8])
    other = build_model("mlp", DIMS, 2, seed=10, hidden=[8])
    path = export_onnx(exported, jets([1, 1], 1, 0), tmp_path / "mlp.onnx", name="my_mlp")
    with pytest.raises(OnnxExportError, match="model 'my_mlp'.*differs from torch"):
        check_onnx(path, other, jets([1, 1, 1], 1, 1), name="my_mlp")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.onnx"]  # no temporary files left


def test_dynamic_axes_per_input() -> None:
    """Set inputs get batch and slot axes (one per set of a model on several), the others only the batch axis."""
    assert dynamic_axes(("points", "features", "mask", "highlevel", "image")) == {
        "points": {0: "batch", 2: "particles"}, "features": {0: "batch", 2: "particles"},
        "mask": {0: "batch", 2: "particles"}, "highlevel": {0: "batch"}, "image": {0: "batch"}}
    assert dynamic_axes(("part/features", "part/mask", "sv/vectors")) == {
        "part/features": {0: "batch", 2: "particles_part"}, "part/mask": {0: "batch", 2: "particles_part"},
        "sv/vectors": {0: "batch", 2: "particles_sv"}}
