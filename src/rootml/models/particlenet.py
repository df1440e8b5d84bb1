"""ParticleNet (Qu, Gouskos, arXiv:1902.08570): EdgeConv blocks on a dynamic kNN graph, as in weaver-core.

Only real particles are computed. weaver runs every layer on all B*N*k slots of the padded clouds; here the
real particles of a batch are packed into one (R, C) matrix and each EdgeConv acts on their R*k edges, with
the same layers (1x1 convolutions = linear maps, batch norms, ReLU) applied as matrix products. This cuts the
work by the padding fraction (often a third to a half), keeps BatchNorm statistics free of padding, and makes
the output independent of padding in training mode as well as in eval mode.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head, masked_mean
from rootml.models.specs import FAMILY_SPECS


def knn(coords: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (B, N, k) of each particle's k nearest real neighbours in `coords` (B, D, N), and their validity.

    Padded particles and the particle itself are at infinite distance; k extra infinite columns keep
    topk defined when a jet has fewer than k + 1 particles. Neighbours at infinity are marked invalid
    (validity (B, 1, N, k), 1 = real neighbour) and their indices are clamped into range.
    """
    n = coords.size(-1)
    squared = coords.square().sum(dim=1, keepdim=True)  # (B, 1, N)
    distance = squared.transpose(1, 2) + squared - 2 * torch.matmul(coords.transpose(1, 2), coords)
    arange = torch.arange(n, device=coords.device)
    pair_ok = (mask.transpose(1, 2) * mask > 0) & (arange.unsqueeze(0) != arange.unsqueeze(1))
    distance = distance.masked_fill(~pair_ok, float("inf"))
    distance = nn.functional.pad(distance, (0, k), value=float("inf"))
    nearest, index = distance.topk(k, dim=-1, largest=False)
    valid = torch.isfinite(nearest).unsqueeze(1).to(coords.dtype)
    return index.clamp(max=n - 1), valid


class Packing:
    """The real particles of a padded batch (mask (B, 1, N)) as rows of one (R, C) matrix, and back."""

    def __init__(self, mask: torch.Tensor) -> None:
        """Index the real slots of `mask` in (jet, particle) order."""
        self.mask = mask
        self.batch, _, self.n = mask.shape
        self.real = mask.reshape(-1) > 0  # (B*N,)
        self.slots = self.real.nonzero().squeeze(1)  # (R,) flat slot of every real particle
        self.row = torch.cumsum(self.real.long(), dim=0) - 1  # packed row of every real slot

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, N) -> (R, C): the real particles' channels."""
        rows = x.transpose(1, 2).reshape(-1, x.size(1))[self.slots]
        if torch.compiler.is_exporting():
            torch._check(rows.size(0) > 0)  # lets torch.export (ONNX dynamo) size BatchNorm on the data-dependent R
        return rows

    def unpack(self, rows: torch.Tensor) -> torch.Tensor:
        """(R, C) -> (B, C, N) with zeros in the padded slots."""
        dense = rows.new_zeros(self.batch * self.n, rows.size(1)).index_put((self.slots,), rows)
        return dense.view(self.batch, self.n, -1).transpose(1, 2)

    def edges(self, index: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Packed neighbour rows (R, k) and validity (R, k, 1) of the real particles, from knn's (B, N, k)."""
        k = index.size(-1)
        offsets = torch.arange(self.batch, device=index.device).view(-1, 1, 1) * self.n
        rows = self.row[(index + offsets).reshape(-1)].view(-1, k)[self.slots]
        return rows, valid.reshape(-1, k, 1)[self.slots]


class EdgeLinear(nn.Linear):
    """The first edge layer, W (x_i, x_j - x_i), evaluated per particle before the gather.

    W_c x_i + W_d (x_j - x_i) = (W_c - W_d) x_i + W_d x_j: the products are taken on the R particles, then
    gathered for their R*k edges (k times fewer products, no edge tensor). It reads its weight inside its own
    forward, so forward pre-hooks such as torch.nn.utils.prune's masks apply.
    """

    def forward(self, x: torch.Tensor, neighbours: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        """Edge features (R, k, C_out) of the packed particles x (R, C_in) and their neighbour indices (R, k)."""
        w_centre, w_diff = self.weight.split(x.size(1), dim=1)
        return nn.functional.linear(x, w_centre - w_diff).unsqueeze(1) + nn.functional.linear(x, w_diff)[neighbours]


class EdgeConvBlock(nn.Module):
    """EdgeConv: an MLP (linear + BN + ReLU) on (x_i, x_j - x_i), mean over the real neighbours, shortcut."""

    def __init__(self, k: int, in_channels: int, channels: list[int]) -> None:
        super().__init__()
        self.k = k
        layers: list[nn.Module] = []
        for c_in, width in zip([2 * in_channels, *channels[:-1]], channels):
            linear = EdgeLinear if not layers else nn.Linear
            layers += [linear(c_in, width, bias=False), nn.BatchNorm1d(width), nn.ReLU()]
        self.edge_mlp = nn.Sequential(*layers)
        self.shortcut = nn.Identity() if in_channels == channels[-1] else nn.Sequential(
            nn.Linear(in_channels, channels[-1], bias=False), nn.BatchNorm1d(channels[-1]))
        self.activation = nn.ReLU()

    def forward(self, coords: torch.Tensor, x: torch.Tensor, packing: Packing) -> torch.Tensor:
        """New features (R, C_out) of the packed real particles x (R, C); the graph is built on coords (B, D, N)."""
        neighbours, valid = packing.edges(*knn(coords, packing.mask, self.k))
        first = self.edge_mlp[0](x, neighbours)
        messages = self.edge_mlp[1:](first.flatten(0, 1)).unflatten(0, (x.size(0), self.k))
        aggregated = (messages * valid).sum(dim=1) / valid.sum(dim=1).clamp(min=1.0)
        return self.activation(self.shortcut(x) + aggregated)


class ParticleNet(nn.Module):
    """ParticleNet on `points` (B, D, N), `features` (B, C, N) and `mask` (B, 1, N).

    points are the set's configured coordinates (features.sets.<set>.coordinates: (deta, dphi) for jet constituents,
    (x, y, z) for hits, any D). The first block's graph uses the points, later blocks use the previous block's
    features. Padded
    particles are never neighbours, never computed, and the output depends on the real particles only.
    """

    input_keys: tuple[str, ...] = ("points", "features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, k: int, conv_params: list[list[int]], fc_params: list[int],
        dropout: float, use_fusion: bool,
    ) -> None:
        super().__init__()
        in_channels = [n_features] + [block[-1] for block in conv_params[:-1]]
        self.edge_convs = nn.ModuleList(
            EdgeConvBlock(k, c_in, block) for c_in, block in zip(in_channels, conv_params)
        )
        if use_fusion:
            fused = sum(block[-1] for block in conv_params)
            out = min(max(fused // 128 * 128, 128), 1024)  # weaver's fusion width
            self.fusion = nn.Sequential(nn.Linear(fused, out, bias=False), nn.BatchNorm1d(out), nn.ReLU())
        else:
            self.fusion = None
            out = conv_params[-1][-1]
        self.head = classifier_head(out, fc_params, n_outputs, "relu", dropout)

    def forward(self, points: torch.Tensor, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs)."""
        packing = Packing(mask)
        x = packing.pack(features)
        coords = points
        outputs = []
        for index, conv in enumerate(self.edge_convs):
            x = conv(coords, x, packing)
            outputs.append(x)
            if index + 1 < len(self.edge_convs):
                coords = packing.unpack(x)
        if self.fusion is not None:
            x = self.fusion(torch.cat(outputs, dim=1))
        return self.head(masked_mean(packing.unpack(x), mask))


def build(spec: BuildSpec) -> ParticleNet:
    """A ParticleNet sized for `spec.dim` particle features."""
    return ParticleNet(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["particlenet"], build)
