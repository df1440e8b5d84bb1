"""The generator's optional detector step (rootml.simulate): EFlow candidates replace the particles for clustering;
each jet keeps its generator-level jet and the calorimeter cells within Delta R < R of its axis."""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from rootml.generate.clustering import Jets, cluster_jets
from rootml.generate.events import EventRecord
from rootml.generate.matching import event_pairs, nearest_jet
from rootml.generate.momenta import momenta
from rootml.simulate.cards import Card, load_card
from rootml.simulate.detector import Cells, simulate_events

# generator-level jets down to this fraction of the window's pT_min are candidates for the reco jet's gen jet
GEN_PT_FRACTION = 0.5


@dataclass(frozen=True)
class Detector:
    """A detector card and the random stream of its smearing (independent of Pythia's)."""

    card: Card
    rng: np.random.Generator


def detector_for(card: str | None, seed: int) -> Detector | None:
    """The Detector of the `generate.simulate` setting (None: no simulation), seeded from the chunk's seed."""
    return None if card is None else Detector(load_card(card), np.random.default_rng(seed))


def detected_record(detector: Detector, record: EventRecord, visible: np.ndarray) -> tuple[EventRecord, Cells]:
    """The EFlow candidates of every event of `record` as an EventRecord (status 1), and the lit cells."""
    detected = simulate_events(detector.card, record.event[visible], record.pid[visible], record.px[visible],
                               record.py[visible], record.pz[visible], record.energy[visible], detector.rng)
    candidates = detected.candidates
    n = len(candidates.event)
    eflow = EventRecord(counts=np.bincount(candidates.event, minlength=len(record.counts)), pid=candidates.pid,
                        status=np.ones(n, dtype=np.int64), mother=np.arange(n), px=candidates.px, py=candidates.py,
                        pz=candidates.pz, energy=candidates.energy)
    return eflow, detected.cells


def gen_jet_p4(record: EventRecord, visible: np.ndarray, jets: Jets, radius: float, pt_min: float) -> np.ndarray:
    """(n, 4) momentum of the nearest generator-level jet within Delta R < R of each jet (zeros when none)."""
    gen = cluster_jets(record, visible, radius, GEN_PT_FRACTION * pt_min)
    index = nearest_jet(jets, gen, radius)
    return np.vstack([gen.p4, np.zeros((1, 4))])[index]  # index -1 picks the appended zero row


def cells_in_jets(cells: Cells, jets: Jets, radius: float) -> ak.Array:
    """[jet][k] records eta, deta, phi, dphi, depth, energy of the cells within Delta R < R, by decreasing energy."""
    pair_jet, pair_cell = event_pairs(np.searchsorted(cells.event, jets.event, side="left"),
                                      np.searchsorted(cells.event, jets.event, side="right"))
    axis = momenta(jets.p4)
    deta = cells.eta[pair_cell] - axis.eta[pair_jet]
    dphi = np.mod(cells.phi[pair_cell] - axis.phi[pair_jet] + np.pi, 2 * np.pi) - np.pi
    inside = np.flatnonzero(np.hypot(deta, dphi) < radius)
    inside = inside[np.lexsort((-cells.energy[pair_cell[inside]], pair_jet[inside]))]
    cell = pair_cell[inside]
    fields = {"eta": cells.eta[cell], "deta": deta[inside], "phi": cells.phi[cell], "dphi": dphi[inside],
              "depth": cells.depth[cell], "energy": cells.energy[cell]}
    return ak.unflatten(ak.zip(fields), np.bincount(pair_jet[inside], minlength=len(jets.event)))
