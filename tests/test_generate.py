"""Stage generate: Pythia 8 + FastJet jets in the window, truth-matched, reproducible, JetClass-style on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import uproot
import vector

from rootml.errors import ConfigError
from rootml.generate import generate_chunk, generate_jets
from rootml.generate.settings import GenerateSettings
from rootml.job import job_logging

R = 0.8
SETTINGS = GenerateSettings.from_config({})  # the schema's defaults: 13 TeV, R = 0.8, 500 < pT < 700 GeV, |eta| < 2


@pytest.fixture(scope="module")
def w_jets():
    """Thirty truth-matched W -> qq jets (shared by the tests of this module)."""
    return generate_jets(process="wqq", n_jets=30, seed=7, settings=SETTINGS, progress=False)


def _delta_r(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Delta R between rows of (n, 4) px, py, pz, E arrays."""
    va = vector.array({"px": a[:, 0], "py": a[:, 1], "pz": a[:, 2], "E": a[:, 3]})
    vb = vector.array({"px": b[:, 0], "py": b[:, 1], "pz": b[:, 2], "E": b[:, 3]})
    return va.deltaR(vb)


def test_jets_lie_in_the_window_and_carry_their_w(w_jets) -> None:
    jets = vector.array({"px": w_jets.p4[:, 0], "py": w_jets.p4[:, 1], "pz": w_jets.p4[:, 2], "E": w_jets.p4[:, 3]})
    assert len(jets) == 30
    assert np.all((jets.pt > 500) & (jets.pt < 700))
    assert np.all(np.abs(jets.eta) < 2.0)
    assert np.all(_delta_r(w_jets.p4, w_jets.object_p4) < R)
    # the truth object is the W: its mass, and two decay quarks, all inside the jet
    object_mass = vector.array({"px": w_jets.object_p4[:, 0], "py": w_jets.object_p4[:, 1],
                                "pz": w_jets.object_p4[:, 2], "E": w_jets.object_p4[:, 3]}).mass
    np.testing.assert_allclose(np.median(object_mass), 80.4, atol=3.0)
    counts = [len(q) for q in w_jets.quarks.px.tolist()]
    assert counts == [2] * 30
    for jet, quarks in zip(w_jets.p4, w_jets.quarks.tolist(), strict=True):
        q = np.array([[p["px"], p["py"], p["pz"], p["E"]] for p in quarks])
        assert np.all(_delta_r(np.repeat(jet[None], len(q), axis=0), q) < R)
    # the jets themselves peak near the W mass (generator level, no detector)
    assert 65 < np.median(jets.mass) < 95


def test_constituents_are_pt_sorted_and_sum_to_the_jet(w_jets) -> None:
    for jet, parts in zip(w_jets.p4[:5], w_jets.constituents[:5], strict=True):
        pt = np.hypot(parts.px.to_numpy(), parts.py.to_numpy())
        assert np.all(np.diff(pt) <= 0)
        total = [float(np.sum(parts[c])) for c in ("px", "py", "pz", "E")]
        np.testing.assert_allclose(total, jet, rtol=1e-6)


def test_same_seed_same_jets_other_seed_other_jets(w_jets) -> None:
    again = generate_jets(process="wqq", n_jets=30, seed=7, settings=SETTINGS, progress=False)
    other = generate_jets(process="wqq", n_jets=30, seed=8, settings=SETTINGS, progress=False)
    np.testing.assert_array_equal(again.p4, w_jets.p4)
    assert not np.array_equal(other.p4[:5], w_jets.p4[:5])


def test_chunk_file_is_jetclass_style_and_pythia_talks_only_to_the_log(tmp_path: Path, capfd) -> None:
    out, log = tmp_path / "t.root", tmp_path / "logs" / "t.log"
    with job_logging(log):
        stats = generate_chunk(out, process="tbqq", n_jets=20, seed=3, label="t", classes=["q", "t"],
                               settings=SETTINGS, progress=False)
    captured = capfd.readouterr()
    assert "PYTHIA" not in captured.out and "PYTHIA" not in captured.err
    text = log.read_text()
    assert "PYTHIA Event and Cross Section Statistics" in text and "kept 20" in text
    assert stats["jets"] == 20 and stats["events"] >= 10
    tree = uproot.open(out)["tree"]
    names = set(tree.keys())
    for branch in ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_mass", "jet_nparticles", "jet_sdmass",
                   "jet_tau1", "jet_tau4", "part_px", "part_deta", "part_dphi", "part_charge", "part_pid",
                   "part_isPhoton", "label_q", "label_t"):
        assert branch in names, branch
    arrays = tree.arrays(["jet_sdmass", "jet_nparticles", "part_px", "label_q", "label_t", "part_dphi"], library="ak")
    assert list(np.asarray(arrays.label_t)) == [1.0] * 20 and not np.any(np.asarray(arrays.label_q))
    np.testing.assert_array_equal(np.asarray(arrays.jet_nparticles), [len(x) for x in arrays.part_px.tolist()])
    # top jets: soft-drop mass peaks near the top mass
    assert 140 < np.median(np.asarray(arrays.jet_sdmass)) < 200
    # anti-kT clusters within R in (rapidity, phi): |delta phi| stays below R (delta eta can exceed it
    # for soft massive hadrons, whose pseudorapidity differs from their rapidity)
    assert float(np.max(np.abs(np.concatenate(arrays.part_dphi.tolist())))) < R


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"process": "higgs"}, "process"),
        ({"settings": GenerateSettings.from_config({"pt_min": 700.0, "pt_max": 500.0})}, "generate.pt_min"),
        ({"n_jets": 0}, "n_jets"),
    ],
)
def test_bad_generator_arguments_name_the_key(tmp_path: Path, kwargs: dict, key: str) -> None:
    args = {"process": "gluon", "n_jets": 5, "seed": 1, "label": "g", "classes": ["g"], "settings": SETTINGS,
            "progress": False} | kwargs
    with pytest.raises(ConfigError) as error:
        generate_chunk(tmp_path / "x.root", **args)
    assert error.value.key == key
    assert not (tmp_path / "x.root").exists()


def test_a_window_no_jet_can_reach_stops_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gave no jet"):
        generate_chunk(tmp_path / "x.root", process="tbqq", n_jets=5, seed=1, label="t", classes=["t"],
                       settings=GenerateSettings.from_config({"abs_eta_max": 0.001}), progress=False,
                       max_events_without_jets=100)
    assert list(tmp_path.iterdir()) == []
