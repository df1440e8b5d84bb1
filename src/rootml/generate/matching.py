"""Truth labelling as in JetClass and the top-tagging dataset: jets matched to hard partons, bosons or tops.

The truth objects come from Pythia's event record:
- a hard parton is an outgoing parton of the 2 -> 2 hard process (|status| 23, mother 3);
- a boson or top is taken at its decaying copy (after ISR recoil, which can turn a top by a few
  tenths in phi), with its decay quarks at their first appearance (|status| 23, before their own
  showers); for a top these are the b and the two quarks of its W.
A jet is labelled by an object when the object lies within Delta R < R of the jet, the jet is the
object's nearest jet (so an object labels at most one jet; a jet claimed by two objects goes to
the nearest), and every decay quark lies within Delta R < R of the jet axis.

The pairing is written with flat numpy index arithmetic rather than awkward's nested broadcasting:
on batches of tens of events awkward/vector spend ~10 ms per call in dispatch, more than Pythia's
own time budget for the batch allows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rootml.generate.clustering import Jets
from rootml.generate.events import EventRecord
from rootml.generate.momenta import momenta, stack
from rootml.generate.processes import ProcessSpec

RESONANCES = (6, 23, 24)  # |PDG id| of top, Z, W: the objects whose decay quarks must be in the jet
_HARD_OUTGOING = 23  # |status| of hard-process outgoing partons and of resonance decay products
_FIRST_INCOMING = 3  # event-record index of the first incoming parton: the mother of the hard outgoing


@dataclass(frozen=True)
class HardObjects:
    """Truth objects of a batch: event number, (n, 4) momenta, and their decay quarks with each quark's object."""

    event: np.ndarray
    p4: np.ndarray
    quark_p4: np.ndarray
    quark_object: np.ndarray  # index of the object each decay quark belongs to (non-decreasing)


def _first_copy(index: np.ndarray, pid: np.ndarray, mother: np.ndarray) -> np.ndarray:
    """Walk each particle up through its copies (recoils, emissions) to its first copy in the record."""
    while True:
        up = mother[index]
        same = pid[up] == pid[index]
        if not same.any():
            return index
        index = np.where(same, up, index)


def _decay_quarks(record: EventRecord, resonance_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the decay quarks of every `resonance_id` object and of that object's decaying copy."""
    apid = np.abs(record.pid)
    quark = np.flatnonzero((np.abs(record.status) == _HARD_OUTGOING) & (apid >= 1) & (apid <= 5)
                           & np.isin(apid[record.mother], RESONANCES))
    owner = record.mother[quark]  # decaying copy of the resonance each quark comes from
    while True:  # a W from a top belongs to the top: climb to the top's decaying copy
        parent = record.mother[_first_copy(owner, record.pid, record.mother)]
        promote = np.isin(apid[parent], RESONANCES)
        if not promote.any():
            break
        owner = np.where(promote, parent, owner)
    keep = apid[owner] == resonance_id
    order = np.argsort(owner[keep], kind="stable")
    return quark[keep][order], owner[keep][order]


def hard_objects(record: EventRecord, spec: ProcessSpec) -> HardObjects:
    """The truth objects of `spec` (hard partons, or bosons/tops with their decay quarks) in every event."""
    event = record.event
    if spec.resonance_id:
        quark, owner = _decay_quarks(record, spec.resonance_id)
        objects = np.unique(owner)
        quark_object = np.searchsorted(objects, owner)
    else:
        local_mother = record.mother - record.offsets[event]
        objects = np.flatnonzero((np.abs(record.status) == _HARD_OUTGOING) & (local_mother == _FIRST_INCOMING)
                                 & np.isin(np.abs(record.pid), sorted(spec.parton_ids)))
        quark = quark_object = np.zeros(0, dtype=np.int64)
    p4 = stack(record.px, record.py, record.pz, record.energy)
    return HardObjects(event=event[objects], p4=p4[objects], quark_p4=p4[quark], quark_object=quark_object)


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """Concatenated aranges 0..n-1 for every n in `counts` (numpy has no segmented arange)."""
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)


def _first_of_groups(order: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The first entry of `order` for each run of equal keys[order] (order sorted by key first)."""
    sorted_keys = keys[order]
    return order[np.r_[True, sorted_keys[1:] != sorted_keys[:-1]][: len(order)]]


def event_pairs(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (i, j) with start[i] <= j < stop[i], as two flat index arrays."""
    counts = stop - start
    return np.repeat(np.arange(len(start)), counts), np.repeat(start, counts) + _ragged_arange(counts)


def match_jets(jets: Jets, objects: HardObjects, radius: float) -> np.ndarray:
    """Index of the object labelling each jet, or -1 when the jet is not matched."""
    pair_jet, pair_object = event_pairs(np.searchsorted(objects.event, jets.event, side="left"),
                                   np.searchsorted(objects.event, jets.event, side="right"))
    distance = momenta(jets.p4[pair_jet]).deltaR(momenta(objects.p4[pair_object]))
    nearest = _first_of_groups(np.lexsort((distance, pair_object)), pair_object)  # each object's nearest jet
    claims = nearest[distance[nearest] < radius]
    chosen = _first_of_groups(claims[np.lexsort((distance[claims], pair_jet[claims]))], pair_jet)
    jet, owner = pair_jet[chosen], pair_object[chosen]
    counts, quark_p4 = quarks_of(objects, owner)
    quark_of = np.repeat(np.arange(len(owner)), counts)
    quark_distance = momenta(jets.p4[jet[quark_of]]).deltaR(momenta(quark_p4))
    contained = np.bincount(quark_of[quark_distance >= radius], minlength=len(jet)) == 0
    labels = np.full(len(jets.event), -1, dtype=np.int64)
    labels[jet[contained]] = owner[contained]
    return labels


def quarks_of(objects: HardObjects, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many decay quarks each object in `index` has, and their (m, 4) momenta in that order."""
    start = np.searchsorted(objects.quark_object, index, side="left")
    stop = np.searchsorted(objects.quark_object, index, side="right")
    return stop - start, objects.quark_p4[event_pairs(start, stop)[1]]


def nearest_jet(jets: Jets, others: Jets, radius: float) -> np.ndarray:
    """Index of the nearest jet of `others` in the same event within Delta R < radius of each jet, or -1."""
    pair_jet, pair_other = event_pairs(np.searchsorted(others.event, jets.event, side="left"),
                                       np.searchsorted(others.event, jets.event, side="right"))
    distance = momenta(jets.p4[pair_jet]).deltaR(momenta(others.p4[pair_other]))
    nearest = _first_of_groups(np.lexsort((distance, pair_jet)), pair_jet)
    nearest = nearest[distance[nearest] < radius]
    index = np.full(len(jets.event), -1, dtype=np.int64)
    index[pair_jet[nearest]] = pair_other[nearest]
    return index
