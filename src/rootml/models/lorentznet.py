"""LorentzNet (Gong et al., arXiv:2201.08187): Lorentz group equivariant blocks on the particles' four-momenta.

Follows the authors' code (github.com/sdogsq/LorentzNet-release): every pair of real particles of a jet is an edge
(no self-loops), the edge messages read the node embeddings and the Minkowski norm of the momentum difference and
inner product of the two momenta (normalised with psi), and each block updates the momenta by a weighted mean of the
differences (equivariant) and the embeddings by the summed messages (invariant). As in that code, the graph is a
flat list of the real particles and of their pairs, so padded slots never enter a message, a BatchNorm statistic or
the pooling. The beam particles the authors add for top tagging are left out: they are fixed vectors along z, which
a boost along z of the jet's particles alone would not move, and the model is to be invariant under any boost.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head, masked_mean
from rootml.models.specs import FAMILY_SPECS

_TRANSLATION_CLAMP = 100.0  # per-edge bound on a momentum update, as in the authors' code (from EGNN)
_X_INIT_GAIN = 1.0e-3  # xavier gain of the last layer of phi_x: momentum updates start near zero (authors' code)


def minkowski_dot(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Minkowski inner product E_p E_q - p_p . p_q of four-vectors (..., 4) = (px, py, pz, E) -> (...)."""
    return p[..., 3] * q[..., 3] - (p[..., :3] * q[..., :3]).sum(dim=-1)


def psi(x: torch.Tensor) -> torch.Tensor:
    """The paper's normalisation psi(x) = sgn(x) log(|x| + 1) of the Minkowski products."""
    return torch.sign(x) * torch.log1p(torch.abs(x))


def scatter_sum(values: torch.Tensor, index: torch.Tensor, n: int) -> torch.Tensor:
    """Sum of the rows of `values` (E, C) with the same `index` (E,) -> (n, C) (index_add: no torch_scatter)."""
    return values.new_zeros(n, values.size(1)).index_add(0, index, values)


class LGEB(nn.Module):
    """Lorentz group equivariant block: edge messages m_ij from (h_i, h_j, psi(|x_i - x_j|^2), psi(<x_i, x_j>)),
    x_i += c_weight * mean_j (x_i - x_j) phi_x(m_ij) (not in the last block), h_i += phi_h(h_i, sum_j m_ij, s_i)."""

    def __init__(self, n_hidden: int, n_scalars: int, c_weight: float, last: bool) -> None:
        super().__init__()
        self.c_weight = c_weight
        self.phi_e = nn.Sequential(
            nn.Linear(2 * n_hidden + 2, n_hidden, bias=False), nn.BatchNorm1d(n_hidden), nn.ReLU(),
            nn.Linear(n_hidden, n_hidden), nn.ReLU())
        self.phi_m = nn.Sequential(nn.Linear(n_hidden, 1), nn.Sigmoid())
        self.phi_h = nn.Sequential(
            nn.Linear(2 * n_hidden + n_scalars, n_hidden), nn.BatchNorm1d(n_hidden), nn.ReLU(),
            nn.Linear(n_hidden, n_hidden))
        self.phi_x: nn.Module | None = None
        if not last:
            weight = nn.Linear(n_hidden, 1, bias=False)
            nn.init.xavier_uniform_(weight.weight, gain=_X_INIT_GAIN)
            self.phi_x = nn.Sequential(nn.Linear(n_hidden, n_hidden), nn.ReLU(), weight)

    def _first_edge_layer(self, h: torch.Tensor, invariants: torch.Tensor, i: torch.Tensor,
                          j: torch.Tensor) -> torch.Tensor:
        """phi_e's first Linear on the concatenation (h_i, h_j, invariants) of every edge, as the sum of its blocks:
        W_r h and W_s h per node, gathered, plus W_inv invariants; the same numbers without the (E, 2H + 2) tensor of
        the concatenation (E = N(N - 1) edges per jet)."""
        weight = self.phi_e[0].weight  # (H, 2H + 2), no bias
        n_hidden = h.size(1)
        receiver = h @ weight[:, :n_hidden].t()
        sender = h @ weight[:, n_hidden:2 * n_hidden].t()
        return receiver[i] + sender[j] + invariants @ weight[:, 2 * n_hidden:].t()

    def forward(
        self, h: torch.Tensor, x: torch.Tensor, scalars: torch.Tensor, edges: tuple[torch.Tensor, torch.Tensor],
        degree: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Updated (h (V, H), x (V, 4)) of the V real particles; edges (receivers, senders), degree (V, 1)."""
        i, j = edges
        x_diff = x[i] - x[j]
        invariants = torch.stack((psi(minkowski_dot(x_diff, x_diff)), psi(minkowski_dot(x[i], x[j]))), dim=1)
        m = self.phi_e[1:](self._first_edge_layer(h, invariants, i, j))
        m = m * self.phi_m(m)
        if self.phi_x is not None:
            shift = (x_diff * self.phi_x(m)).clamp(-_TRANSLATION_CLAMP, _TRANSLATION_CLAMP)
            x = x + self.c_weight * scatter_sum(shift, i, x.size(0)) / degree
        h = h + self.phi_h(torch.cat((h, scatter_sum(m, i, h.size(0)), scalars), dim=1))
        return h, x


class LorentzNet(nn.Module):
    """LGEBs on `vectors` (B, 4, N) = (px, py, pz, E) in GeV with node scalars `features` (B, C, N), `mask`
    (B, 1, N); mean over the real particles, then a decoder -> (B, n_outputs)."""

    input_keys: tuple[str, ...] = ("features", "vectors", "mask")

    def __init__(
        self, n_features: int, n_outputs: int, n_hidden: int, n_layers: int, c_weight: float, dropout: float,
        momentum_scale: float,
    ) -> None:
        super().__init__()
        self.momentum_scale = momentum_scale
        self.embedding = nn.Linear(n_features, n_hidden)
        self.blocks = nn.ModuleList(
            LGEB(n_hidden, n_features, c_weight, last=index == n_layers - 1) for index in range(n_layers))
        self.decoder = classifier_head(n_hidden, [n_hidden], n_outputs, "relu", dropout)

    def forward(self, features: torch.Tensor, vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits or regression outputs (B, n_outputs); padded particles never contribute."""
        batch, n_slots = mask.size(0), mask.size(-1)
        real = mask.reshape(-1) > 0  # (B * N,) slot by slot, jet by jet
        nodes = real.nonzero().squeeze(1)
        position = torch.cumsum(real.long(), dim=0) - 1  # a real slot's row among the real particles
        pairs = (mask.transpose(1, 2) * mask > 0) & ~torch.eye(n_slots, dtype=torch.bool, device=mask.device)
        jet, receiver, sender = pairs.nonzero().unbind(dim=1)
        edges = (position[jet * n_slots + receiver], position[jet * n_slots + sender])
        degree = (mask.sum(dim=-1) - 1.0).clamp(min=1.0).expand(-1, n_slots).reshape(-1)[nodes].unsqueeze(1)
        scalars = features.transpose(1, 2).reshape(-1, features.size(1))[nodes]
        x = vectors.transpose(1, 2).reshape(-1, 4)[nodes] / self.momentum_scale
        h = self.embedding(scalars)
        for block in self.blocks:
            h, x = block(h, x, scalars, edges, degree)
        slots = h.new_zeros(batch * n_slots, h.size(1)).index_copy(0, nodes, h)
        return self.decoder(masked_mean(slots.reshape(batch, n_slots, -1).transpose(1, 2), mask))


def build(spec: BuildSpec) -> LorentzNet:
    """A LorentzNet sized for `spec.dim` node scalars per particle."""
    return LorentzNet(spec.dim, spec.n_outputs, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["lorentznet"], build)
