"""LorentzNet: Minkowski products and psi, invariance of the output under a Lorentz boost and rotation of every
four-momentum and under permutations of the real particles, equivariance of the momentum update, padded particles
that never contribute (also to the BatchNorm statistics of a training step), and a run through the trainer."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from conftest import train
from rootml.config import model_run
from rootml.models.lorentznet import LGEB, minkowski_dot, psi
from rootml.models.registry import build_model
from test_models import assert_set_invariance, particle_batch, run
from test_training_data import features_block, write_prepared

N_FEATURES = 6
DIMS = {"features": N_FEATURES, "points": 2, "vectors": 4}
TINY = {"n_hidden": 16, "n_layers": 3}


def lorentz_transform(rapidity: float, angle: float) -> torch.Tensor:
    """(4, 4) matrix on (px, py, pz, E): a boost along z of `rapidity`, then a rotation about z by `angle`."""
    boost, rotation = torch.eye(4, dtype=torch.float64), torch.eye(4, dtype=torch.float64)
    boost[2, 2] = boost[3, 3] = math.cosh(rapidity)
    boost[2, 3] = boost[3, 2] = math.sinh(rapidity)
    rotation[0, 0] = rotation[1, 1] = math.cos(angle)
    rotation[0, 1], rotation[1, 0] = -math.sin(angle), math.sin(angle)
    return rotation @ boost


def transformed(vectors: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Every four-momentum of vectors (B, 4, N) transformed by `matrix`."""
    return torch.einsum("ij,bjn->bin", matrix.to(vectors.dtype), vectors)


def test_minkowski_products_and_psi() -> None:
    """<p, q> has the metric (+, -, -, -) with E last; a massless vector has norm 0; psi(+-(e - 1)) = +-1."""
    p = torch.tensor([3.0, 4.0, 12.0, 13.0])
    q = torch.tensor([1.0, 0.0, 0.0, 2.0])
    assert minkowski_dot(p, p).item() == 0.0
    assert minkowski_dot(p, q).item() == 26.0 - 3.0
    assert minkowski_dot(q, q).item() == 3.0
    torch.testing.assert_close(psi(torch.tensor([math.e - 1, 1 - math.e, 0.0])), torch.tensor([1.0, -1.0, 0.0]))


@pytest.mark.parametrize("rapidity,angle", [(0.8, 1.1), (-1.5, -2.7)])
def test_output_is_lorentz_invariant(rapidity: float, angle: float, one_torch_thread) -> None:
    """A boost along z and a rotation about z of all four-momenta (node scalars fixed) leave the output unchanged:
    to 1e-9 in float64 (c_weight 1: large momentum updates), to 1e-4 in float32 at the default size; scaling the
    momenta (not a Lorentz transformation) changes it."""
    batch = particle_batch([9, 4, 1, 0, 12], 12, seed=5)
    matrix = lorentz_transform(rapidity, angle)
    wide = build_model("lorentznet", DIMS, 3, seed=2, c_weight=1.0, **TINY).double().eval()
    inputs = {key: value.double() for key, value in batch.items()}
    with torch.no_grad():
        reference = run(wide, inputs)
        moved = run(wide, {**inputs, "vectors": transformed(inputs["vectors"], matrix)})
        torch.testing.assert_close(moved, reference, atol=1e-9, rtol=1e-9)
        scaled = run(wide, {**inputs, "vectors": inputs["vectors"] * 3.0})
        assert (scaled - reference)[:2].abs().min() > 1e-6  # 5 orders above the invariance tolerance
        default = build_model("lorentznet", DIMS, 3, seed=2).eval()
        torch.testing.assert_close(
            run(default, {**batch, "vectors": transformed(batch["vectors"], matrix).float()}), run(default, batch),
            atol=1e-4, rtol=1e-4)


def test_momentum_update_is_equivariant(one_torch_thread) -> None:
    """One LGEB: transforming the input momenta transforms its output momenta the same way, its embeddings not."""
    torch.manual_seed(0)
    block = LGEB(8, 3, c_weight=1.0, last=False).double().eval()
    h, scalars = torch.randn(5, 8, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    x = particle_batch([5], 5, seed=1)["vectors"][0].T.double() / 10
    receivers, senders = (torch.tensor(v) for v in zip(*[(i, j) for i in range(5) for j in range(5) if i != j]))
    degree = torch.full((5, 1), 4.0, dtype=torch.float64)
    matrix = lorentz_transform(0.6, 2.0)
    with torch.no_grad():
        h_out, x_out = block(h, x, scalars, (receivers, senders), degree)
        h_moved, x_moved = block(h, x @ matrix.T, scalars, (receivers, senders), degree)
    assert (x_out - x).abs().max() > 1e-5  # the update moves the momenta (phi_x starts small: xavier gain 1e-3)
    torch.testing.assert_close(x_moved, x_out @ matrix.T, atol=1e-10, rtol=1e-10)
    torch.testing.assert_close(h_moved, h_out, atol=1e-10, rtol=1e-10)


def test_permutations_and_padding(one_torch_thread) -> None:
    """Shuffled slots, more or less padding and junk in padded slots leave the output unchanged; a real particle's
    features matter."""
    model = build_model("lorentznet", DIMS, 3, seed=1, **TINY).eval()
    assert_set_invariance(model, particle_batch([9, 2, 1, 6, 9], 10, seed=3), [""])


def test_padded_particles_never_contribute_in_training(one_torch_thread) -> None:
    """In training mode too (BatchNorm on batch statistics): junk in the padded slots changes neither the outputs nor
    the gradients, and an empty jet gives the decoder's output of a zero mean."""
    batch = particle_batch([7, 3, 0, 10], 10, seed=4)
    junk = {**batch, **{key: batch[key] + (1 - batch["mask"]) * 5.0 for key in ("features", "vectors")}}
    outputs, gradients = [], []
    for inputs in (batch, junk):
        model = build_model("lorentznet", DIMS, 2, seed=3, **TINY).train()
        out = run(model, inputs)
        out.square().sum().backward()
        outputs.append(out)
        gradients.append([p.grad for p in model.parameters()])
    torch.testing.assert_close(outputs[1], outputs[0])
    for first, second in zip(*gradients, strict=True):
        torch.testing.assert_close(second, first)
    model = build_model("lorentznet", DIMS, 2, seed=3, **TINY).eval()
    torch.testing.assert_close(run(model, batch)[2], model.decoder(torch.zeros(1, TINY["n_hidden"]))[0])


def test_run_reads_the_set_with_its_vectors(tmp_path: Path, one_torch_thread) -> None:
    """The trainer gives LorentzNet the set's features, vectors and mask; it trains, and the model_config says so."""
    data_dir = write_prepared(tmp_path, sizes={"train": 160, "val": 64, "test": 64})
    config = {"seed": 1, "classes": ["g", "q", "t"], "features": features_block("part"),
              "training": {"epochs": 2, "batch_size": 32, "num_threads": 1}}
    entry = {"family": "lorentznet", "hparams": TINY}
    assert model_run("lnet", entry, config).representations == ["part"]
    train("lnet", entry, config, data_dir, tmp_path / "lnet", progress=False)
    model_config = json.loads((tmp_path / "lnet" / "model_config.json").read_text())
    assert model_config["input_keys"] == ["features", "vectors", "mask"]
    assert model_config["n_parameters"] == sum(p.numel() for p in build_model(
        "lorentznet", {"features": 5}, 3, **TINY).parameters())
    metrics = json.loads((tmp_path / "lnet" / "metrics.json").read_text())
    assert metrics["auc"] > 0.6  # the synthetic features shift with the class


def test_first_edge_layer_equals_the_linear_on_the_concatenation() -> None:
    """The per-node split of phi_e's first Linear gives what the Linear gives on (h_i, h_j, invariants) per edge."""
    block = LGEB(16, N_FEATURES, 1e-3, last=False).double()
    generator = torch.Generator().manual_seed(4)
    h = torch.randn(30, 16, dtype=torch.float64, generator=generator)
    invariants = torch.randn(200, 2, dtype=torch.float64, generator=generator)
    i, j = torch.randint(0, 30, (200,), generator=generator), torch.randint(0, 30, (200,), generator=generator)
    expected = block.phi_e[0](torch.cat((h[i], h[j], invariants), dim=1))
    torch.testing.assert_close(block._first_edge_layer(h, invariants, i, j), expected, rtol=0, atol=1e-12)
