"""Particle-Transformer-style self-attention over particles (Qu, Li, Qian, arXiv:2202.03772), as in weaver-core."""

from __future__ import annotations

import math

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import ACTIVATIONS, classifier_head, dense_stack, masked_mean
from rootml.models.specs import FAMILY_SPECS

_MASKED = -1.0e9  # additive attention bias of padded keys: exp() underflows to exactly 0, never NaN
_EPS = 1.0e-8


class Attention(nn.Module):
    """Multi-head attention with an additive logit bias, written out as softmax(q k^T / sqrt(d) + bias) v.

    Not nn.MultiheadAttention nor F.scaled_dot_product_attention: with a dynamic particle axis the
    TorchScript ONNX exporter bakes the sequence length into MultiheadAttention's reshapes, and the
    dynamo exporter mis-strides SDPA's output under a per-head mask.
    """

    def __init__(self, dim: int, num_heads: int, dropout: float) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, dim)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """(B, L, D) -> (B, heads, L, D / heads)."""
        return x.unflatten(-1, (self.num_heads, -1)).transpose(1, 2)

    def forward(self, query: torch.Tensor, context: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Queries (B, Q, D) attend to context (B, K, D); bias broadcasts to (B, heads, Q, K)."""
        q, k, v = self._heads(self.query(query)), self._heads(self.key(context)), self._heads(self.value(context))
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale + bias, dim=-1)
        return self.out(torch.matmul(self.dropout(weights), v).transpose(1, 2).flatten(2))


class Block(nn.Module):
    """Pre-norm attention block: queries attend to a context (self- or class attention), then a feed-forward."""

    def __init__(self, dim: int, num_heads: int, ffn_ratio: int, dropout: float, activation: str) -> None:
        super().__init__()
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, dropout)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(
            nn.Linear(dim, dim * ffn_ratio), ACTIVATIONS[activation](), nn.Dropout(dropout),
            nn.Linear(dim * ffn_ratio, dim),
        )
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, bias: torch.Tensor, cls: torch.Tensor | None) -> torch.Tensor:
        """Update x (B, N, D) by self-attention, or the class token cls (B, 1, D) attending to [cls, x].

        bias: additive attention logits, (B, 1, 1, N) key padding (+ (B, heads, N, N) pair bias) for
        self-attention, (B, 1, 1, 1 + N) for class attention.
        """
        if cls is None:
            residual = x
            h = self.norm_attn(x)
            h = self.attn(h, h, bias)
        else:
            residual = cls
            context = self.norm_attn(torch.cat((cls, x), dim=1))
            h = self.attn(context[:, :1], context, bias)
        h = residual + self.dropout(h)
        return h + self.dropout(self.ffn(self.norm_ffn(h)))


def _rapidity_phi_pt(vectors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rapidity, azimuth and pT (each (B, N)) of 4-vectors (B, 4, N) = (px, py, pz, E).

    Written on tensors because scikit-hep `vector` has no torch backend; both E + pz and E - pz are
    clamped so padded (all-zero) and rounding-limited massless particles stay finite.
    """
    px, py, pz, energy = vectors.unbind(dim=1)
    rapidity = 0.5 * torch.log((energy + pz).clamp(min=1e-20) / (energy - pz).clamp(min=1e-20))
    pt = torch.sqrt(px.square() + py.square())
    # atan2(0, 0) is NaN once exported to ONNX: give zero-pT (padded) particles phi = 0 explicitly
    return rapidity, torch.atan2(py, torch.where(pt > 0, px, torch.ones_like(px))), pt


def pair_features(vectors: torch.Tensor) -> torch.Tensor:
    """ParT's pairwise features (B, 4, N, N): ln kT, ln z, ln dR and ln m^2 of every particle pair."""
    rapidity, phi, pt = _rapidity_phi_pt(vectors)
    dphi = torch.remainder(phi.unsqueeze(2) - phi.unsqueeze(1) + math.pi, 2 * math.pi) - math.pi
    delta = torch.sqrt((rapidity.unsqueeze(2) - rapidity.unsqueeze(1)).square() + dphi.square())
    pt_i, pt_j = pt.unsqueeze(2), pt.unsqueeze(1)
    pt_min = torch.minimum(pt_i, pt_j)
    summed = vectors.unsqueeze(3) + vectors.unsqueeze(2)  # (B, 4, N, N)
    mass2 = summed[:, 3].square() - summed[:, :3].square().sum(dim=1)
    return torch.stack((
        torch.log((pt_min * delta).clamp(min=_EPS)),
        torch.log((pt_min / (pt_i + pt_j).clamp(min=_EPS)).clamp(min=_EPS)),
        torch.log(delta.clamp(min=_EPS)),
        torch.log(mass2.clamp(min=_EPS)),
    ), dim=1)


class ParticleTransformer(nn.Module):
    """Transformer on `features` (B, C, N) with `mask` (B, 1, N); padded particles are masked keys."""

    input_keys: tuple[str, ...] = ("features", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, embed_dims: list[int], num_heads: int, num_layers: int,
        num_cls_layers: int, ffn_ratio: int, dropout: float, pooling: str, fc_params: list[int], activation: str,
    ) -> None:
        super().__init__()
        dim = embed_dims[-1]
        self.num_heads = num_heads
        self.embed = dense_stack(n_features, embed_dims, activation)
        self.blocks = nn.ModuleList(Block(dim, num_heads, ffn_ratio, dropout, activation) for _ in range(num_layers))
        if pooling == "cls":
            self.cls_token = nn.Parameter(nn.init.trunc_normal_(torch.zeros(1, 1, dim), std=0.02))
            self.cls_blocks = nn.ModuleList(
                Block(dim, num_heads, ffn_ratio, 0.0, activation) for _ in range(num_cls_layers))
        else:
            self.cls_token = None
        self.norm = nn.LayerNorm(dim)
        self.head = classifier_head(dim, fc_params, n_outputs, "relu", dropout)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs)."""
        return self.encode(features, mask, None)

    def encode(self, features: torch.Tensor, mask: torch.Tensor, pair_bias: torch.Tensor | None) -> torch.Tensor:
        """Embed, attend (adding an optional (B, heads, N, N) pair bias to the logits), pool and classify."""
        key_bias = ((1.0 - mask) * _MASKED).unsqueeze(1)  # (B, 1, 1, N)
        x = self.embed(features.transpose(1, 2)) * mask.transpose(1, 2)  # (B, N, D)
        for block in self.blocks:
            x = block(x, key_bias if pair_bias is None else key_bias + pair_bias, None)
        if self.cls_token is None:
            pooled = masked_mean(self.norm(x).transpose(1, 2), mask)
        else:
            cls = self.cls_token.expand(x.size(0), -1, -1)
            cls_bias = torch.cat((torch.zeros_like(key_bias[..., :1]), key_bias), dim=-1)  # the token itself is real
            for block in self.cls_blocks:
                cls = block(x, cls_bias, cls)
            pooled = self.norm(cls).squeeze(1)
        return self.head(pooled)


class PairParticleTransformer(ParticleTransformer):
    """ParticleTransformer whose self-attention logits get a learned per-head bias from pair features.

    Extra input `vectors` (B, 4, N) = (px, py, pz, E) in GeV, unnormalised, 0 for padded particles.
    """

    input_keys: tuple[str, ...] = ("features", "vectors", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, pair_embed_dims: list[int], activation: str, **kwargs: object,
    ) -> None:
        super().__init__(n_features, n_outputs, activation=activation, **kwargs)
        layers: list[nn.Module] = [nn.BatchNorm2d(4)]
        for c_in, width in zip([4, *pair_embed_dims[:-1]], pair_embed_dims):
            layers += [nn.Conv2d(c_in, width, 1), nn.BatchNorm2d(width), ACTIVATIONS[activation]()]
        self.pair_embed = nn.Sequential(*layers, nn.Conv2d(pair_embed_dims[-1], self.num_heads, 1))

    def forward(self, features: torch.Tensor, vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs)."""
        both_real = (mask.transpose(1, 2) * mask).unsqueeze(1) > 0  # (B, 1, N, N)
        # pairs with a padded particle are zeroed: their ln(eps) values stay out of the BatchNorm statistics
        pairs = pair_features(vectors).masked_fill(~both_real, 0.0)
        return self.encode(features, mask, self.pair_embed(pairs))


def build(spec: BuildSpec) -> ParticleTransformer:
    """A (pair-feature) Particle Transformer sized for `spec.dim` particle features."""
    hp = dict(spec.hp)
    if hp["embed_dims"][-1] % hp["num_heads"]:
        raise spec.error("num_heads", f"must divide the model width embed_dims[-1] = {hp['embed_dims'][-1]}")
    pair_embed_dims = hp.pop("pair_embed_dims")
    if hp.pop("pair_features"):
        return PairParticleTransformer(spec.dim, spec.n_outputs, pair_embed_dims, **hp)
    return ParticleTransformer(spec.dim, spec.n_outputs, **hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["transformer"], build)
