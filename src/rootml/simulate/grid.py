"""The eta/phi cell grid of one calorimeter, built as Delphes' SimpleCalorimeter builds it from EtaPhiBins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# phi edges lie in [-pi, pi]: shifting the edges of eta edge k by k * _GROUP_SHIFT puts every edge list in one sorted
# array, so one np.searchsorted finds the phi bin of every particle whatever the granularity of its eta bin
_GROUP_SHIFT = 10.0


@dataclass(frozen=True)
class CellGrid:
    """Sorted unique eta edges; per eta edge the phi edges of the cells ending at it, flattened with a group shift."""

    eta_edges: np.ndarray  # (m,)
    phi_flat: np.ndarray  # phi edges of every eta edge, concatenated
    phi_group: np.ndarray  # eta-edge index of each entry of phi_flat

    @property
    def n_keys(self) -> int:
        """Size of the cell-id space (cell ids index phi_flat: the id of a cell is the index of its upper phi edge)."""
        return len(self.phi_flat)

    def cell_of(self, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """Cell id of each (eta, phi), -1 outside the grid; the bins are (lo, hi] as std::lower_bound in Delphes."""
        eta_bin = np.searchsorted(self.eta_edges, eta, side="left")
        inside = (eta_bin >= 1) & (eta_bin < len(self.eta_edges))
        group = np.where(inside, eta_bin, 0)
        key = np.searchsorted(self.phi_flat + _GROUP_SHIFT * self.phi_group, phi + _GROUP_SHIFT * group, side="left")
        key = np.minimum(key, self.n_keys - 1)
        inside &= (key >= 1) & (self.phi_group[key] == group) & (self.phi_group[key - 1] == group)
        return np.where(inside, key, -1)

    def edges(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Lower and upper eta and phi edges of each cell id."""
        group = self.phi_group[cell]
        return self.eta_edges[group - 1], self.eta_edges[group], self.phi_flat[cell - 1], self.phi_flat[cell]

    def centres(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Eta and phi of the centre of each cell id."""
        eta_lo, eta_hi, phi_lo, phi_hi = self.edges(cell)
        return 0.5 * (eta_lo + eta_hi), 0.5 * (phi_lo + phi_hi)


def _block_eta_edges(block: Mapping[str, Any]) -> np.ndarray:
    """The eta edges of one EtaPhiBins block: listed, or offset + i * step for first <= i <= last (the Tcl loops)."""
    if "eta_edges" in block:
        return np.asarray(block["eta_edges"], dtype=np.float64)
    steps = block["eta_steps"]
    return steps["offset"] + np.arange(steps["first"], steps["last"] + 1) * steps["step"]


def _phi_edges(phi_bins: int) -> np.ndarray:
    """The card's phi edges i * pi / (n / 2), i = -n/2 .. n/2, computed in the card's order of operations."""
    half = phi_bins // 2
    return np.arange(-half, half + 1) * np.pi / half


def build_grid(blocks: Sequence[Mapping[str, Any]]) -> CellGrid:
    """The grid of EtaPhiBins blocks; an eta edge given twice gets the union of its phi edges (Delphes: a std::set)."""
    phi_of_edge: dict[float, np.ndarray] = {}
    for block in blocks:
        phi = _phi_edges(int(block["phi_bins"]))
        for edge in _block_eta_edges(block):
            phi_of_edge[float(edge)] = np.union1d(phi_of_edge.get(float(edge), phi), phi)
    eta_edges = np.array(sorted(phi_of_edge))
    phi_lists = [phi_of_edge[edge] for edge in eta_edges]
    return CellGrid(
        eta_edges=eta_edges,
        phi_flat=np.concatenate(phi_lists),
        phi_group=np.repeat(np.arange(len(phi_lists)), [len(p) for p in phi_lists]),
    )
