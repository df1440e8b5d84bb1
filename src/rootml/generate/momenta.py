"""Four-momenta stored as (n, 4) numpy rows (px, py, pz, E), seen through vector's numpy backend."""

from __future__ import annotations

import numpy as np
import vector


def stack(px: np.ndarray, py: np.ndarray, pz: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """(n, 4) float64 rows of px, py, pz, E."""
    return np.stack([px, py, pz, energy], axis=-1).astype(np.float64, copy=False)


def momenta(p4: np.ndarray) -> vector.MomentumNumpy4D:
    """vector's numpy Lorentz vectors for (n, 4) rows of px, py, pz, E (pt, eta, phi, deltaR, ...)."""
    return vector.array({"px": p4[:, 0], "py": p4[:, 1], "pz": p4[:, 2], "E": p4[:, 3]})
