"""JEDI-net interaction network (Moreno et al., arXiv:1908.05318) on the fully connected particle graph."""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, classifier_head, dense_stack, masked_sum
from rootml.models.specs import FAMILY_SPECS


class InteractionNet(nn.Module):
    """phi_C(sum_i f_O(x_i, sum_{j != i} f_R(x_i, x_j))) over the real particles of `features` (B, C, N).

    Pairs are dense (B, N, N, .) tensors, so memory grows as N^2 times the widest f_R layer.
    """

    input_keys: tuple[str, ...] = ("features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, edge_sizes: list[int], node_sizes: list[int], fc_params: list[int],
        dropout: float, activation: str,
    ) -> None:
        super().__init__()
        # f_R's first layer W [x_i; x_j] + b is split into W_r x_i + W_s x_j + b: per-particle products,
        # broadcast over pairs, instead of building the (B, N, N, 2C) concatenation
        self.receiver = nn.Linear(n_features, edge_sizes[0])
        self.sender = nn.Linear(n_features, edge_sizes[0], bias=False)
        self.edge_rest = nn.Sequential(
            ACTIVATIONS[activation](), *dense_stack(edge_sizes[0], edge_sizes[1:], activation))
        self.node = dense_stack(n_features + edge_sizes[-1], node_sizes, activation)
        self.classifier = classifier_head(node_sizes[-1], fc_params, n_outputs, activation, dropout)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs); padded particles and self-pairs do not contribute."""
        x = features.transpose(1, 2)  # (B, N, C)
        edges = self.edge_rest(self.receiver(x).unsqueeze(2) + self.sender(x).unsqueeze(1))  # (B, N_r, N_s, D_e)
        n = x.size(1)
        arange = torch.arange(n, device=x.device)
        senders = mask * (arange.unsqueeze(0) != arange.unsqueeze(1)).to(x.dtype)  # (B, N, N)
        incoming = (edges * senders.unsqueeze(-1)).sum(dim=2)  # (B, N_r, D_e)
        nodes = self.node(torch.cat((x, incoming), dim=-1)).transpose(1, 2)  # (B, D_o, N)
        return self.classifier(masked_sum(nodes, mask))


def build(spec: BuildSpec) -> InteractionNet:
    """An interaction network sized for `spec.dim` particle features."""
    return InteractionNet(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["interaction_net"], build)
