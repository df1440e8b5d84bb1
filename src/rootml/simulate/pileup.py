"""Pileup vertices and charged-hadron subtraction as in Delphes' CMS PileUp card (PileUpMerger,
TrackPileUpSubtractor): vertices along the beam, and pileup tracks removed when their vertex is resolved."""

from __future__ import annotations

import numpy as np
from scipy.stats import truncnorm


def draw_vertex_z(n: int, sigma: float, z_max: float, rng: np.random.Generator) -> np.ndarray:
    """`n` vertex z positions (mm): Gaussian of width sigma cut at |z| < z_max (VertexDistributionFormula and
    ZVertexSpread)."""
    return truncnorm.rvs(-z_max / sigma, z_max / sigma, scale=sigma, size=n, random_state=rng)


def chs_subtracted(dz: np.ndarray, z_resolution: float) -> np.ndarray:
    """Which particles' tracks charged-hadron subtraction removes: those of pileup vertices (dz not NaN) farther than
    z_resolution from the hard vertex (TrackPileUpSubtractor: `IsPU && |z - z_PV| > ZVertexResolution`)."""
    with np.errstate(invalid="ignore"):
        return ~np.isnan(dz) & (np.abs(dz) > z_resolution)
