"""One SimpleCalorimeter (Delphes): particles and tracks binned in cells, cell energies smeared and thresholded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rootml.simulate.cards import CalorimeterCard, energy_fraction, energy_resolution
from rootml.simulate.smearing import log_normal

MIN_FRACTION = 1.0e-9  # SimpleCalorimeter ignores fractions below this


@dataclass(frozen=True)
class Hits:
    """Objects reaching a calorimeter (particles or tracks): event, PDG id, energy, direction, track resolution."""

    event: np.ndarray
    pid: np.ndarray
    energy: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    resolution: np.ndarray | None = None  # tracks only: relative pT resolution


@dataclass(frozen=True)
class Towers:
    """The towers of a batch of events: cell, smeared energy (0 below the thresholds), its sigma, dithered centre,
    and the summed energy and squared sigma of the tracks that point at them with a non-zero energy fraction."""

    event: np.ndarray
    cell: np.ndarray
    energy: np.ndarray
    sigma: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    track_energy: np.ndarray
    track_sigma2: np.ndarray


@dataclass(frozen=True)
class TrackHits:
    """Where each track lands: its tower (-1 outside the grid) and its energy fraction in this calorimeter."""

    tower: np.ndarray
    fraction: np.ndarray


def _track_sums(card: CalorimeterCard, tracks: Hits, tower: np.ndarray, fraction: np.ndarray, centre_eta: np.ndarray,
                n_towers: int) -> tuple[np.ndarray, np.ndarray]:
    """Per tower, the tracks' energy E * fraction and the sum of (resolution * energy guess)^2 (as Delphes)."""
    used = (tower >= 0) & (fraction > MIN_FRACTION)
    energy = tracks.energy[used] * fraction[used]
    resolution = tracks.resolution[used]
    calo_sigma = energy_resolution(card, tracks.energy[used], centre_eta[tower[used]])
    guess = np.where(calo_sigma / tracks.energy[used] < resolution, energy, tracks.energy[used])
    return (np.bincount(tower[used], weights=energy, minlength=n_towers),
            np.bincount(tower[used], weights=(resolution * guess) ** 2, minlength=n_towers))


def fill_towers(card: CalorimeterCard, particles: Hits, tracks: Hits,
                rng: np.random.Generator) -> tuple[Towers, TrackHits]:
    """Deposit the particles' energy fractions in cells, smear each tower log-normally and apply EnergyMin and
    EnergySignificanceMin; a tower exists where a particle deposits or a track points."""
    grid = card.grid
    p_fraction = energy_fraction(card, particles.pid)
    p_cell = grid.cell_of(particles.eta, particles.phi)
    deposits = (p_cell >= 0) & (p_fraction > MIN_FRACTION)
    t_cell = grid.cell_of(tracks.eta, tracks.phi)
    p_key = particles.event[deposits].astype(np.int64) * grid.n_keys + p_cell[deposits]
    t_key = np.where(t_cell >= 0, tracks.event.astype(np.int64) * grid.n_keys + t_cell, -1)
    keys, inverse = np.unique(np.concatenate([p_key, t_key[t_cell >= 0]]), return_inverse=True)
    n_towers = len(keys)
    cell = keys % grid.n_keys
    true_energy = np.bincount(inverse[: len(p_key)], weights=particles.energy[deposits] * p_fraction[deposits],
                              minlength=n_towers)
    centre_eta, _ = grid.centres(cell)
    energy = log_normal(true_energy, energy_resolution(card, true_energy, centre_eta), rng)
    sigma = energy_resolution(card, energy, centre_eta)
    energy = np.where((energy < card.energy_min) | (energy < card.significance_min * sigma), 0.0, energy)
    eta_lo, eta_hi, phi_lo, phi_hi = grid.edges(cell)
    tower = np.full(len(t_cell), -1)
    tower[t_cell >= 0] = inverse[len(p_key):]
    t_fraction = energy_fraction(card, tracks.pid)
    track_energy, track_sigma2 = _track_sums(card, tracks, tower, t_fraction, centre_eta, n_towers)
    towers = Towers(event=keys // grid.n_keys, cell=cell, energy=energy, sigma=sigma,
                    eta=rng.uniform(eta_lo, eta_hi), phi=rng.uniform(phi_lo, phi_hi),  # SmearTowerCenter
                    track_energy=track_energy, track_sigma2=track_sigma2)
    return towers, TrackHits(tower=tower, fraction=t_fraction)
