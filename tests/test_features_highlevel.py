"""High-level jet features on hand-built jets with hand-computed values."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from rootml.errors import InputError
from rootml.features.available import JET_BUILTINS
from rootml.features.highlevel import HIGHLEVEL_FEATURES, highlevel_features
from test_features_substructure import four_momenta, prong

R = 0.8


def constituent_columns(jets: list[list[tuple[float, float, float]]]) -> dict[str, ak.Array]:
    """Canonical part_px/py/pz/energy columns of massless constituents given as (pt, eta, phi)."""
    return {f"part_{k}": v for k, v in four_momenta(jets).items()}


def test_jet_kinematics_of_two_massless_particles() -> None:
    """m = sqrt(2 pT1 pT2 (cosh deta - cos dphi)); equal pT at +-phi: pT = 2 pT1 cos(phi), pz = 2 pT1 sinh(eta)."""
    jets = constituent_columns([[(300.0, 0.5, 0.1), (120.0, 0.2, -0.15)], [(100.0, 1.0, 0.2), (100.0, 1.0, -0.2)]])
    out = highlevel_features(jets, ["jet_mass", "jet_pt", "jet_eta", "jet_nparticles"], jet_radius=R)
    assert out["jet_mass"][0] == pytest.approx(np.sqrt(2 * 300 * 120 * (np.cosh(0.3) - np.cos(0.25))), rel=1e-5)
    assert out["jet_pt"][1] == pytest.approx(200 * np.cos(0.2), rel=1e-6)
    assert out["jet_eta"][1] == pytest.approx(np.arcsinh(np.sinh(1.0) / np.cos(0.2)), rel=1e-6)
    assert out["jet_nparticles"].tolist() == [2.0, 2.0]
    assert all(v.dtype == np.float32 for v in out.values())


def test_ptd_of_n_equal_particles_is_one_over_sqrt_n() -> None:
    """pT_D of n equal-pT particles = sqrt(n pT^2) / (n pT) = 1/sqrt(n); 0 for an empty jet."""
    jets = constituent_columns([[(50.0, 0.1 * i, 0.0) for i in range(n)] for n in (1, 4, 9, 0)])
    ptd = highlevel_features(jets, ["jet_ptd"], jet_radius=R)["jet_ptd"]
    np.testing.assert_allclose(ptd, [1.0, 0.5, 1 / 3, 0.0], rtol=1e-6)


def test_girth_by_hand() -> None:
    """Girth = (100*0.1 + 50*0.2 + 25*0.5) / 170 with the distances given by part_deta/part_dphi."""
    jets = {
        "part_px": ak.Array([[100.0, 0.0, 25.0]]), "part_py": ak.Array([[0.0, 50.0, 0.0]]),
        "part_deta": ak.Array([[0.06, 0.0, 0.3]]), "part_dphi": ak.Array([[0.08, 0.2, -0.4]]),
        "jet_pt": np.array([170.0]),
    }
    girth = highlevel_features(jets, ["jet_girth"], jet_radius=R)["jet_girth"]
    assert girth[0] == pytest.approx((100 * 0.1 + 50 * 0.2 + 25 * 0.5) / 170, rel=1e-6)


def test_energy_correlation_ratios() -> None:
    """C2, D2 vanish for one or two particles; an equal-pT equilateral triangle of side d has
    e2 = d^b/3, e3 = d^(3b)/27, so C2 = d^b/3 and D2 = 1."""
    d = 0.3
    triangle = [(100.0, 0.0, d / np.sqrt(3)), (100.0, d / 2, -d / (2 * np.sqrt(3))),
                (100.0, -d / 2, -d / (2 * np.sqrt(3)))]
    jets = constituent_columns([[(100.0, 0.0, 0.0)], [(100.0, 0.0, 0.0), (50.0, 0.2, 0.1)], triangle, []])
    out = highlevel_features(jets, ["jet_c2_b1", "jet_c2_b2", "jet_d2_b1", "jet_d2_b2"], jet_radius=R)
    for name in out:
        assert out[name][[0, 1, 3]].tolist() == [0.0, 0.0, 0.0]
    assert out["jet_c2_b1"][2] == pytest.approx(d / 3, rel=1e-5)
    assert out["jet_c2_b2"][2] == pytest.approx(d**2 / 3, rel=1e-5)
    assert out["jet_d2_b1"][2] == pytest.approx(1.0, rel=1e-5)
    assert out["jet_d2_b2"][2] == pytest.approx(1.0, rel=1e-5)


def test_two_prong_jet_has_lower_d2_and_tau21_than_one_prong() -> None:
    """A two-prong jet scores lower than a diffuse one-prong jet on tau21 and D2."""
    one_prong = [(300.0, 0.0, 0.0)] + [(20.0, 0.1 * np.cos(a), 0.1 * np.sin(a)) for a in np.arange(8) * np.pi / 4]
    two_prong = prong(250.0, -0.2, 0.0) + prong(250.0, 0.2, 0.0)
    out = highlevel_features(constituent_columns([one_prong, two_prong]), ["jet_tau21", "jet_d2_b1"], jet_radius=R)
    assert out["jet_tau21"][1] < 0.1 < 0.6 < out["jet_tau21"][0]
    assert out["jet_d2_b1"][1] < out["jet_d2_b1"][0]


def test_stored_substructure_is_reused_and_ratios_guard_zero() -> None:
    """JetClass-style inputs carry jet_sdmass/jet_tau*: they are used as is (no constituents needed)."""
    jets = ak.Array({"jet_sdmass": [80.0, 5.0], "jet_tau1": [0.4, 0.0], "jet_tau2": [0.1, 0.0],
                     "jet_tau3": [0.05, 0.0], "jet_tau4": [0.04, 0.0]})
    out = highlevel_features(jets, ["jet_sdmass", "jet_tau21", "jet_tau32", "jet_tau4"], jet_radius=R)
    np.testing.assert_allclose(out["jet_sdmass"], [80.0, 5.0])
    np.testing.assert_allclose(out["jet_tau21"], [0.25, 0.0])
    np.testing.assert_allclose(out["jet_tau32"], [0.5, 0.0])
    np.testing.assert_allclose(out["jet_tau4"], [0.04, 0.0])


def test_every_known_feature_on_a_chunk() -> None:
    """All features at once on canonical columns: finite, float32, one value per jet."""
    jets = constituent_columns([prong(250.0, -0.2, 0.0) + prong(250.0, 0.2, 0.0), [(80.0, 0.0, 0.0)]])
    jets.update({"part_deta": ak.Array([[0.1] * 6, [0.0]]), "part_dphi": ak.Array([[0.0] * 6, [0.0]])})
    out = highlevel_features(jets, HIGHLEVEL_FEATURES, jet_radius=R)
    assert list(out) == list(HIGHLEVEL_FEATURES)
    assert all(v.shape == (2,) and np.isfinite(v).all() for v in out.values())
    assert out["jet_girth"][0] == pytest.approx(0.1 * 500 / out["jet_pt"][0], rel=1e-5)


def test_other_names_are_stored_per_row_columns() -> None:
    """Any other name is the ingested column as float32 (no constituents needed); built-ins are computed beside it."""
    rows = ak.Array({"msd": [80.0, 20.0], "n_muons": [2, 0], "flag": [True, False]})
    out = highlevel_features(rows, ["msd", "n_muons", "flag"], jet_radius=R)
    assert list(out) == ["msd", "n_muons", "flag"] and all(v.dtype == np.float32 for v in out.values())
    np.testing.assert_array_equal(out["n_muons"], [2.0, 0.0])
    np.testing.assert_array_equal(out["flag"], [1.0, 0.0])


def test_unknown_names_lists_and_missing_columns_are_input_errors() -> None:
    """A name neither built in nor stored, a list column, a string column and a built-in without its constituents name
    the branch."""
    with pytest.raises(InputError, match=r"column missing.*jet_foo") as err:
        highlevel_features({"jet_pt": np.ones(1)}, ["jet_pt", "jet_foo"], jet_radius=R)
    assert err.value.branch == "jet_foo"
    with pytest.raises(InputError, match=r"a list column .*part_px"):
        highlevel_features(constituent_columns([[(10.0, 0.0, 0.0)]]), ["part_px"], jet_radius=R)
    with pytest.raises(InputError, match="not a numeric column .*name"):
        highlevel_features(ak.Array({"name": ["a", "b"]}), ["name"], jet_radius=R)
    with pytest.raises(InputError, match=r"part_px.*jet_girth|jet_girth.*part_px"):
        highlevel_features({"jet_pt": np.ones(1)}, ["jet_girth"], jet_radius=R)


def test_available_names_every_built_in() -> None:
    assert HIGHLEVEL_FEATURES == JET_BUILTINS
