"""GarNet (Iiyama et al., arXiv:2008.03601, "Distance-weighted graph neural networks on FPGAs"), layer for layer
hls4ml's contrib Keras GarNet / GarNetStack with input_format 'xn' and mean_by_nvert, so that the trained weights map
one to one onto hls4ml's GarNet layer (rootml.firmware.garnet).

Each layer: per element learned features F_LR (input_transform, hls4ml's FLR) and a learned distance to each of a few
aggregators (aggregator_distance, S), edge weights exp(-d^2) (hls4ml's Keras layer and its C++ lookup table: the
square, where the paper's text writes exp(-|d|)), the weighted features averaged over the real elements onto the
aggregators, sent back with the same weights and mapped by output_transform (Fout). The simplified variant (hls4ml's,
the only one it converts) stops there; the full variant also passes the edge weights, takes the max as well as the
mean, and concatenates the layer's input, as the Keras layer's call does (its max over the real elements only, so that
padding never matters). The layers' outputs at padded elements are zero; the last layer's are averaged over the real
elements (hls4ml's collapse 'mean') and passed to a dense head.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head, masked_max
from rootml.models.specs import FAMILY_SPECS


class GarNetLayer(nn.Module):
    """One GarNet layer on elements x (B, V, C) with mask (B, V, 1) and real-element counts (B, 1, 1)."""

    def __init__(
        self, in_channels: int, n_aggregators: int, n_propagate: int, n_filters: int, simplified: bool,
        output_activation: str,
    ) -> None:
        super().__init__()
        self.simplified = simplified
        self.input_transform = nn.Linear(in_channels, n_propagate)
        self.aggregator_distance = nn.Linear(in_channels, n_aggregators)
        sent = n_propagate if simplified else 2 * (n_propagate + n_aggregators)  # max and mean of (F_LR, weights)
        width = n_aggregators * sent + (0 if simplified else in_channels + n_aggregators)
        self.output_transform = nn.Linear(width, n_filters)
        self.activation = nn.Tanh() if output_activation == "tanh" else nn.Identity()

    def forward(self, x: torch.Tensor, mask: torch.Tensor, n_vertex: torch.Tensor) -> torch.Tensor:
        """The layer's outputs (B, V, n_filters), zero at padded elements."""
        features = self.input_transform(x)  # (B, V, P)
        weights = mask * torch.exp(-self.aggregator_distance(x).square())  # (B, V, A)
        if not self.simplified:
            features = torch.cat((mask * features, weights), dim=-1)
        aggregated = torch.matmul(weights.transpose(1, 2), features) / n_vertex  # (B, A, P): mean_by_nvert
        if not self.simplified:
            edges = weights.unsqueeze(-1) * features.unsqueeze(2)  # (B, V, A, P)
            aggregated = torch.cat((masked_max(edges, mask.unsqueeze(-1), dim=1), aggregated), dim=-1)
        updated = (weights.unsqueeze(-1) * aggregated.unsqueeze(1)).flatten(2)  # (B, V, A * P), aggregator-major
        if not self.simplified:
            updated = torch.cat((x, updated, weights), dim=-1)
        return mask * self.activation(self.output_transform(updated))


class GarNet(nn.Module):
    """A GarNetStack on `features` (B, C, N) with `mask` (B, 1, N), the mean over the real elements, a dense head."""

    input_keys: tuple[str, ...] = ("features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, n_aggregators: list[int], n_propagate: list[int], n_filters: list[int],
        simplified: bool, output_activation: str, fc_params: list[int], dropout: float, activation: str,
    ) -> None:
        super().__init__()
        in_channels = [n_features, *n_filters[:-1]]
        self.layers = nn.ModuleList(
            GarNetLayer(c_in, a, p, f, simplified, output_activation)
            for c_in, a, p, f in zip(in_channels, n_aggregators, n_propagate, n_filters))
        self.head = classifier_head(n_filters[-1], fc_params, n_outputs, activation, dropout)

    def stack(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The GarNetStack's collapsed output (B, n_filters[-1]): its last layer averaged over the real elements."""
        x = features.transpose(1, 2)  # (B, V, C), hls4ml's layout
        vertex_mask = mask.transpose(1, 2)  # (B, V, 1)
        n_vertex = vertex_mask.sum(dim=1, keepdim=True).clamp(min=1.0)  # (B, 1, 1)
        for layer in self.layers:
            x = layer(x, vertex_mask, n_vertex)
        return x.sum(dim=1) / n_vertex.squeeze(-1)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs); padded elements do not contribute."""
        return self.head(self.stack(features, mask))


def build(spec: BuildSpec) -> GarNet:
    """A GarNet sized for `spec.dim` element features; the three per-layer lists must be equally long."""
    lengths = {name: len(spec.hp[name]) for name in ("n_aggregators", "n_propagate", "n_filters")}
    if len(set(lengths.values())) > 1:
        raise spec.error("n_filters", f"n_aggregators, n_propagate and n_filters give one entry per layer and must be "
                                      f"equally long, got lengths {lengths}")
    return GarNet(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["garnet"], build)
