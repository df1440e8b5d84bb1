"""Torch layers shared by the model families: activations, dense stacks and heads, masked pooling over particles."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from rootml.models.hparams import ACTIVATION_MODULES

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    name: getattr(nn, module) for name, module in ACTIVATION_MODULES.items()
}


def dense_stack(
    in_dim: int, widths: Sequence[int], activation: str, dropout: float = 0.0, batchnorm: bool = False,
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] for each width (acts on the last axis)."""
    layers: list[nn.Module] = []
    for width in widths:
        layers.append(nn.Linear(in_dim, width))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = width
    return nn.Sequential(*layers)


def classifier_head(
    in_dim: int, widths: Sequence[int], n_outputs: int, activation: str, dropout: float, batchnorm: bool = False,
) -> nn.Sequential:
    """Dense hidden layers then a linear layer to `n_outputs` (logits or regression values)."""
    hidden = dense_stack(in_dim, widths, activation, dropout, batchnorm)
    return nn.Sequential(*hidden, nn.Linear(widths[-1] if widths else in_dim, n_outputs))


def masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum over particles of x (B, C, N) keeping only real ones (mask (B, 1, N)) -> (B, C)."""
    return (x * mask).sum(dim=-1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real particles of x (B, C, N) -> (B, C); empty jets give 0."""
    return masked_sum(x, mask) / mask.sum(dim=-1).clamp(min=1.0)


def masked_max(x: torch.Tensor, valid: torch.Tensor, dim: int) -> torch.Tensor:
    """Max of x over `dim` where valid > 0 (broadcast against x); 0 where nothing is valid."""
    filled = x.masked_fill(valid <= 0, float("-inf")).amax(dim=dim)
    return torch.where(torch.isfinite(filled), filled, torch.zeros_like(filled))
