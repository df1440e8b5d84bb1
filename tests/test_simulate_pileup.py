"""Pileup (rootml.generate.minbias, rootml.simulate.pileup): minimum-bias events overlaid on fixed hard events, the
neutral energy in the jets growing with mu, charged-hadron subtraction removing the pileup tracks, the seed."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from rootml.errors import ConfigError
from rootml.generate import generate_chunk
from rootml.generate.clustering import cluster_jets, in_window
from rootml.generate.events import EventRecord, next_events, start_pythia, visible_final_state
from rootml.generate.minbias import MinBiasPool, minbias_pool
from rootml.generate.momenta import momenta
from rootml.generate.processes import process_spec, pythia_settings
from rootml.generate.settings import GenerateSettings, PileupSettings
from rootml.generate.simulated import Detector, Pileup, detect
from rootml.simulate.cards import load_card
from rootml.simulate.detector import TRACK, Detected
from rootml.simulate.pileup import chs_subtracted, draw_vertex_z

CMS = load_card("cms")
RADIUS = 0.8


@cache
def _hard_events() -> EventRecord:
    """12 QCD dijet events in the default 500-700 GeV window (the same for every mu)."""
    pythia = start_pythia(pythia_settings(process_spec("qcd"), sqrt_s=13000.0, pt_min=500.0, pt_max=700.0, seed=11))
    return next_events(pythia, 12)


@cache
def _pool() -> MinBiasPool:
    """A small pool of minimum-bias events (40 events: ~0.2 s)."""
    return minbias_pool(_settings(1.0), 13000.0, seed=5)


def _settings(mu: float, z_resolution: float = 0.1) -> PileupSettings:
    """Poisson(mu) pileup from a pool of 40 events."""
    block = {"mu": mu, "pool_events": 40, "z_resolution": z_resolution}
    return GenerateSettings.from_config({"simulate": "cms", "pileup": block}).pileup_settings


def _detect(mu: float, seed: int = 1, z_resolution: float = 0.1) -> Detected:
    """The CMS detector's response to the hard events with Poisson(mu) pileup (mu 0: none)."""
    record = _hard_events()
    pileup = Pileup(_settings(mu, z_resolution), _pool()) if mu > 0 else None
    return detect(Detector(CMS, np.random.default_rng(seed), pileup), record, visible_final_state(record))


def _neutral_energy_in_jets(detected: Detected) -> float:
    """Mean neutral EFlow energy within Delta R < R of the generator-level jets in the window."""
    record = _hard_events()
    jets = cluster_jets(record, visible_final_state(record), RADIUS, 500.0)
    jets = jets[in_window(jets, 500.0, 700.0, 2.0)]
    axis = momenta(jets.p4)
    c = detected.candidates
    neutral = momenta(np.stack([c.px, c.py, c.pz, c.energy], axis=1))
    near = (c.event[None, :] == jets.event[:, None]) & (axis[:, None].deltaR(neutral[None, :]) < RADIUS)
    return float(np.mean(np.sum(near * np.where(c.kind != TRACK, c.energy, 0.0)[None, :], axis=1)))


def test_neutral_energy_in_the_jets_grows_with_mu() -> None:
    # averaged over three detector seeds: an untracked hard charged hadron (5% of them) turns tens of GeV neutral
    energy = [np.mean([_neutral_energy_in_jets(_detect(mu, seed=seed)) for seed in (1, 2, 3)])
              for mu in (0.0, 50.0, 200.0)]
    assert energy[0] < energy[1] < energy[2]
    # ~1 GeV of neutral energy per interaction inside an R = 0.8 cone (jets at |eta| < 2, after the cell thresholds)
    assert 0.5 < (energy[2] - energy[0]) / 200.0 < 2.0


def test_chs_removes_the_pileup_tracks() -> None:
    with_chs, without = _detect(40.0), _detect(40.0, z_resolution=1.0e9)
    assert without.subtracted == 0
    pileup_tracks = int(np.sum(without.candidates.pileup & (without.candidates.kind == TRACK)))
    assert pileup_tracks > 1000
    # CHS acts after every random draw: the same seed gives the same candidates less the subtracted tracks
    assert with_chs.subtracted > 0.99 * pileup_tracks
    assert len(without.candidates.event) - len(with_chs.candidates.event) == with_chs.subtracted
    assert np.sum(with_chs.candidates.pileup) == pileup_tracks - with_chs.subtracted
    hard = ~without.candidates.pileup & (without.candidates.kind == TRACK)
    assert np.sum(~with_chs.candidates.pileup & (with_chs.candidates.kind == TRACK)) == np.sum(hard)


def test_same_seed_same_pileup() -> None:
    first, again, other = _detect(10.0, seed=3), _detect(10.0, seed=3), _detect(10.0, seed=4)
    np.testing.assert_array_equal(first.candidates.energy, again.candidates.energy)
    assert len(first.candidates.energy) != len(other.candidates.energy)


def test_vertices_and_subtraction_follow_the_card() -> None:
    z = draw_vertex_z(20000, 53.0, 250.0, np.random.default_rng(0))
    assert np.max(np.abs(z)) < 250.0 and abs(np.std(z) - 53.0) < 1.5
    np.testing.assert_array_equal(chs_subtracted(np.array([np.nan, 0.05, -0.2, 3.0]), 0.1),
                                  [False, False, True, True])


def test_pileup_without_a_detector_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"generate\.pileup"):
        generate_chunk(tmp_path / "x.root", process="qcd", n_jets=1, seed=1, label="q", classes=["q"],
                       progress=False, settings=GenerateSettings.from_config({"pileup": {"mu": 5.0}}))
    with pytest.raises(ConfigError, match=r"generate\.pileup\.mu"):
        GenerateSettings.from_config({"simulate": "cms", "pileup": {"mu": 0}})
