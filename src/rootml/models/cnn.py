"""Convolutional network on jet images, optionally modulated by high-level features (FiLM, arXiv:1709.07871)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, classifier_head, dense_stack
from rootml.models.specs import FAMILY_SPECS


def pooled_size(height: int, width: int, n_pools: int) -> tuple[int, int]:
    """Spatial size after `n_pools` 2x2 max-pools (floor division, as nn.MaxPool2d)."""
    return height >> n_pools, width >> n_pools


class CNN(nn.Module):
    """Conv blocks on `image` (B, channels, H, W), flattened, then a dense head -> (B, n_outputs)."""

    input_keys: tuple[str, ...] = ("image",)

    def __init__(
        self, image_shape: tuple[int, int, int], n_outputs: int, channels: list[int], kernel_size: int,
        batchnorm: bool, fc_params: list[int], dropout: float, activation: str,
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        for c_in, c_out in zip([image_shape[0], *channels[:-1]], channels):
            blocks.append(nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2))
            if batchnorm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks += [ACTIVATIONS[activation](), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks, nn.Flatten())
        height, width = pooled_size(image_shape[1], image_shape[2], len(channels))
        self.head = classifier_head(channels[-1] * height * width, fc_params, n_outputs, activation, dropout)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs for each jet image."""
        return self.head(self.features(image))


class FiLMCNN(CNN):
    """A CNN whose conv blocks are modulated by the jet's scalars `highlevel` (B, S): a small MLP maps them to a
    (gamma, beta) per channel of each block, x -> gamma x + beta after the block's normalisation (BatchNorm, or the
    convolution without it). The MLP's last layer starts at zero, so gamma = 1 + 0 and beta = 0: at initialisation
    the model is the plain CNN of the same seed."""

    input_keys: tuple[str, ...] = ("image", "highlevel")

    def __init__(self, image_shape: tuple[int, int, int], n_outputs: int, n_scalars: int, film_hidden: list[int],
                 **cnn: Any) -> None:
        super().__init__(image_shape, n_outputs, **cnn)
        normalisation = nn.BatchNorm2d if cnn["batchnorm"] else nn.Conv2d
        blocks = [index for index, layer in enumerate(self.features) if isinstance(layer, normalisation)]
        starts = [sum(cnn["channels"][:block]) for block in range(len(blocks))]
        # the layer after which each block is modulated -> (first, last + 1) of its gammas; its betas follow all gammas
        self.modulated = {index: (start, start + width) for index, start, width in zip(blocks, starts, cnn["channels"])}
        self.n_channels = sum(cnn["channels"])
        last = nn.Linear(film_hidden[-1] if film_hidden else n_scalars, 2 * self.n_channels)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        self.film = nn.Sequential(*dense_stack(n_scalars, film_hidden, cnn["activation"]), last)

    def forward(self, image: torch.Tensor, highlevel: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs for each jet image and its scalars."""
        film = self.film(highlevel)[:, :, None, None]  # (B, 2 * channels of all blocks, 1, 1)
        x = image
        for index, layer in enumerate(self.features):  # integer slices only: torch.fx traces it (structured pruning)
            x = layer(x)
            if index in self.modulated:
                first, end = self.modulated[index]
                x = x * (1.0 + film[:, first:end]) + film[:, self.n_channels + first:self.n_channels + end]
        return self.head(x)


def build(spec: BuildSpec) -> CNN:
    """A CNN sized for images of shape `spec.dim` = (channels, H, W), a FiLMCNN when `film` names scalars."""
    if spec.hp["kernel_size"] % 2 == 0:
        raise spec.error("kernel_size", f"must be odd for 'same' padding, got {spec.hp['kernel_size']}")
    if min(pooled_size(spec.dim[1], spec.dim[2], len(spec.hp["channels"]))) < 1:
        raise spec.error("channels", f"{len(spec.hp['channels'])} 2x2 poolings do not fit images of {spec.dim[1:]}")
    hp = dict(spec.hp)
    film, film_hidden = hp.pop("film"), hp.pop("film_hidden")
    if film:
        return FiLMCNN(spec.dim, spec.n_outputs, len(film), film_hidden, **hp)
    return CNN(spec.dim, spec.n_outputs, **hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["cnn"], build)
