"""Soft-drop mass and N-subjettiness: hand-built jets with known answers, fjcontrib and CMS NanoAOD cross-checks."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import fastjet
import numpy as np
import pytest
import uproot
import vector

from rootml.features.substructure import substructure_columns
from synthetic import random_jets

R = 0.8


def four_momenta(jets: list[list[tuple[float, float, float]]]) -> dict[str, ak.Array]:
    """Jagged px, py, pz, energy of massless constituents given per jet as (pt, eta, phi) triples."""
    counts = [len(jet) for jet in jets]
    flat = np.array([c for jet in jets for c in jet], dtype=np.float64).reshape(-1, 3)
    p4 = vector.array({"pt": flat[:, 0], "eta": flat[:, 1], "phi": flat[:, 2], "mass": np.zeros(len(flat))})
    return {name: ak.unflatten(np.asarray(getattr(p4, attr)), counts)
            for name, attr in (("px", "px"), ("py", "py"), ("pz", "pz"), ("energy", "E"))}


def prong(pt: float, eta: float, phi: float, spread: float = 0.01) -> list[tuple[float, float, float]]:
    """Three nearly collinear particles sharing pt around (eta, phi)."""
    return [(pt / 2, eta, phi), (pt / 4, eta + spread, phi), (pt / 4, eta, phi - spread)]


def test_two_prong_has_small_tau21_and_one_prong_large() -> None:
    """Two hard separated prongs give tau2 << tau1; one diffuse prong does not."""
    one_prong = [(300.0, 0.0, 0.0)] + [(20.0, 0.1 * np.cos(a), 0.1 * np.sin(a)) for a in np.arange(8) * np.pi / 4]
    two_prong = prong(250.0, -0.2, 0.0) + prong(250.0, 0.2, 0.0)
    cols = substructure_columns(**four_momenta([one_prong, two_prong]), jet_radius=R)
    tau21 = cols["jet_tau2"] / cols["jet_tau1"]
    assert tau21[0] > 0.6
    assert tau21[1] < 0.1
    assert all(cols[k].dtype == np.float32 and cols[k].shape == (2,) for k in cols)


def test_three_prong_has_small_tau32() -> None:
    """Three hard prongs: tau3 << tau2 while tau2/tau1 stays large."""
    three = prong(200.0, 0.0, 0.25) + prong(200.0, 0.2165, -0.125) + prong(200.0, -0.2165, -0.125)
    cols = substructure_columns(**four_momenta([three]), jet_radius=R)
    assert cols["jet_tau3"][0] / cols["jet_tau2"][0] < 0.1
    assert cols["jet_tau2"][0] / cols["jet_tau1"][0] > 0.5


def test_tau1_of_two_equal_particles_by_hand() -> None:
    """Two equal-pT particles dR apart: tau1 = pT dR / (2 pT R) = dR / (2R), other taus vanish."""
    cols = substructure_columns(**four_momenta([[(100.0, -0.15, 0.0), (100.0, 0.15, 0.0)]]), jet_radius=R)
    assert cols["jet_tau1"][0] == pytest.approx(0.3 / (2 * R), rel=1e-4)
    assert cols["jet_tau2"][0] == cols["jet_tau3"][0] == cols["jet_tau4"][0] == 0.0


def test_fewer_constituents_than_n_give_zero_and_empty_jets_are_zero() -> None:
    """tau_N = 0 when a jet has N or fewer constituents; an empty jet gets all zeros."""
    jets = [[], [(50.0, 0.0, 0.0)], [(50.0, 0.0, 0.0), (30.0, 0.3, 0.1), (20.0, -0.2, 0.2)]]
    cols = substructure_columns(**four_momenta(jets), jet_radius=R)
    assert [cols[f"jet_tau{n}"][0] for n in (1, 2, 3, 4)] == [0.0] * 4
    assert cols["jet_sdmass"][0] == 0.0
    assert cols["jet_tau1"][1] == 0.0 and cols["jet_sdmass"][1] == pytest.approx(0.0, abs=1e-3)
    assert cols["jet_tau1"][2] > cols["jet_tau2"][2] > 0.0
    assert cols["jet_tau3"][2] == cols["jet_tau4"][2] == 0.0


def test_soft_drop_removes_soft_wide_angle_particle() -> None:
    """A 3 GeV particle 0.7 away from two hard prongs is groomed: sdmass = mass of the two prongs."""
    hard = [(250.0, -0.1, 0.0), (150.0, 0.1, 0.05)]
    p4 = four_momenta([hard + [(3.0, 0.1, 0.7)]])
    cols = substructure_columns(**p4, jet_radius=R)
    two_body = np.sqrt(2 * 250.0 * 150.0 * (np.cosh(0.2) - np.cos(0.05)))
    total = {k: float(ak.sum(v)) for k, v in p4.items()}
    full_mass = np.sqrt(total["energy"] ** 2 - total["px"] ** 2 - total["py"] ** 2 - total["pz"] ** 2)
    assert cols["jet_sdmass"][0] == pytest.approx(two_body, rel=1e-4)
    assert full_mass > two_body + 5.0


def test_soft_drop_keeps_symmetric_split_and_drops_asymmetric_one() -> None:
    """z = 0.2 > z_cut keeps both prongs; z = 0.05 < z_cut leaves the harder prong alone (mass ~0)."""
    kept = [(400.0, 0.0, 0.0), (100.0, 0.3, 0.0)]
    dropped = [(475.0, 0.0, 0.0), (25.0, 0.3, 0.0)]
    cols = substructure_columns(**four_momenta([kept, dropped]), jet_radius=R)
    assert cols["jet_sdmass"][0] == pytest.approx(np.sqrt(2 * 400 * 100 * (np.cosh(0.3) - 1)), rel=1e-4)
    assert cols["jet_sdmass"][1] == pytest.approx(0.0, abs=1e-2)


def test_soft_drop_equals_fjcontrib_soft_drop() -> None:
    """The C/A walk gives exactly fjcontrib's SoftDrop(beta=0, z_cut=0.1) mass on random jets."""
    jets = random_jets(200, 30, seed=3)
    cols = substructure_columns(**jets, jet_radius=R)
    constituents = ak.zip({"px": jets["px"], "py": jets["py"], "pz": jets["pz"], "E": jets["energy"]})
    sequence = fastjet.ClusterSequence(constituents, fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0))
    reference = sequence.exclusive_jets_softdrop_grooming(njets=1, beta=0.0, symmetry_cut=0.1, R0=R).msoftdrop
    np.testing.assert_allclose(cols["jet_sdmass"], np.asarray(reference), rtol=1e-6)
    total = {k: np.asarray(ak.sum(v, axis=1)) for k, v in jets.items()}
    full_mass = np.sqrt(total["energy"] ** 2 - total["px"] ** 2 - total["py"] ** 2 - total["pz"] ** 2)
    assert np.mean(cols["jet_sdmass"] < full_mass - 1e-3) > 0.2


def test_many_jets_give_ordered_taus_and_physical_masses() -> None:
    """On 3000 random jets (the speed of this lives in benchmarks/substructure.py): tau_N falls with N, the
    soft-drop mass is non-negative and never above the jet mass."""
    jets = random_jets(3000, 50, seed=7)
    out = substructure_columns(**jets, jet_radius=R)
    assert np.all(out["jet_tau1"] >= out["jet_tau2"]) and np.all(out["jet_tau2"] >= out["jet_tau3"])
    total = {k: np.asarray(ak.sum(v, axis=1)) for k, v in jets.items()}
    mass = np.sqrt(np.maximum(total["energy"] ** 2 - total["px"] ** 2 - total["py"] ** 2 - total["pz"] ** 2, 0))
    assert np.all(out["jet_sdmass"] >= 0) and np.all(out["jet_sdmass"] <= mass * (1 + 1e-5) + 1e-3)


def test_taus_match_cms_nanoaod_fatjets(shared_data: Path) -> None:
    """On real CMS PFNano AK8 jets (PUPPI-weighted PF candidates), tau_1..4 reproduce NanoAOD's
    FatJet_tau1..4, which CMS computes with the same fjcontrib setup (OnePass_KT_Axes, NormalizedMeasure(1, 0.8))."""
    events = uproot.open(shared_data / "pfnano.root")["Events"].arrays(
        ["PFCands_pt", "PFCands_eta", "PFCands_phi", "PFCands_mass", "PFCands_puppiWeight",
         "FatJetPFCands_pFCandsIdx", "FatJetPFCands_jetIdx", "FatJet_tau1", "FatJet_tau2", "FatJet_tau3", "FatJet_tau4"]
    )
    per_jet: dict[str, list[np.ndarray]] = {"px": [], "py": [], "pz": [], "energy": []}
    for event in events:
        cands = vector.array({k: np.asarray(event[f"PFCands_{k}"]) for k in ("pt", "eta", "phi", "mass")})
        weight = np.asarray(event.PFCands_puppiWeight)
        for jet in range(len(event.FatJet_tau1)):
            idx = np.asarray(event.FatJetPFCands_pFCandsIdx)[np.asarray(event.FatJetPFCands_jetIdx) == jet]
            for name, attr in (("px", "px"), ("py", "py"), ("pz", "pz"), ("energy", "E")):
                per_jet[name].append(getattr(cands, attr)[idx] * weight[idx])
    cols = substructure_columns(**{k: ak.Array(v) for k, v in per_jet.items()}, jet_radius=R)
    assert len(cols["jet_tau1"]) == 24
    for n in (1, 2, 3, 4):
        nano = np.asarray(ak.flatten(events[f"FatJet_tau{n}"]))
        relative = np.abs(cols[f"jet_tau{n}"] / nano - 1)
        assert np.median(relative) < 0.005 and relative.max() < 0.1, (n, relative)
