"""rootml.simulate: simulated tracks and ECAL cells match the card; energy flow conserves energy; Pythia jets go
through the detector into the JetClass layout with gen jets and cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import uproot

from rootml.generate import generate_chunk
from rootml.generate.settings import GenerateSettings
from rootml.job import job_logging
from rootml.simulate.cards import energy_resolution, load_card, track_resolution
from rootml.simulate.detector import NEUTRAL_HADRON, PHOTON, TRACK, simulate_events
from rootml.simulate.tracking import reconstruct_tracks

CMS = load_card("cms")
N = 20000


def _single(pid: int, energy: float, eta: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """One particle per event: event, pid, px, py, pz, E of massless particles at `eta`, random phi."""
    phi = np.random.default_rng(seed).uniform(-3.0, 3.0, len(eta))
    pt = energy / np.cosh(eta)
    return (np.arange(len(eta)), np.full(len(eta), pid), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta),
            np.full(len(eta), energy))


def test_track_resolution_and_efficiency_match_the_card() -> None:
    rng = np.random.default_rng(1)
    eta = rng.uniform(-0.5, 0.5, N)
    pt = np.full(N, 100.0)
    tracks = reconstruct_tracks(CMS, np.full(N, 211), np.ones(N), pt, eta, np.zeros(N), np.zeros(N), rng)
    assert abs(len(tracks.pt) / N - 0.95) < 0.006  # 4 binomial standard deviations
    expected = track_resolution(CMS.tracking["charged_hadron"], np.array([100.0]), np.array([0.0]))[0]
    np.testing.assert_allclose(np.std(tracks.pt / 100.0), expected, rtol=0.03)
    np.testing.assert_allclose(np.mean(tracks.pt), 100.0, rtol=1e-3)
    soft = reconstruct_tracks(CMS, np.full(N, -211), -np.ones(N), np.full(N, 0.5), np.full(N, 2.0), np.zeros(N),
                              np.zeros(N), rng)
    assert abs(len(soft.pt) / N - 0.60) < 0.015


def test_ecal_resolution_of_single_photons_matches_the_card() -> None:
    eta = np.random.default_rng(2).uniform(0.0, 0.3, N)
    detected = simulate_events(CMS, *_single(22, 50.0, eta, 3), np.random.default_rng(4))
    cells, candidates = detected.cells, detected.candidates
    assert np.all(cells.depth == 0) and len(cells.event) == N  # one ECAL cell per photon, no HCAL energy
    assert np.all(candidates.kind == PHOTON) and np.all(candidates.pid == 22)
    expected = np.mean(energy_resolution(CMS.ecal, np.full(N, 50.0), cells.eta))
    np.testing.assert_allclose(np.std(cells.energy), expected, rtol=0.03)
    np.testing.assert_allclose(np.mean(cells.energy), 50.0, rtol=2e-3)


def _eflow_over_true(mean_energy: float) -> np.ndarray:
    """EFlow energy over true energy of 400 jet-like events: 40 particles in a cone, about the jets' mix of charged
    hadrons (60%), photons (25%) and neutral hadrons (15%), exponential energies of the given mean."""
    rng = np.random.default_rng(5)
    events, per_event = 400, 40
    event = np.repeat(np.arange(events), per_event)
    pid = rng.choice([211, -211, 321, -211, 22, 22, 2112, 130], p=[0.2, 0.2, 0.1, 0.1, 0.125, 0.125, 0.1, 0.05],
                     size=len(event))
    energy = rng.exponential(mean_energy, len(event)) + 0.5
    eta, phi = 0.4 + rng.normal(0, 0.15, len(event)), rng.normal(0, 0.15, len(event))
    pt = energy / np.cosh(eta)
    candidates = simulate_events(CMS, event, pid, pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), energy,
                                 rng).candidates
    assert set(np.unique(candidates.kind)) == {TRACK, PHOTON, NEUTRAL_HADRON}
    return np.bincount(candidates.event, weights=candidates.energy, minlength=events) / np.bincount(
        event, weights=energy)


def test_energy_flow_conserves_jet_energy_on_average() -> None:
    ratio = _eflow_over_true(20.0)
    assert abs(np.mean(ratio) - 1.0) < 0.02
    assert 0.01 < np.std(ratio) < 0.1
    # the cells below EnergyMin or EnergySignificanceMin standard deviations lose soft neutral energy, as in Delphes
    assert np.mean(_eflow_over_true(5.0)) < np.mean(ratio)


def test_same_seed_same_detector_response() -> None:
    particles = _single(211, 20.0, np.linspace(-2, 2, 200), 6)
    first = simulate_events(CMS, *particles, np.random.default_rng(7)).candidates
    again = simulate_events(CMS, *particles, np.random.default_rng(7)).candidates
    other = simulate_events(CMS, *particles, np.random.default_rng(8)).candidates
    np.testing.assert_array_equal(first.energy, again.energy)
    assert not np.array_equal(first.energy[:50], other.energy[:50])


def test_pythia_jets_through_the_detector(tmp_path: Path) -> None:
    out = tmp_path / "w.root"
    with job_logging(tmp_path / "w.log"):
        generate_chunk(out, process="wqq", n_jets=6, seed=3, label="w", classes=["q", "w"], progress=False,
                       settings=GenerateSettings.from_config({"simulate": "atlas"}))
    jets = uproot.open(out)["tree"].arrays(library="ak")
    assert len(jets) == 6
    assert np.all(np.asarray(jets.npart) > 5) and np.all(np.asarray(jets.ncell) > 5)
    np.testing.assert_allclose(np.asarray(jets.gen_jet_pt), np.asarray(jets.jet_pt), rtol=0.25)
    assert set(np.unique(np.asarray(jets.cell_depth[:, 0]))) <= {0, 1}
    assert np.all(np.hypot(np.asarray(np.ravel(jets.cell_deta)), np.asarray(np.ravel(jets.cell_dphi))) < 0.8)
    flags = jets.part_isChargedHadron + jets.part_isNeutralHadron + jets.part_isPhoton + jets.part_isElectron \
        + jets.part_isMuon
    assert np.all(np.ravel(flags) == 1)  # every EFlow candidate has exactly one type
