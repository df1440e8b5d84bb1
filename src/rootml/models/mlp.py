"""Fully connected network on the high-level jet features."""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.common import (
    BuildSpec, ModelFamily, activation_param, boolean, classifier_head, int_list, number,
)

HPARAMS = {
    "hidden": int_list([64, 64, 64], "widths of the hidden layers"),
    "dropout": number(0.1, "dropout after each hidden layer", maximum=0.9),
    "batchnorm": boolean(False, "BatchNorm1d after each hidden linear layer"),
    "activation": activation_param(),
}


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


FAMILY = ModelFamily("mlp", HPARAMS, lambda hp: "highlevel", build)
