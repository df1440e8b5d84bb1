"""Detector response of the CMS card: detector-level over generator-level jet pT and mass for top and QCD jets.

Run: .venv/bin/python benchmarks/detector_response.py [--jets 400] [--card cms] [--out docs/figures/detector_response]
Generates `--jets` truth-matched jets per process (tbqq; quark and gluon QCD) with the detector (rootml.generate with
generate.simulate, default window 500 < pT < 700 GeV, |eta| < 2, anti-kT R = 0.8), pairs each with its generator-level
jet (gen_jet_*: the nearest within Delta R < R), prints mean, standard deviation, median and resolution (half the
15.9-84.1% range) of the pT and mass ratios per class, and draws rootml.plotting.response's figure (PNG and PDF).
"""

from __future__ import annotations

import argparse

import numpy as np

from rootml.generate.chunk import generate_jets
from rootml.generate.momenta import momenta
from rootml.generate.settings import GenerateSettings
from rootml.job import redirected_output
from rootml.plotting.response import plot_response, response_stats

SEED = 2026
CLASSES = {"top": "tbqq", "quark": "quark", "gluon": "gluon"}  # class -> process


def ratios(process: str, n_jets: int, card: str) -> dict[str, np.ndarray]:
    """pT and mass ratios (detector / generator) of the jets with a generator-level jet."""
    settings = GenerateSettings.from_config({"simulate": card})
    with redirected_output(None):
        jets = generate_jets(process=process, n_jets=n_jets, seed=SEED, settings=settings, progress=False)
    detector, generator = momenta(jets.p4), momenta(jets.gen_p4)
    matched = generator.pt > 0
    return {"pt": np.asarray(detector.pt / generator.pt)[matched],
            "mass": np.asarray(detector.mass / generator.mass)[matched]}


def main() -> None:
    """Generate, print the numbers, draw the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=400)
    parser.add_argument("--card", default="cms")
    parser.add_argument("--out", default="docs/figures/detector_response")
    args = parser.parse_args()
    per_class = {name: ratios(process, args.jets, args.card) for name, process in CLASSES.items()}
    figure = {quantity: {name: r[quantity] for name, r in per_class.items()} for quantity in ("pt", "mass")}
    print(f"card {args.card}: detector / generator ratio, {args.jets} jets per class (matched: "
          + ", ".join(f"{name} {len(r['pt'])}" for name, r in per_class.items()) + ")")
    print(f"{'class':8s} {'ratio':5s} {'mean':>7s} {'std':>7s} {'median':>7s} {'resol.':>7s}")
    for quantity, by_class in figure.items():
        for name, ratio in by_class.items():
            stats = response_stats(ratio)
            print(f"{name:8s} {quantity:5s} " + " ".join(f"{stats[k]:7.3f}" for k in ("mean", "std", "median",
                                                                                    "resolution")))
    title = f"{args.card.upper()} card, anti-kT R = 0.8, 500 < $p_T$ < 700 GeV, |$\\eta$| < 2"
    for path in plot_response(figure, args.out, title=title):
        print("wrote", path)


if __name__ == "__main__":
    main()
