"""Electric charge and the JetClass particle-type flags of particles given by their PDG ids."""

from __future__ import annotations

import functools

import awkward as ak
import numpy as np
from particle import Particle
from particle.pdgid import is_valid


@functools.lru_cache(maxsize=4096)
def _charge_of(pid: int) -> float:
    """Electric charge of one PDG id (0 for ids the particle table does not know)."""
    if pid == 0 or not is_valid(pid):
        return 0.0
    try:
        return float(Particle.from_pdgid(pid).charge)
    except Exception:  # the table lacks some valid ids (e.g. exotic nuclei): treat them as neutral
        return 0.0


def charge_from_pid(pid: ak.Array | np.ndarray) -> ak.Array | np.ndarray:
    """Electric charge for an array (flat or jagged) of PDG ids, via scikit-hep's particle table."""
    flat = np.asarray(ak.flatten(pid, axis=None)) if isinstance(pid, ak.Array) else np.asarray(pid)
    unique, inverse = np.unique(flat, return_inverse=True)
    charges = np.array([_charge_of(int(p)) for p in unique], dtype=np.float32)[inverse]
    if isinstance(pid, ak.Array) and pid.ndim > 1:
        return ak.unflatten(charges, ak.num(pid, axis=1))
    return charges


def particle_flags(pid: ak.Array | np.ndarray, charge: ak.Array | np.ndarray) -> dict[str, ak.Array | np.ndarray]:
    """The JetClass particle-type flags (0/1 floats) from PDG ids and charges."""
    apid = abs(pid)
    charged = charge != 0
    lepton_or_photon = (apid == 11) | (apid == 13) | (apid == 22)
    as_float = (lambda x: ak.values_astype(x, np.float32)) if isinstance(pid, ak.Array) else (
        lambda x: np.asarray(x, dtype=np.float32))
    return {
        "part_isChargedHadron": as_float(charged & ~lepton_or_photon),
        "part_isNeutralHadron": as_float(~charged & ~lepton_or_photon),
        "part_isPhoton": as_float(apid == 22),
        "part_isElectron": as_float(apid == 11),
        "part_isMuon": as_float(apid == 13),
    }
