"""Detector-simulation cost: rootml.simulate on Pythia events against the Pythia generation of the same events.

Run: .venv/bin/python benchmarks/simulate.py [--events 200] [--rounds 2] [--processes qcd tbqq] [--card cms]
Per process and round, Pythia generates a batch of events (timed, initialisation excluded), then the detector
simulates the visible final state of the same events (timed). Both are divided by the anti-kT jets in the generator's
window of those events: seconds per jet of each and their ratio (goal: the detector cheaper than Pythia, ratio < 1).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from rootml.generate.clustering import cluster_jets, in_window
from rootml.generate.events import next_events, start_pythia, visible_final_state
from rootml.generate.processes import process_spec, pythia_settings
from rootml.generate.settings import GenerateSettings
from rootml.job import redirected_output
from rootml.simulate.cards import load_card
from rootml.simulate.detector import simulate_events

SEED = 12345
SETTINGS = GenerateSettings.from_config({})
BATCH = 50  # events per Pythia batch, as the generate stage's largest batch


def one_round(process: str, n_events: int, seed: int, card_name: str) -> tuple[float, float, int]:
    """Seconds of Pythia, seconds of the detector, and jets in the window, for n_events events."""
    settings = pythia_settings(process_spec(process), sqrt_s=SETTINGS.sqrt_s, pt_min=SETTINGS.pt_min,
                               pt_max=SETTINGS.pt_max, seed=seed)
    card, rng = load_card(card_name), np.random.default_rng(seed)
    pythia_seconds = detector_seconds = 0.0
    jets = 0
    with redirected_output(None):
        pythia = start_pythia(settings)
        for _ in range(n_events // BATCH):
            start = time.perf_counter()
            record = next_events(pythia, BATCH)
            pythia_seconds += time.perf_counter() - start
            visible = visible_final_state(record)
            start = time.perf_counter()
            simulate_events(card, record.event[visible], record.pid[visible], record.px[visible], record.py[visible],
                            record.pz[visible], record.energy[visible], rng)
            detector_seconds += time.perf_counter() - start
            found = cluster_jets(record, visible, SETTINGS.jet_radius, SETTINGS.pt_min)
            jets += int(np.sum(in_window(found, SETTINGS.pt_min, SETTINGS.pt_max, SETTINGS.abs_eta_max)))
    return pythia_seconds, detector_seconds, jets


def main() -> None:
    """Measure and print seconds per jet of Pythia and of the detector, and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200, help="events per round (multiple of 50)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", nargs="+", default=["qcd", "tbqq"])
    parser.add_argument("--card", default="cms")
    args = parser.parse_args()
    print(f"{'process':8} {'jets':>5} {'Pythia ms/jet':>14} {'detector ms/jet':>16} {'ratio':>6}")
    for process in args.processes:
        pythia = detector = 0.0
        jets = 0
        for round_ in range(args.rounds):
            p, d, j = one_round(process, args.events, SEED + round_, args.card)
            pythia, detector, jets = pythia + p, detector + d, jets + j
        print(f"{process:8} {jets:5d} {1e3 * pythia / jets:14.2f} {1e3 * detector / jets:16.2f} "
              f"{detector / pythia:6.2f}", flush=True)


if __name__ == "__main__":
    main()
