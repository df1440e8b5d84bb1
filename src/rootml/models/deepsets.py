"""Deep Sets / Particle Flow Network (Komiske, Metodiev, Thaler, arXiv:1810.05165) on particle clouds."""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head, dense_stack, masked_mean, masked_sum
from rootml.models.specs import FAMILY_SPECS


class DeepSets(nn.Module):
    """F(pool_i Phi(x_i)) over the real particles of `features` (B, C, N) with `mask` (B, 1, N)."""

    input_keys: tuple[str, ...] = ("features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, phi_sizes: list[int], f_sizes: list[int], pooling: str,
        dropout: float, activation: str,
    ) -> None:
        super().__init__()
        self.phi = dense_stack(n_features, phi_sizes, activation)
        self.pool = masked_sum if pooling == "sum" else masked_mean
        self.f = classifier_head(phi_sizes[-1], f_sizes, n_outputs, activation, dropout)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs); padded particles do not contribute."""
        latent = self.phi(features.transpose(1, 2)).transpose(1, 2)  # (B, L, N)
        return self.f(self.pool(latent, mask))


def build(spec: BuildSpec) -> DeepSets:
    """A Particle Flow Network sized for `spec.dim` particle features."""
    return DeepSets(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["deepsets"], build)
