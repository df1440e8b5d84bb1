"""Pileup from minimum-bias Pythia events: a pool generated once per job, overlaid at a Poisson(mu) count per event.

Minimum-bias generation costs ~3 ms per event (13 TeV, SoftQCD, ~250 visible particles): at mu = 50 a chunk of
1000 jets would need ~10^5 of them. Like Delphes' PileUpMerger, which reads a pre-generated MinBias.pileup file,
each job generates `pool_events` events once and draws from them with replacement with the job's seed; every drawn
event is rotated by a random phi (as PileUpMerger does) and placed at its own vertex z, so repeats are not copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rootml.generate.events import next_events, start_pythia, visible_final_state
from rootml.generate.matching import event_pairs
from rootml.generate.processes import pythia_seed
from rootml.generate.settings import PileupSettings
from rootml.seeds import derive_seed
from rootml.simulate.pileup import draw_vertex_z


@dataclass(frozen=True)
class Particles:
    """Flat visible final-state particles with the event each belongs to and its vertex z offset from the hard
    vertex (mm; NaN for the hard scatter's own particles)."""

    event: np.ndarray
    pid: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    energy: np.ndarray
    dz: np.ndarray


@dataclass(frozen=True)
class MinBiasPool:
    """The pool of minimum-bias events of one job: particles per event and their flat visible final state."""

    counts: np.ndarray
    particles: Particles  # event: the pool event number, dz: unused (NaN)

    @property
    def offsets(self) -> np.ndarray:
        """Flat index of each pool event's first particle."""
        return np.cumsum(self.counts) - self.counts


def minbias_pool(pileup: PileupSettings, sqrt_s: float, seed: int) -> MinBiasPool:
    """`pool_events` minimum-bias events (SoftQCD:<process>) with a Pythia seed derived from the job's seed."""
    pythia = start_pythia(["Print:quiet = on", "Next:numberCount = 0", f"Beams:eCM = {sqrt_s:g}",
                           f"SoftQCD:{pileup.process} = on", "Random:setSeed = on",
                           f"Random:seed = {pythia_seed(derive_seed(seed, 'pileup'))}"])
    record = next_events(pythia, pileup.pool_events)
    visible = visible_final_state(record)
    event = record.event[visible]
    return MinBiasPool(
        counts=np.bincount(event, minlength=len(record.counts)),
        particles=Particles(event=event, pid=record.pid[visible], px=record.px[visible], py=record.py[visible],
                            pz=record.pz[visible], energy=record.energy[visible],
                            dz=np.full(len(visible), np.nan)),
    )


def overlay(pool: MinBiasPool, pileup: PileupSettings, n_events: int, rng: np.random.Generator) -> Particles:
    """The pileup particles of `n_events` events: Poisson(mu) pool events each, rotated by a random phi, at vertex
    z offsets from each event's hard vertex (all vertices drawn from the same beam-spot distribution)."""
    n_pileup = rng.poisson(pileup.mu, n_events)
    vertex_event = np.repeat(np.arange(n_events), n_pileup)
    drawn = rng.integers(0, len(pool.counts), len(vertex_event))
    phi = rng.uniform(-np.pi, np.pi, len(vertex_event))
    z_hard = draw_vertex_z(n_events, pileup.vertex_z_sigma, pileup.vertex_z_max, rng)
    z_pileup = draw_vertex_z(len(vertex_event), pileup.vertex_z_sigma, pileup.vertex_z_max, rng)
    vertex, index = event_pairs(pool.offsets[drawn], pool.offsets[drawn] + pool.counts[drawn])
    cos, sin = np.cos(phi[vertex]), np.sin(phi[vertex])
    source = pool.particles
    event = vertex_event[vertex]
    return Particles(event=event, pid=source.pid[index], px=cos * source.px[index] - sin * source.py[index],
                     py=sin * source.px[index] + cos * source.py[index], pz=source.pz[index],
                     energy=source.energy[index], dz=z_pileup[vertex] - z_hard[event])
