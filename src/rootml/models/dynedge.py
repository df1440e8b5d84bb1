"""DynEdge (IceCube, GraphNeT, arXiv:2209.03042; graphnet.models.gnn.dynedge): EdgeConv layers on a kNN graph rebuilt
after each layer, skip connections, post-processing MLP, min/max/sum/mean pooling, readout MLP.

The first layer's graph is built on the set's coordinates (input `points`), each next one's in the previous layer's
output space (GraphNeT rebuilds it on the first three output features; here on all of them, as ParticleNet does). Each
EdgeConv is an MLP on (x_i, x_j - x_i) summed over the neighbours (GraphNeT's aggr='add'), on the real elements packed
into one matrix with ParticleNet's Packing and first edge layer (rootml.models.particlenet).
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, classifier_head, dense_stack, masked_max, masked_mean, masked_sum
from rootml.models.particlenet import EdgeLinear, Packing, knn
from rootml.models.specs import FAMILY_SPECS


class DynEdgeConv(nn.Module):
    """EdgeConv with summed messages: MLP(x_i, x_j - x_i) over the k nearest real neighbours."""

    def __init__(self, k: int, in_channels: int, widths: list[int], activation: str) -> None:
        super().__init__()
        self.k = k
        self.first = EdgeLinear(2 * in_channels, widths[0])
        self.rest = nn.Sequential(ACTIVATIONS[activation](), *dense_stack(widths[0], widths[1:], activation))

    def forward(self, coords: torch.Tensor, x: torch.Tensor, packing: Packing) -> torch.Tensor:
        """New features (R, widths[-1]) of the packed real elements x (R, C); the graph is built on coords (B, D, N)."""
        neighbours, valid = packing.edges(*knn(coords, packing.mask, self.k))
        return (self.rest(self.first(x, neighbours)) * valid).sum(dim=1)


class DynEdge(nn.Module):
    """DynEdge on `points` (B, D, N), `features` (B, C, N) and `mask` (B, 1, N)."""

    input_keys: tuple[str, ...] = ("points", "features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, k: int, conv_params: list[list[int]], post_sizes: list[int],
        readout_sizes: list[int], dropout: float, activation: str,
    ) -> None:
        super().__init__()
        in_channels = [n_features] + [widths[-1] for widths in conv_params[:-1]]
        self.convs = nn.ModuleList(
            DynEdgeConv(k, c_in, widths, activation) for c_in, widths in zip(in_channels, conv_params))
        skip = n_features + sum(widths[-1] for widths in conv_params)
        # GraphNeT's post-processing ends on a linear layer; the activation comes after the pooling
        self.post = nn.Sequential(*dense_stack(skip, post_sizes[:-1], activation),
                                  nn.Linear(([skip] + post_sizes)[-2], post_sizes[-1]))
        self.readout = nn.Sequential(ACTIVATIONS[activation](),
                                     *classifier_head(4 * post_sizes[-1], readout_sizes, n_outputs, activation,
                                                      dropout))

    def forward(self, points: torch.Tensor, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs); padded elements never contribute."""
        packing = Packing(mask)
        x = packing.pack(features)
        skips = [x]
        coords = points
        for index, conv in enumerate(self.convs):
            x = conv(coords, x, packing)
            skips.append(x)
            if index + 1 < len(self.convs):
                coords = packing.unpack(x)
        latent = packing.unpack(self.post(torch.cat(skips, dim=1)))  # (B, L, N), zeros in the padded slots
        minimum = -masked_max(-latent, mask, dim=-1)
        pooled = (minimum, masked_max(latent, mask, dim=-1), masked_sum(latent, mask), masked_mean(latent, mask))
        return self.readout(torch.cat(pooled, dim=1))


def build(spec: BuildSpec) -> DynEdge:
    """A DynEdge sized for `spec.dim` element features."""
    return DynEdge(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["dynedge"], build)
