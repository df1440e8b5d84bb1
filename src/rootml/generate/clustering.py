"""FastJet anti-kT clustering of a batch of events at once (fastjet's awkward interface) and the jet window."""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import fastjet
import numpy as np

from rootml.generate.events import EventRecord
from rootml.generate.momenta import momenta, stack


@dataclass(frozen=True)
class Jets:
    """Jets of a batch of events: event number, (n, 4) px/py/pz/E rows, [jet][k] record indices of constituents."""

    event: np.ndarray
    p4: np.ndarray
    constituents: ak.Array

    def __getitem__(self, selection: np.ndarray) -> Jets:
        """The jets picked by a boolean mask or index array."""
        return Jets(self.event[selection], self.p4[selection], self.constituents[selection])


def cluster_jets(record: EventRecord, visible: np.ndarray, radius: float, pt_min: float) -> Jets:
    """Anti-kT jets (E scheme) with pT >= pt_min of the `visible` particles of every event in `record`."""
    n_events = len(record.counts)
    counts = np.bincount(record.event[visible], minlength=n_events)
    particles = ak.unflatten(
        ak.zip({"px": record.px[visible], "py": record.py[visible], "pz": record.pz[visible],
                "E": record.energy[visible]}),
        counts,
    )
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(fastjet.antikt_algorithm, radius))
    jets = sequence.inclusive_jets(min_pt=pt_min)
    local = sequence.constituent_index(min_pt=pt_min)  # [event][jet][k], into the event's visible particles
    event = np.repeat(np.arange(n_events), np.asarray(ak.num(jets)))
    per_jet = ak.to_numpy(ak.flatten(ak.num(local, axis=2)))
    first_visible = np.cumsum(counts) - counts
    flat = ak.to_numpy(ak.flatten(local, axis=None)) + np.repeat(first_visible[event], per_jet)
    flat_jets = ak.flatten(jets)
    return Jets(
        event=event,
        p4=stack(*(ak.to_numpy(flat_jets[c]) for c in ("px", "py", "pz", "E"))),
        constituents=ak.unflatten(visible[flat], per_jet),
    )


def in_window(jets: Jets, pt_min: float, pt_max: float, abs_eta_max: float) -> np.ndarray:
    """Mask of the jets with pt_min < pT < pt_max and |eta| < abs_eta_max."""
    vectors = momenta(jets.p4)
    return (vectors.pt > pt_min) & (vectors.pt < pt_max) & (np.abs(vectors.eta) < abs_eta_max)
