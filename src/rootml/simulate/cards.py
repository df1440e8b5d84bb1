"""Detector cards (config/cards/*.yaml, numbers of the public Delphes cards) and the formulas they define."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rootml.errors import ConfigError
from rootml.settings import CONFIG_DIR
from rootml.simulate.grid import CellGrid, build_grid

CARDS_DIR = CONFIG_DIR / "cards"
CARD_KEY = "generate.simulate"
TRACK_KINDS = ("charged_hadron", "electron", "muon")


@dataclass(frozen=True)
class Piecewise:
    """A card formula as a sum of pieces, each applying where lo < |eta| <= hi and lo < pt <= hi."""

    abs_eta: np.ndarray  # (k, 2) bounds, +-inf where the card has none
    pt: np.ndarray  # (k, 2)
    params: dict[str, np.ndarray]  # each (k,)

    def mask(self, x: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """(n, k) 0/1 weights: which piece applies to each (pt or energy, eta)."""
        abs_eta = np.abs(eta)[:, None]
        x = np.asarray(x)[:, None]
        return ((abs_eta > self.abs_eta[:, 0]) & (abs_eta <= self.abs_eta[:, 1])
                & (x > self.pt[:, 0]) & (x <= self.pt[:, 1])).astype(np.float64)

    def value(self, x: np.ndarray, eta: np.ndarray, terms: np.ndarray) -> np.ndarray:
        """Sum over the pieces of mask * terms, `terms` (n, k) being each piece's expression for each particle."""
        return np.sum(self.mask(x, eta) * terms, axis=1)


@dataclass(frozen=True)
class TrackingCard:
    """Efficiency (Efficiency module) and relative pT resolution (MomentumSmearing) of one kind of track."""

    efficiency: Piecewise
    resolution: Piecewise


@dataclass(frozen=True)
class CalorimeterCard:
    """One SimpleCalorimeter: grid, energy fractions by |PDG id|, resolution and the EFlow thresholds."""

    depth: int  # 0 ECAL, 1 HCAL
    neutral_pid: int  # PDG id of its EFlow neutral candidates: 22 (EFlowPhoton) or 0 (EFlowNeutralHadron)
    grid: CellGrid
    fraction_ids: np.ndarray  # sorted |PDG id|s with their own fraction
    fraction_values: np.ndarray
    default_fraction: float
    resolution: Piecewise
    energy_min: float
    significance_min: float


@dataclass(frozen=True)
class Card:
    """A whole fast detector: tracking for charged hadrons, electrons and muons, then ECAL and HCAL."""

    name: str
    source: str
    tracking: dict[str, TrackingCard]
    ecal: CalorimeterCard
    hcal: CalorimeterCard


def _bounds(pairs: Sequence[Any]) -> np.ndarray:
    """(k, 2) bounds with None as -inf (lower) or +inf (upper)."""
    return np.array([[-np.inf if lo is None else lo, np.inf if hi is None else hi] for lo, hi in pairs], dtype=float)


def _piecewise(pieces: Sequence[Mapping[str, Any]], names: Sequence[str],
               optional: Mapping[str, Any] | None = None) -> Piecewise:
    """A Piecewise from the card's pieces, reading `names` from each (and `optional` ones with their defaults)."""
    optional = optional or {}
    return Piecewise(
        abs_eta=_bounds([p["abs_eta"] for p in pieces]),
        pt=_bounds([p.get("pt", [None, None]) for p in pieces]),
        params={**{n: np.array([p[n] for p in pieces], dtype=float) for n in names},
                **{n: np.array([p.get(n, d) for p in pieces], dtype=float) for n, d in optional.items()}},
    )


def _calorimeter(block: Mapping[str, Any], depth: int, neutral_pid: int) -> CalorimeterCard:
    """A CalorimeterCard from its block of the card file."""
    fractions = dict(block["energy_fractions"])
    default = float(fractions.pop("default"))
    ids = np.array(sorted(int(k) for k in fractions), dtype=np.int64)
    return CalorimeterCard(
        depth=depth, neutral_pid=neutral_pid, grid=build_grid(block["grid"]), fraction_ids=ids,
        fraction_values=np.array([float(fractions[i]) for i in ids]), default_fraction=default,
        resolution=_piecewise(block["resolution"], ("constant", "stochastic", "noise"),
                              {"eta_scale": [1.0, 0.0, 0.0]}),
        energy_min=float(block["energy_min"]), significance_min=float(block["significance_min"]),
    )


def _parse(raw: Mapping[str, Any]) -> Card:
    """A Card from the parsed YAML of a card file."""
    blocks = {kind: raw["tracking"][kind] for kind in TRACK_KINDS}
    tracking = {kind: TrackingCard(efficiency=_piecewise(block["efficiency"], ("value",)),
                                   resolution=_piecewise(block["resolution"], ("constant", "curvature")))
                for kind, block in blocks.items()}
    return Card(name=str(raw["name"]), source=str(raw["source"]), tracking=tracking,
                ecal=_calorimeter(raw["ecal"], depth=0, neutral_pid=22),
                hcal=_calorimeter(raw["hcal"], depth=1, neutral_pid=0))


def available_cards() -> list[str]:
    """Names of the cards in config/cards."""
    return sorted(path.stem for path in CARDS_DIR.glob("*.yaml"))


def load_card(name: str | Path) -> Card:
    """The card `name` of config/cards (or a card file path); ConfigError naming generate.simulate if unusable."""
    path = Path(name) if str(name).endswith(".yaml") else CARDS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(CARD_KEY, f"no detector card '{name}'; available: {', '.join(available_cards())}")
    try:
        return _parse(yaml.safe_load(path.read_text()))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(CARD_KEY, f"card file {path} is malformed: {type(error).__name__} {error}") from error


def efficiency(card: TrackingCard, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The Efficiency module's EfficiencyFormula at each (pt, eta)."""
    p = card.efficiency.params
    return card.efficiency.value(pt, eta, np.broadcast_to(p["value"], (len(pt), len(p["value"]))))


def track_resolution(card: TrackingCard, pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """MomentumSmearing's ResolutionFormula sigma(pT)/pT = sqrt(constant^2 + pt^2 curvature^2) at each (pt, eta)."""
    p = card.resolution.params
    terms = np.sqrt(p["constant"] ** 2 + (np.asarray(pt)[:, None] * p["curvature"]) ** 2)
    return card.resolution.value(pt, eta, terms)


def energy_resolution(card: CalorimeterCard, energy: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """SimpleCalorimeter's ResolutionFormula sigma(E) = scale(eta) sqrt(constant^2 E^2 + stochastic^2 E + noise^2)."""
    p = card.resolution.params
    energy = np.asarray(energy, dtype=float)
    scale = p["eta_scale"][:, 0] + p["eta_scale"][:, 1] * (np.abs(eta)[:, None] - p["eta_scale"][:, 2]) ** 2
    terms = scale * np.sqrt((p["constant"] * energy[:, None]) ** 2 + p["stochastic"] ** 2 * energy[:, None]
                            + p["noise"] ** 2)
    # the calorimeter pieces have no energy bound: evaluate the mask at any finite energy
    return card.resolution.value(np.zeros_like(energy), eta, terms)


def energy_fraction(card: CalorimeterCard, pid: np.ndarray) -> np.ndarray:
    """The calorimeter's EnergyFraction of each particle by |PDG id| (the default for ids the card does not list)."""
    apid = np.abs(pid)
    slot = np.clip(np.searchsorted(card.fraction_ids, apid), 0, len(card.fraction_ids) - 1)
    listed = card.fraction_ids[slot] == apid
    return np.where(listed, card.fraction_values[slot], card.default_fraction)
