"""What gets embedded for a trained model: the last hidden layer of classifiers (dense and on particle sets), the
latent of autoencoders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rootml.models.registry import build_model
from rootml.unsupervised.representations import hidden_representation, latent_or_hidden

N_JETS, N_FEATURES, N_SLOTS = 20, 6, 8


def set_inputs(n_real: list[int], n_slots: int = N_SLOTS, seed: int = 0) -> dict[str, torch.Tensor]:
    """Jets of one particle set with n_real particles each, zero-padded to n_slots (features, points, mask)."""
    gen = torch.Generator().manual_seed(seed)
    mask = (torch.arange(n_slots) < torch.tensor(n_real).unsqueeze(1)).float().unsqueeze(1)
    return {"features": torch.randn(len(n_real), N_FEATURES, n_slots, generator=gen) * mask,
            "points": torch.randn(len(n_real), 2, n_slots, generator=gen) * mask, "mask": mask}


def test_mlp_gives_its_last_hidden_layer() -> None:
    """The MLP's representation has the width of its last hidden layer, equals its hidden stack in eval mode, does
    not depend on the batch size, and leaves the model in the mode it was in."""
    model = build_model("mlp", {"highlevel": 6}, 3, seed=1, hidden=[16, 12], batchnorm=True, dropout=0.5)
    x = torch.randn(N_JETS, 6, generator=torch.Generator().manual_seed(2))
    kind, hidden = latent_or_hidden(model, {"highlevel": x, "unused": torch.zeros(1)})
    assert kind == "last hidden layer" and hidden.shape == (N_JETS, 12)
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = model.net[:-1](x).numpy()
    np.testing.assert_allclose(hidden, expected, atol=1e-6)
    np.testing.assert_allclose(hidden_representation(model, {"highlevel": x}, batch_size=7), hidden, atol=1e-6)
    assert (hidden >= 0).all() and hidden.std() > 0  # after the ReLU, not the logits


# (input dims, hyper-parameters, latent_dim, width of the input of the last Linear: the dense decoder's last hidden
# layer; the convolutional decoder's only Linear is its first, on the latent)
AUTOENCODERS = [({"highlevel": 6}, {"hidden": [8], "latent_dim": 3}, 3, 8),
                ({"image": (1, 12, 12)}, {"input": "image", "channels": [4, 8], "latent_dim": 5}, 5, 5)]


@pytest.mark.parametrize("input_dims,hparams,latent_dim,last_linear", AUTOENCODERS, ids=["dense", "image"])
def test_autoencoder_gives_its_latent(input_dims: dict, hparams: dict, latent_dim: int, last_linear: int) -> None:
    """An autoencoder's representation is its encoder's output, latent_dim wide, not its last hidden layer."""
    model = build_model("autoencoder", input_dims, 1, seed=1, **hparams).eval()
    (key, shape), = input_dims.items()
    x = torch.randn(N_JETS, *np.atleast_1d(shape), generator=torch.Generator().manual_seed(3))
    kind, latent = latent_or_hidden(model, {key: x})
    assert kind == "latent" and latent.shape == (N_JETS, latent_dim)
    with torch.no_grad():
        np.testing.assert_allclose(latent, model.encoder(x).numpy(), atol=1e-6)
    assert hidden_representation(model, {key: x}).shape == (N_JETS, last_linear)


def test_set_models_give_their_pooled_hidden_layer() -> None:
    """Deep Sets: the input of its last linear layer (f_sizes[-1] wide), unchanged by extra padding; a transformer
    (whose `encode` is its classifier, no latent) gives its last hidden layer."""
    model = build_model("deepsets", {"features": N_FEATURES, "points": 2}, 3, seed=1, phi_sizes=[16, 16],
                        f_sizes=[10]).eval()
    inputs = set_inputs([1, 3, 8, 5] * 5)
    kind, hidden = latent_or_hidden(model, inputs)
    assert kind == "last hidden layer" and hidden.shape == (N_JETS, 10)
    padded = {key: torch.nn.functional.pad(value, (0, 4)) for key, value in inputs.items()}
    np.testing.assert_allclose(hidden_representation(model, padded), hidden, atol=1e-5)
    moved = {**inputs, "features": inputs["features"].clone()}
    moved["features"][0, :, 0] += 1.0
    changed = hidden_representation(model, moved)
    assert not np.allclose(changed[0], hidden[0]) and np.allclose(changed[1:], hidden[1:], atol=1e-6)
    transformer = build_model("transformer", {"features": N_FEATURES, "points": 2}, 3, seed=1, embed_dims=[16],
                              num_heads=2, num_layers=1, num_cls_layers=1, fc_params=[12])
    kind, hidden = latent_or_hidden(transformer, inputs)
    assert kind == "last hidden layer" and hidden.shape == (N_JETS, 12)


def test_missing_inputs_are_named() -> None:
    """A model's missing input is named; an empty batch is refused."""
    model = build_model("deepsets", {"features": N_FEATURES, "points": 2}, 3, seed=1, phi_sizes=[8], f_sizes=[8])
    with pytest.raises(KeyError, match=r"missing \['mask'\]"):
        hidden_representation(model, {"features": torch.zeros(2, N_FEATURES, 4)})
    with pytest.raises(ValueError, match="no jets"):
        hidden_representation(model, {key: value[:0] for key, value in set_inputs([2, 3]).items()})
