"""The fast detector of one card: final-state particles of a batch of events -> EFlow candidates and cells.

Mirrors Delphes' chain TrackingEfficiency -> MomentumSmearing -> ECal -> HCal (SimpleCalorimeter, the tracks
leaving the ECal feed the HCal) -> TrackPileUpSubtractor (with pileup) -> EFlowMerger. Particles travel in
straight lines from the origin: the magnetic propagation (ParticlePropagator) is left out, which moves soft charged
particles by at most a few cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rootml.particle_types import charge_from_pid
from rootml.simulate.calorimeter import Hits, Towers, fill_towers
from rootml.simulate.cards import CalorimeterCard, Card
from rootml.simulate.eflow import split_towers, track_scale
from rootml.simulate.tracking import Tracks, reconstruct_tracks

TRACK, PHOTON, NEUTRAL_HADRON = 0, 1, 2  # EFlowTrack, EFlowPhoton, EFlowNeutralHadron


@dataclass(frozen=True)
class Candidates:
    """EFlow candidates of a batch, sorted by event: PDG id (tracks: their particle's; 22; 0), kind, four-momentum,
    and whether it is a track from a pileup vertex (one charged-hadron subtraction kept)."""

    event: np.ndarray
    pid: np.ndarray
    kind: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    pileup: np.ndarray


@dataclass(frozen=True)
class Cells:
    """Calorimeter cells with energy after the thresholds, sorted by event: cell centre, depth (0 ECAL, 1 HCAL)."""

    event: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    depth: np.ndarray
    energy: np.ndarray


@dataclass(frozen=True)
class Detected:
    """What the detector gives for a batch of events."""

    candidates: Candidates
    cells: Cells
    subtracted: int = 0  # tracks removed by charged-hadron subtraction


def _directions(px: np.ndarray, py: np.ndarray, pz: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, ...]:
    """pt, eta, phi and mass of four-momenta (eta infinite along the beam)."""
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(pz / pt)
    mass = np.sqrt(np.clip(energy**2 - px**2 - py**2 - pz**2, 0.0, None))
    return pt, eta, np.arctan2(py, px), mass


def _calorimeter(card: CalorimeterCard, particles: Hits, tracks: Tracks, event: np.ndarray, pid: np.ndarray,
                 rng: np.random.Generator) -> tuple[Towers, np.ndarray, Tracks]:
    """One calorimeter: its towers, neutral EFlow energy per tower, and the tracks that leave it, rescaled."""
    track_hits = Hits(event=event[tracks.particle], pid=pid[tracks.particle], energy=tracks.energy, eta=tracks.eta,
                      phi=tracks.phi, resolution=tracks.resolution)
    towers, hits = fill_towers(card, particles, track_hits, rng)
    split = split_towers(card, towers)
    keep = hits.tower >= 0
    scale = track_scale(split, hits)[keep]
    leaving = Tracks(particle=tracks.particle[keep], pt=tracks.pt[keep] * scale, eta=tracks.eta[keep],
                     phi=tracks.phi[keep], mass=tracks.mass[keep], resolution=tracks.resolution[keep])
    return towers, split.neutral_energy, leaving


def simulate_events(card: Card, event: np.ndarray, pid: np.ndarray, px: np.ndarray, py: np.ndarray, pz: np.ndarray,
                    energy: np.ndarray, rng: np.random.Generator, pileup: np.ndarray | None = None,
                    subtract: np.ndarray | None = None) -> Detected:
    """EFlow candidates and cells of the final-state particles given flat, with the event number of each; `pileup`
    flags the particles of pileup vertices, `subtract` those whose tracks charged-hadron subtraction removes after the
    calorimeters (their energy stays in the towers, as in Delphes)."""
    pt, eta, phi, mass = _directions(px, py, pz, energy)
    tracks = reconstruct_tracks(card, pid, charge_from_pid(pid), pt, eta, phi, mass, rng)
    particles = Hits(event=event, pid=pid, energy=energy, eta=eta, phi=phi)
    parts: list[tuple[np.ndarray, ...]] = []  # event, pid, kind, pt, eta, phi, mass of each block of candidates
    cells: list[tuple[np.ndarray, ...]] = []
    for calo, kind in ((card.ecal, PHOTON), (card.hcal, NEUTRAL_HADRON)):
        towers, neutral, tracks = _calorimeter(calo, particles, tracks, event, pid, rng)
        emit = neutral > 0
        parts.append((towers.event[emit], np.full(emit.sum(), calo.neutral_pid), np.full(emit.sum(), kind),
                      neutral[emit] / np.cosh(towers.eta[emit]), towers.eta[emit], towers.phi[emit],
                      np.zeros(emit.sum())))
        lit = towers.energy > 0
        centre_eta, centre_phi = calo.grid.centres(towers.cell[lit])
        cells.append((towers.event[lit], centre_eta, centre_phi, np.full(lit.sum(), calo.depth), towers.energy[lit]))
    removed = np.zeros(len(tracks.pt), dtype=bool) if subtract is None else subtract[tracks.particle]
    kept = tracks.particle[~removed]
    parts.insert(0, (event[kept], pid[kept], np.full(len(kept), TRACK), tracks.pt[~removed], tracks.eta[~removed],
                     tracks.phi[~removed], tracks.mass[~removed]))
    from_pileup = np.zeros(len(event), dtype=bool) if pileup is None else pileup
    flags = [from_pileup[kept], *(np.zeros(len(part[0]), dtype=bool) for part in parts[1:])]
    c_event, c_pid, c_kind, c_pt, c_eta, c_phi, c_mass = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.argsort(c_event, kind="stable")
    c_pt, c_eta, c_phi, c_mass = c_pt[order], c_eta[order], c_phi[order], c_mass[order]
    pz_out = c_pt * np.sinh(c_eta)
    candidates = Candidates(event=c_event[order], pid=c_pid[order].astype(np.int64), kind=c_kind[order],
                            px=c_pt * np.cos(c_phi), py=c_pt * np.sin(c_phi), pz=pz_out,
                            energy=np.sqrt(c_pt**2 + pz_out**2 + c_mass**2), pileup=np.concatenate(flags)[order])
    cell_columns = [np.concatenate(column) for column in zip(*cells, strict=True)]
    cell_order = np.argsort(cell_columns[0], kind="stable")
    return Detected(candidates=candidates, cells=Cells(*(column[cell_order] for column in cell_columns)),
                    subtracted=int(removed.sum()))
