"""Detector cards: rootml.simulate's tracks and calorimeter energies against the Delphes card formulas they follow.

Run: .venv/bin/python benchmarks/card_validation.py [--particles 20000]
For each card (config/cards/cms.yaml, atlas.yaml) and a few (pT or E, eta) points, simulates single charged pions
(tracking efficiency, sigma(pT)/pT), photons (ECAL) and neutrons (HCAL) and prints the simulated value beside the
card's formula and their ratio (goal: 1 within the statistical error of the sample).
"""

from __future__ import annotations

import argparse

import numpy as np

from rootml.simulate.cards import CalorimeterCard, Card, efficiency, energy_resolution, load_card, track_resolution
from rootml.simulate.detector import simulate_events
from rootml.simulate.tracking import reconstruct_tracks

TRACK_POINTS = ((100.0, 0.2), (5.0, 2.0), (0.5, 1.0))  # (pT in GeV, eta)
CALORIMETER_POINTS = ((50.0, 0.2), (200.0, 1.0))  # (E in GeV, eta)


def single_particles(pid: int, energy: float, eta: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """One massless particle per event at `eta`, random phi: event, pid, px, py, pz, E."""
    phi = np.random.default_rng(seed).uniform(-np.pi, np.pi, len(eta))
    pt = energy / np.cosh(eta)
    return (np.arange(len(eta)), np.full(len(eta), pid), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta),
            np.full(len(eta), energy))


def track_rows(card: Card, n: int) -> list[tuple[str, float, float]]:
    """(quantity, simulated, card) of the charged-hadron tracking efficiency and pT resolution."""
    rows = []
    rng = np.random.default_rng(1)
    for pt0, eta0 in TRACK_POINTS:
        pt, eta = np.full(n, pt0), np.full(n, eta0)
        tracks = reconstruct_tracks(card, np.full(n, 211), np.ones(n), pt, eta, np.zeros(n), np.zeros(n), rng)
        tracking = card.tracking["charged_hadron"]
        rows.append((f"track efficiency, pT {pt0:g}, eta {eta0:g}", len(tracks.pt) / n,
                     float(efficiency(tracking, pt[:1], eta[:1])[0])))
        rows.append((f"track sigma(pT)/pT, pT {pt0:g}, eta {eta0:g}", float(np.std(tracks.pt / pt0)),
                     float(track_resolution(tracking, pt[:1], eta[:1])[0])))
    return rows


def calorimeter_rows(card: Card, n: int) -> list[tuple[str, float, float]]:
    """(quantity, simulated, card) of the ECAL (photons) and HCAL (neutrons) energy resolution."""
    rows = []
    calorimeters: tuple[tuple[str, int, CalorimeterCard], ...] = (("ECAL", 22, card.ecal), ("HCAL", 2112, card.hcal))
    for name, pid, calorimeter in calorimeters:
        for energy, eta0 in CALORIMETER_POINTS:
            eta = np.random.default_rng(2).uniform(eta0 - 0.05, eta0 + 0.05, n)
            cells = simulate_events(card, *single_particles(pid, energy, eta, 3), np.random.default_rng(4)).cells
            measured = np.bincount(cells.event, weights=cells.energy, minlength=n)
            expected = float(np.mean(energy_resolution(calorimeter, np.full(n, energy), eta))) / energy
            rows.append((f"{name} sigma(E)/E, E {energy:g}, eta {eta0:g}", float(np.std(measured)) / energy, expected))
    return rows


def main() -> None:
    """Print the simulated value, the card's and their ratio for every card and point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--particles", type=int, default=20000, help="single particles per point")
    args = parser.parse_args()
    print(f"{'card':6} {'quantity':38} {'simulated':>10} {'card':>10} {'ratio':>7}")
    for name in ("cms", "atlas"):
        card = load_card(name)
        for quantity, simulated, expected in track_rows(card, args.particles) + calorimeter_rows(card, args.particles):
            print(f"{name:6} {quantity:38} {simulated:10.5f} {expected:10.5f} {simulated / expected:7.4f}", flush=True)


if __name__ == "__main__":
    main()
