"""Autoencoders for anomaly detection: dense on high-level features, convolutional on jet images.

forward returns the reconstruction (same shape as the input, whatever n_outputs); anomaly_score is the
per-jet reconstruction MSE. The trainer fits them on background jets only.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, dense_stack
from rootml.models.specs import FAMILY_SPECS


class Autoencoder(nn.Module):
    """Shared behaviour: reconstruction MSE per jet as the anomaly score."""

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared reconstruction error of each jet (B,)."""
        return (self(x) - x).square().flatten(1).mean(dim=1)


class DenseAutoencoder(Autoencoder):
    """Dense encoder to `latent_dim` and mirrored decoder on `highlevel` (B, F) -> (B, F)."""

    input_keys: tuple[str, ...] = ("highlevel",)

    def __init__(self, n_features: int, hidden: list[int], latent_dim: int, activation: str) -> None:
        super().__init__()
        self.encoder = nn.Sequential(*dense_stack(n_features, hidden, activation), nn.Linear(hidden[-1], latent_dim))
        self.decoder = nn.Sequential(
            *dense_stack(latent_dim, hidden[::-1], activation), nn.Linear(hidden[0], n_features))

    def forward(self, highlevel: torch.Tensor) -> torch.Tensor:
        """Reconstructed high-level features."""
        return self.decoder(self.encoder(highlevel))


class ConvAutoencoder(Autoencoder):
    """Conv + max-pool encoder, dense bottleneck, upsample + conv decoder on `image` (B, c, H, W)."""

    input_keys: tuple[str, ...] = ("image",)

    def __init__(
        self, image_shape: tuple[int, int, int], channels: list[int], latent_dim: int, activation: str,
    ) -> None:
        super().__init__()
        sizes = [image_shape[1:]]
        encoder: list[nn.Module] = []
        for c_in, c_out in zip([image_shape[0], *channels[:-1]], channels):
            encoder += [nn.Conv2d(c_in, c_out, 3, padding=1), ACTIVATIONS[activation](), nn.MaxPool2d(2)]
            sizes.append((sizes[-1][0] // 2, sizes[-1][1] // 2))
        bottom = (channels[-1], *sizes[-1])
        flat = bottom[0] * bottom[1] * bottom[2]
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(flat, latent_dim))
        decoder: list[nn.Module] = [nn.Linear(latent_dim, flat), ACTIVATIONS[activation](), nn.Unflatten(1, bottom)]
        outs = [*channels[::-1][1:], image_shape[0]]
        for level, (c_in, c_out) in enumerate(zip(channels[::-1], outs)):
            # upsample to the exact pre-pooling size, so odd image sizes (e.g. 33x33) come back unchanged
            decoder += [nn.Upsample(size=tuple(sizes[-2 - level])), nn.Conv2d(c_in, c_out, 3, padding=1)]
            if level < len(channels) - 1:
                decoder.append(ACTIVATIONS[activation]())
        self.decoder = nn.Sequential(*decoder)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Reconstructed jet images."""
        return self.decoder(self.encoder(image))


def build(spec: BuildSpec) -> Autoencoder:
    """A dense or convolutional autoencoder for `spec.dim` (n_outputs is not used: outputs mirror inputs)."""
    hp = spec.hp
    if hp["input"] == "highlevel":
        return DenseAutoencoder(spec.dim, hp["hidden"], hp["latent_dim"], hp["activation"])
    if min(spec.dim[1:]) >> len(hp["channels"]) < 1:
        raise spec.error("channels", f"{len(hp['channels'])} 2x2 poolings do not fit images of {spec.dim[1:]}")
    return ConvAutoencoder(spec.dim, hp["channels"], hp["latent_dim"], hp["activation"])


FAMILY = ModelFamily.bind(FAMILY_SPECS["autoencoder"], build)
