"""Fully connected network on the high-level jet features."""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head
from rootml.models.specs import FAMILY_SPECS


class MLP(nn.Module):
    """Dense layers on `highlevel` (B, F) -> (B, n_outputs)."""

    input_keys: tuple[str, ...] = ("highlevel",)

    def __init__(
        self, n_features: int, n_outputs: int, hidden: list[int], dropout: float, batchnorm: bool, activation: str,
    ) -> None:
        super().__init__()
        self.net = classifier_head(n_features, hidden, n_outputs, activation, dropout, batchnorm)

    def forward(self, highlevel: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs for each jet."""
        return self.net(highlevel)


def build(spec: BuildSpec) -> MLP:
    """An MLP sized for `spec.dim` high-level features."""
    return MLP(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["mlp"], build)
