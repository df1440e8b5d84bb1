"""Convolutional network on jet images."""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, classifier_head
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


def build(spec: BuildSpec) -> CNN:
    """A CNN sized for images of shape `spec.dim` = (channels, H, W)."""
    if spec.hp["kernel_size"] % 2 == 0:
        raise spec.error("kernel_size", f"must be odd for 'same' padding, got {spec.hp['kernel_size']}")
    if min(pooled_size(spec.dim[1], spec.dim[2], len(spec.hp["channels"]))) < 1:
        raise spec.error("channels", f"{len(spec.hp['channels'])} 2x2 poolings do not fit images of {spec.dim[1:]}")
    return CNN(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["cnn"], build)
