"""GravNet (Qasim, Kieseler, Iiyama, Pierini, arXiv:1902.07987): kNN in a learned coordinate space, neighbours weighted
by their distance there, as in the authors' caloGraphNN.layer_GravNet.

Each block concatenates every element with the mean over its jet (the paper's global exchange), applies tanh dense
layers, then a GravNet layer: learned coordinates S and features F_LR per element, the k nearest other real elements
in S, their F_LR weighted by exp(-10 d^2) (d^2 the squared distance in S), max and mean over the neighbours,
concatenated with the layer's input and mapped by a tanh dense layer. The outputs of all blocks are concatenated,
pooled by a masked mean and max over the real elements, and classified. The real elements are packed into one matrix
(rootml.models.particlenet.Packing), so padded slots are never computed. The paper's batch norm after each block is
left out: the model is sized for jets of tens of particles, where the tanh layers keep the scales bounded.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head, dense_stack, masked_max, masked_mean
from rootml.models.particlenet import Packing, knn
from rootml.models.specs import FAMILY_SPECS

DISTANCE_SCALE = 10.0  # caloGraphNN: "input is tanh activated or batch normed, allow for some more spread"


class GravNetLayer(nn.Module):
    """One GravNet layer on the packed real elements: neighbours in the learned space S, exp(-10 d^2) weights."""

    def __init__(self, in_channels: int, space_dims: int, propagate_dims: int, filters: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.space = nn.Linear(in_channels, space_dims)
        self.propagate = nn.Linear(in_channels, propagate_dims)
        self.output = nn.Sequential(nn.Linear(in_channels + 2 * propagate_dims, filters), nn.Tanh())

    def forward(self, x: torch.Tensor, packing: Packing) -> torch.Tensor:
        """New features (R, filters) of the packed real elements x (R, C)."""
        coords = self.space(x)  # (R, S)
        neighbours, valid = packing.edges(*knn(packing.unpack(coords), packing.mask, self.k))  # (R, k), (R, k, 1)
        squared = (coords[neighbours] - coords.unsqueeze(1)).square().sum(dim=-1, keepdim=True)  # (R, k, 1)
        weighted = self.propagate(x)[neighbours] * torch.exp(-DISTANCE_SCALE * squared) * valid  # (R, k, P)
        mean = weighted.sum(dim=1) / valid.sum(dim=1).clamp(min=1.0)
        return self.output(torch.cat((x, masked_max(weighted, valid, dim=1), mean), dim=1))


class GravNet(nn.Module):
    """GravNet blocks on `features` (B, C, N) with `mask` (B, 1, N), masked mean and max pooling, dense head."""

    input_keys: tuple[str, ...] = ("features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, dense_sizes: list[int], filters: list[int], space_dims: int,
        propagate_dims: int, k: int, fc_params: list[int], dropout: float,
    ) -> None:
        super().__init__()
        in_channels = [n_features, *filters[:-1]]
        self.dense = nn.ModuleList(dense_stack(2 * c_in, dense_sizes, "tanh") for c_in in in_channels)
        self.layers = nn.ModuleList(
            GravNetLayer(dense_sizes[-1], space_dims, propagate_dims, width, k) for width in filters)
        self.head = classifier_head(2 * sum(filters), fc_params, n_outputs, "relu", dropout)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs); padded elements do not contribute."""
        packing = Packing(mask)
        x = packing.pack(features)
        jets = packing.slots // packing.n  # the jet of each packed element
        outputs = []
        for dense, layer in zip(self.dense, self.layers):
            jet_mean = masked_mean(packing.unpack(x), mask)[jets]  # (R, C): the global exchange
            x = layer(dense(torch.cat((x, jet_mean), dim=1)), packing)
            outputs.append(x)
        latent = packing.unpack(torch.cat(outputs, dim=1))  # (B, L, N), zeros in the padded slots
        return self.head(torch.cat((masked_mean(latent, mask), masked_max(latent, mask, dim=-1)), dim=1))


def build(spec: BuildSpec) -> GravNet:
    """A GravNet sized for `spec.dim` element features."""
    return GravNet(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["gravnet"], build)
