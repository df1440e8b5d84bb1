"""Jet substructure throughput: rootml's substructure_columns (soft-drop mass + tau_1..4) against fjcontrib's
soft-drop grooming alone through fastjet's awkward interface, on the same jets in the same run.

Run: .venv/bin/python benchmarks/substructure.py [--jets 3000] [--multiplicity 50] [--rounds 3]
Jets have Poisson-many massless constituents around one axis (tests/synthetic.py:random_jets).
Both run alternately in rounds so that a busy machine slows both alike; prints jets/s of each and the ratio
rootml / fjcontrib (above 1: rootml computes soft drop and four N-subjettiness values faster than fjcontrib
grooms alone).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import awkward as ak
import fastjet

from rootml.features.substructure import SOFTDROP_BETA, SOFTDROP_ZCUT, substructure_columns

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the jets of the tests
from synthetic import random_jets  # noqa: E402

R = 0.8


def rootml_seconds(jets: dict[str, ak.Array]) -> float:
    """Seconds of rootml's soft-drop mass and tau_1..4 for all jets."""
    start = time.perf_counter()
    substructure_columns(**jets, jet_radius=R)
    return time.perf_counter() - start


def fjcontrib_seconds(jets: dict[str, ak.Array]) -> float:
    """Seconds of fjcontrib's SoftDrop grooming (C/A reclustering included) for all jets."""
    start = time.perf_counter()
    constituents = ak.zip({"px": jets["px"], "py": jets["py"], "pz": jets["pz"], "E": jets["energy"]})
    sequence = fastjet.ClusterSequence(constituents, fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0))
    sequence.exclusive_jets_softdrop_grooming(njets=1, beta=SOFTDROP_BETA, symmetry_cut=SOFTDROP_ZCUT, R0=R)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print the throughputs and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=3000)
    parser.add_argument("--multiplicity", type=float, default=50.0, help="mean constituents per jet")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    jets = random_jets(args.jets, args.multiplicity, seed=7)
    ours = theirs = 0.0
    for round_ in range(args.rounds):
        for which in (("rootml", "fjcontrib") if round_ % 2 == 0 else ("fjcontrib", "rootml")):
            if which == "rootml":
                ours += rootml_seconds(jets)
            else:
                theirs += fjcontrib_seconds(jets)
    total = args.jets * args.rounds
    print(f"{'jets':>6} {'rootml jets/s':>14} {'fjcontrib soft drop jets/s':>27} {'ratio':>6}")
    print(f"{args.jets:6d} {total / ours:14.0f} {total / theirs:27.0f} {theirs / ours:6.2f}")


if __name__ == "__main__":
    main()
