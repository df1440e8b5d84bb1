"""Autoencoders for anomaly detection: dense on high-level features, convolutional on jet images.

Each standardises its input first, per feature or per pixel, with the mean and spread of the background jets it is
trained on (`Standardise`, filled by the trainer before training): a reconstruction error in the background's own
units, so that no input dominates by its scale (an unnormalised multiplicity, the bright core pixel of a normalised
jet image) and what the background never shows (energy where QCD images are empty) weighs most. forward returns the
reconstruction of the standardised input (same shape as the input, whatever n_outputs); anomaly_score is the
per-jet reconstruction MSE. The trainer fits them on background jets only.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, dense_stack
from rootml.models.specs import FAMILY_SPECS

# spread given to an input the background never varies (a pixel its jets never light): this fraction of the median
# spread of the other inputs, so that the signal's energy there counts as several standard deviations, not infinitely
SCALE_FLOOR = 0.1


class Standardise(nn.Module):
    """(x - centre) / scale per input element, with the background statistics the trainer sets (identity before)."""

    def __init__(self, shape: int | tuple[int, ...], enabled: bool) -> None:
        super().__init__()
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.enabled = enabled
        self.register_buffer("centre", torch.zeros(shape))
        self.register_buffer("scale", torch.ones(shape))

    def fit(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Set the centre and scale from the background's mean and standard deviation (a no-op when disabled)."""
        if not self.enabled:
            return
        varied = std[std > 0]
        floor = SCALE_FLOOR * (varied.median() if varied.numel() else torch.ones(()))
        self.centre.copy_(mean)
        self.scale.copy_(torch.where(std > floor, std, floor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The standardised input."""
        return (x - self.centre) / self.scale


class Autoencoder(nn.Module):
    """Shared behaviour: the input standardised on the background, reconstruction MSE per jet as the anomaly score."""

    standardise: Standardise
    encoder: nn.Module
    decoder: nn.Module
    input_keys: tuple[str, ...]
    # what the trainer standardises on the background (training/run.py): the one input, over every jet (no mask)
    standardised_mask: str | None = None

    @property
    def standardised_input(self) -> str:
        """The input whose statistics the trainer fills in: the model's only one."""
        return self.input_keys[0]

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """The bottleneck of each jet (B, latent_dim)."""
        return self.encoder(self.standardise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction of the standardised input."""
        return self.decoder(self.latent(x))

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        """Mean squared reconstruction error of each jet's standardised input (B,)."""
        return (self(x) - self.standardise(x)).square().flatten(1).mean(dim=1)

    validation_loss = anomaly_score


class DenseAutoencoder(Autoencoder):
    """Dense encoder to `latent_dim` and mirrored decoder on `highlevel` (B, F) -> (B, F)."""

    input_keys: tuple[str, ...] = ("highlevel",)

    def __init__(self, n_features: int, hidden: list[int], latent_dim: int, activation: str, standardise: bool) -> None:
        super().__init__()
        self.standardise = Standardise(n_features, standardise)
        self.encoder = nn.Sequential(*dense_stack(n_features, hidden, activation), nn.Linear(hidden[-1], latent_dim))
        self.decoder = nn.Sequential(
            *dense_stack(latent_dim, hidden[::-1], activation), nn.Linear(hidden[0], n_features))


class ConvAutoencoder(Autoencoder):
    """Conv + max-pool encoder, dense bottleneck, upsample + conv decoder on `image` (B, c, H, W)."""

    input_keys: tuple[str, ...] = ("image",)

    def __init__(
        self, image_shape: tuple[int, int, int], channels: list[int], latent_dim: int, activation: str,
        standardise: bool,
    ) -> None:
        super().__init__()
        self.standardise = Standardise(tuple(image_shape), standardise)
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


def build(spec: BuildSpec) -> Autoencoder:
    """A dense or convolutional autoencoder for `spec.dim` (n_outputs is not used: outputs mirror inputs)."""
    hp = spec.hp
    if hp["input"] == "highlevel":
        return DenseAutoencoder(spec.dim, hp["hidden"], hp["latent_dim"], hp["activation"], hp["standardise"])
    if min(spec.dim[1:]) >> len(hp["channels"]) < 1:
        raise spec.error("channels", f"{len(hp['channels'])} 2x2 poolings do not fit images of {spec.dim[1:]}")
    return ConvAutoencoder(spec.dim, hp["channels"], hp["latent_dim"], hp["activation"], hp["standardise"])


FAMILY = ModelFamily.bind(FAMILY_SPECS["autoencoder"], build)
