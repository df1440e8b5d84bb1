"""Energy flow as SimpleCalorimeter::FinalizeTower: the tower energy the tracks do not explain becomes a neutral
candidate when significant; otherwise the tracks are rescaled to the weighted mean of tracker and calorimeter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rootml.simulate.calorimeter import MIN_FRACTION, Towers, TrackHits
from rootml.simulate.cards import CalorimeterCard


@dataclass(frozen=True)
class EFlowSplit:
    """Per tower the neutral EFlow energy (0: no neutral candidate) and the factor on its tracks' pT."""

    neutral_energy: np.ndarray
    track_scale: np.ndarray


def _inverse_square(sigma: np.ndarray) -> np.ndarray:
    """1 / sigma^2, 0 where sigma is 0 (Delphes' weights)."""
    return np.divide(1.0, sigma**2, out=np.zeros_like(sigma), where=sigma > 0)


def split_towers(card: CalorimeterCard, towers: Towers) -> EFlowSplit:
    """The neutral excess max(E - E_tracks, 0) kept when above EnergyMin and EnergySignificanceMin standard
    deviations of sqrt(sigma_tracks^2 + sigma_calo^2); else the tracks' best combined energy estimate."""
    track_sigma = np.sqrt(towers.track_sigma2)
    neutral = np.maximum(towers.energy - towers.track_energy, 0.0)
    total_sigma = np.sqrt(towers.track_sigma2 + towers.sigma**2)
    significance = np.divide(neutral, total_sigma, out=np.zeros_like(neutral), where=total_sigma > 0)
    emit = (neutral > card.energy_min) & (significance > card.significance_min)
    w_track, w_calo = _inverse_square(track_sigma), _inverse_square(towers.sigma)
    rescale = ~emit & (towers.track_energy > 0) & (w_track + w_calo > 0)
    best = np.divide(w_track * towers.track_energy + w_calo * towers.energy, w_track + w_calo,
                     out=np.zeros_like(neutral), where=rescale)
    scale = np.divide(best, towers.track_energy, out=np.ones_like(neutral), where=rescale)
    return EFlowSplit(neutral_energy=np.where(emit, neutral, 0.0), track_scale=scale)


def track_scale(split: EFlowSplit, hits: TrackHits) -> np.ndarray:
    """Each track's pT factor from this calorimeter: its tower's, or 1 when it deposits nothing here."""
    own = (hits.tower >= 0) & (hits.fraction > MIN_FRACTION)
    return np.append(split.track_scale, 1.0)[np.where(own, hits.tower, -1)]
