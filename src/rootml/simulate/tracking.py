"""Tracking as Delphes' Efficiency and MomentumSmearing modules: which charged particles give a track, and its pT."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rootml.simulate.cards import Card, efficiency, track_resolution
from rootml.simulate.smearing import log_normal


@dataclass(frozen=True)
class Tracks:
    """Reconstructed tracks: the particle each comes from, smeared pT, direction, mass and relative pT resolution."""

    particle: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    mass: np.ndarray
    resolution: np.ndarray

    @property
    def energy(self) -> np.ndarray:
        """Energy of each track from its smeared pT, eta and mass."""
        return np.hypot(self.pt * np.cosh(self.eta), self.mass)


def track_kind(pid: np.ndarray) -> np.ndarray:
    """The card's tracking block of each charged particle: electron, muon or charged_hadron."""
    apid = np.abs(pid)
    return np.where(apid == 11, "electron", np.where(apid == 13, "muon", "charged_hadron"))


def reconstruct_tracks(card: Card, pid: np.ndarray, charge: np.ndarray, pt: np.ndarray, eta: np.ndarray,
                       phi: np.ndarray, mass: np.ndarray, rng: np.random.Generator) -> Tracks:
    """Tracks of the charged particles: kept with the card's efficiency, pT smeared log-normally by its resolution."""
    charged = np.flatnonzero(charge != 0)
    kind = track_kind(pid[charged])
    eff = np.zeros(len(charged))
    res = np.zeros(len(charged))
    for name, tracking in card.tracking.items():
        here = kind == name
        eff[here] = efficiency(tracking, pt[charged][here], eta[charged][here])
        res[here] = track_resolution(tracking, pt[charged][here], eta[charged][here])
    kept = rng.random(len(charged)) <= eff  # Efficiency: `if(gRandom->Uniform() > formula) continue;`
    index = charged[kept]
    res = np.minimum(res[kept], 1.0)  # MomentumSmearing caps the resolution at 1
    return Tracks(particle=index, pt=log_normal(pt[index], res * pt[index], rng), eta=eta[index], phi=phi[index],
                  mass=mass[index], resolution=res)
