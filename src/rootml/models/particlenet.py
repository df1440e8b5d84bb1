"""ParticleNet (Qu, Gouskos, arXiv:1902.08570): EdgeConv blocks on a dynamic kNN graph, as in weaver-core."""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.common import (
    BuildSpec, ModelFamily, boolean, classifier_head, int_list, int_lists, integer, masked_mean, number,
)

HPARAMS = {
    "k": integer(7, "neighbours per particle in every EdgeConv block"),
    "conv_params": int_lists([[32, 32, 32], [64, 64, 64]], "channels of the layers of each EdgeConv block"),
    "fc_params": int_list([128], "widths of the dense layers after pooling", min_items=0),
    "dropout": number(0.1, "dropout in the dense layers", maximum=0.9),
    "use_fusion": boolean(True, "concatenate all EdgeConv outputs and mix them (1x1 conv) before pooling"),
}


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


def neighbour_features(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Edge features (B, 2C, N, k) = (x_i, x_j - x_i) from x (B, C, N), gathered via flat index arithmetic."""
    batch, channels, n = x.shape
    k = index.size(-1)
    flat = (index + torch.arange(batch, device=x.device).view(-1, 1, 1) * n).reshape(-1)
    # channel-major gather (weaver's get_graph_feature_v2): one index_select, the faster layout on CPU
    neighbours = x.transpose(0, 1).reshape(channels, -1)[:, flat].view(channels, batch, n, k).transpose(0, 1)
    centre = x.unsqueeze(-1).expand(-1, -1, -1, k)
    return torch.cat((centre, neighbours - centre), dim=1)


class EdgeConvBlock(nn.Module):
    """EdgeConv: an MLP (1x1 conv2d + BN + ReLU) on (x_i, x_j - x_i), masked mean over neighbours, shortcut."""

    def __init__(self, k: int, in_channels: int, channels: list[int]) -> None:
        super().__init__()
        self.k = k
        layers: list[nn.Module] = []
        for c_in, width in zip([2 * in_channels, *channels[:-1]], channels):
            layers += [nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        self.edge_mlp = nn.Sequential(*layers)
        self.shortcut = nn.Identity() if in_channels == channels[-1] else nn.Sequential(
            nn.Conv1d(in_channels, channels[-1], 1, bias=False), nn.BatchNorm1d(channels[-1]))
        self.activation = nn.ReLU()

    def forward(self, coords: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """New features (B, C_out, N) of the real particles (0 for padded ones)."""
        index, valid = knn(coords, mask, self.k)
        edges = self.edge_mlp(neighbour_features(x, index))  # (B, C_out, N, k)
        aggregated = (edges * valid).sum(dim=-1) / valid.sum(dim=-1).clamp(min=1.0)
        return self.activation(self.shortcut(x) + aggregated) * mask


class ParticleNet(nn.Module):
    """ParticleNet on `points` (B, 2, N) = (deta, dphi), `features` (B, C, N) and `mask` (B, 1, N).

    The first block's graph uses the points, later blocks use the previous block's features. Padded
    particles are never neighbours, and the output depends on the real particles only (in eval mode).
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
            self.fusion = nn.Sequential(nn.Conv1d(fused, out, 1, bias=False), nn.BatchNorm1d(out), nn.ReLU())
        else:
            self.fusion = None
            out = conv_params[-1][-1]
        self.head = classifier_head(out, fc_params, n_outputs, "relu", dropout)

    def forward(self, points: torch.Tensor, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs)."""
        x = features * mask
        coords = points
        outputs = []
        for conv in self.edge_convs:
            x = conv(coords, x, mask)
            coords = x
            outputs.append(x)
        if self.fusion is not None:
            x = self.fusion(torch.cat(outputs, dim=1)) * mask
        return self.head(masked_mean(x, mask))


def build(spec: BuildSpec) -> ParticleNet:
    """A ParticleNet sized for `spec.dim` particle features."""
    return ParticleNet(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily("particlenet", HPARAMS, lambda hp: "features", build)
