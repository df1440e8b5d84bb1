"""The generator's optional detector step (rootml.simulate): EFlow candidates replace the particles for clustering;
each jet keeps its generator-level jet and the calorimeter cells within Delta R < R of its axis. With pileup, the
minimum-bias particles of each event go through the same detector, and charged-hadron subtraction removes their
tracks."""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import numpy as np

from rootml.generate.clustering import Jets, cluster_jets
from rootml.generate.events import EventRecord
from rootml.generate.matching import event_pairs, nearest_jet
from rootml.generate.minbias import MinBiasPool, Particles, minbias_pool, overlay
from rootml.generate.momenta import momenta
from rootml.generate.settings import GenerateSettings, PileupSettings
from rootml.simulate.cards import Card, load_card
from rootml.simulate.detector import Cells, Detected, simulate_events
from rootml.simulate.pileup import chs_subtracted

# generator-level jets down to this fraction of the window's pT_min are candidates for the reco jet's gen jet
GEN_PT_FRACTION = 0.5


@dataclass(frozen=True)
class Pileup:
    """The pileup settings and the job's pool of minimum-bias events."""

    settings: PileupSettings
    pool: MinBiasPool


@dataclass(frozen=True)
class Detector:
    """A detector card, the random stream of its smearing and of the pileup draws (independent of Pythia's), and
    the pileup overlaid on every event (None: none)."""

    card: Card
    rng: np.random.Generator
    pileup: Pileup | None = None


def detector_for(settings: GenerateSettings, seed: int) -> Detector | None:
    """The Detector of the `generate.simulate` and `generate.pileup` settings (None: no simulation), seeded from the
    chunk's seed; the minimum-bias pool is generated here, once per job."""
    if settings.simulate is None:
        return None
    pileup = settings.pileup_settings
    return Detector(load_card(settings.simulate), np.random.default_rng(seed),
                    None if pileup is None else Pileup(pileup, minbias_pool(pileup, settings.sqrt_s, seed)))


def _with_pileup(detector: Detector, hard: Particles, n_events: int) -> Particles:
    """The hard-scatter particles followed by the pileup overlaid on their `n_events` events (unchanged without
    pileup)."""
    if detector.pileup is None:
        return hard
    extra = overlay(detector.pileup.pool, detector.pileup.settings, n_events, detector.rng)
    return Particles(*(np.concatenate([getattr(hard, name), getattr(extra, name)])
                       for name in ("event", "pid", "px", "py", "pz", "energy", "dz")))


def detect(detector: Detector, record: EventRecord, visible: np.ndarray) -> Detected:
    """The detector's response to the `visible` particles of `record`, with the pileup overlaid when configured."""
    particles = _with_pileup(detector, Particles(
        event=record.event[visible], pid=record.pid[visible], px=record.px[visible], py=record.py[visible],
        pz=record.pz[visible], energy=record.energy[visible], dz=np.full(len(visible), np.nan)), len(record.counts))
    resolution = np.inf if detector.pileup is None else detector.pileup.settings.z_resolution
    return simulate_events(detector.card, particles.event, particles.pid, particles.px, particles.py, particles.pz,
                           particles.energy, detector.rng, pileup=~np.isnan(particles.dz),
                           subtract=chs_subtracted(particles.dz, resolution))


def detected_record(detector: Detector, record: EventRecord, visible: np.ndarray) -> tuple[EventRecord, Cells]:
    """The EFlow candidates of every event of `record` as an EventRecord (status 1), and the lit cells."""
    detected = detect(detector, record, visible)
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
