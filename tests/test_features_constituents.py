"""Constituent features: pT ordering, truncation, zero padding, mask and hand-computed values."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from rootml.columns import PARTICLE_FLAG_COLUMNS
from rootml.errors import ConfigError, InputError
from rootml.features.constituents import CONSTITUENT_FEATURES, constituent_features, padded_kinematics

# One 3-particle jet (stored in increasing pT, so sorting matters) and one empty jet.
PT = [20.0, 50.0, 30.0]
PHI_LAB = [0.3, -0.2, 0.5]
JETS = {
    "part_px": ak.Array([[pt * np.cos(phi) for pt, phi in zip(PT, PHI_LAB)], []]),
    "part_py": ak.Array([[pt * np.sin(phi) for pt, phi in zip(PT, PHI_LAB)], []]),
    "part_energy": ak.Array([[25.0, 60.0, 40.0], []]),
    "part_deta": ak.Array([[0.1, -0.2, 0.05], []]),
    "part_dphi": ak.Array([[0.3, 0.0, -0.12], []]),
    "part_charge": ak.Array([[1.0, 0.0, -1.0], []]),
    "part_isChargedHadron": ak.Array([[1.0, 0.0, 0.0], []]),
    "part_isNeutralHadron": ak.Array([[0.0, 0.0, 0.0], []]),
    "part_isPhoton": ak.Array([[0.0, 1.0, 0.0], []]),
    "part_isElectron": ak.Array([[0.0, 0.0, 1.0], []]),
    "part_isMuon": ak.Array([[0.0, 0.0, 0.0], []]),
    "jet_pt": np.array([95.0, 0.0]),
    "jet_energy": np.array([125.0, 0.0]),
}


def test_values_sorted_by_pt_on_a_three_particle_jet() -> None:
    """Every feature by hand, in decreasing-pT order (50, 30, 20), with the 4th slot padded."""
    features, mask = constituent_features(JETS, CONSTITUENT_FEATURES, n_particles=4)
    assert features.shape == (2, 4, len(CONSTITUENT_FEATURES)) and features.dtype == np.float32
    col = {name: features[0, :3, i] for i, name in enumerate(CONSTITUENT_FEATURES)}
    np.testing.assert_allclose(col["part_logpt"], np.log([50.0, 30.0, 20.0]), rtol=1e-6)
    np.testing.assert_allclose(col["part_loge"], np.log([60.0, 40.0, 25.0]), rtol=1e-6)
    np.testing.assert_allclose(col["part_logptrel"], np.log(np.array([50.0, 30.0, 20.0]) / 95.0), rtol=1e-6)
    np.testing.assert_allclose(col["part_logerel"], np.log(np.array([60.0, 40.0, 25.0]) / 125.0), rtol=1e-6)
    np.testing.assert_allclose(col["part_deta"], [-0.2, 0.05, 0.1], rtol=1e-6)
    np.testing.assert_allclose(col["part_dphi"], [0.0, -0.12, 0.3], rtol=1e-6)
    np.testing.assert_allclose(col["part_deltaR"], [0.2, np.hypot(0.05, 0.12), np.hypot(0.1, 0.3)], rtol=1e-6)
    np.testing.assert_array_equal(col["part_charge"], [0.0, -1.0, 1.0])
    np.testing.assert_array_equal(col["part_isPhoton"], [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(col["part_isElectron"], [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(col["part_isChargedHadron"], [0.0, 0.0, 1.0])
    assert mask.tolist() == [[True, True, True, False], [False] * 4]
    assert np.all(features[0, 3] == 0.0) and np.all(features[1] == 0.0)


def test_truncation_keeps_the_hardest_particles() -> None:
    """n_particles=2 keeps the two highest-pT constituents, in order, all unmasked."""
    features, mask = constituent_features(JETS, ["part_logpt", "part_charge"], n_particles=2)
    assert features.shape == (2, 2, 2)
    np.testing.assert_allclose(features[0, :, 0], np.log([50.0, 30.0]), rtol=1e-6)
    assert mask.tolist() == [[True, True], [False, False]]


def test_padded_kinematics_for_images_and_graphs() -> None:
    """pt, deta, dphi, energy, charge sorted by pT, zero padded, with the mask."""
    kin = padded_kinematics(JETS, n_particles=5)
    assert set(kin) == {"pt", "deta", "dphi", "energy", "charge", "mask"}
    np.testing.assert_allclose(kin["pt"][0], [50.0, 30.0, 20.0, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(kin["deta"][0], [-0.2, 0.05, 0.1, 0.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(kin["energy"][0], [60.0, 40.0, 25.0, 0.0, 0.0], rtol=1e-6)
    assert kin["mask"].dtype == bool and kin["mask"].sum() == 3
    assert all(kin[k].dtype == np.float32 and kin[k].shape == (2, 5) for k in kin if k != "mask")


def test_record_array_input_and_ties_keep_input_order() -> None:
    """An awkward record array works like a dict; equal-pT particles keep their input order."""
    jets = ak.Array({"part_px": [[10.0, 10.0]], "part_py": [[0.0, 0.0]], "part_deta": [[0.1, 0.2]]})
    features, mask = constituent_features(jets, ["part_deta"], n_particles=3)
    np.testing.assert_allclose(features[0, :, 0], [0.1, 0.2, 0.0], rtol=1e-6)
    assert mask.tolist() == [[True, True, False]]


def test_errors_name_the_feature_the_column_or_the_key() -> None:
    """Unknown names list the known ones; missing columns and zero pT name the branch; bad n_particles."""
    with pytest.raises(ConfigError, match=r"features\.constituents.*part_bogus.*part_isMuon"):
        constituent_features(JETS, ["part_logpt", "part_bogus"], n_particles=4)
    without_energy = {k: v for k, v in JETS.items() if k != "jet_energy"}
    with pytest.raises(InputError, match="jet_energy"):
        constituent_features(without_energy, ["part_logerel"], n_particles=4)
    zero_pt = {**JETS, "part_px": ak.Array([[0.0, 50.0, 30.0], []]), "part_py": ak.Array([[0.0, 0.0, 0.0], []])}
    with pytest.raises(InputError, match="part_logpt"):
        constituent_features(zero_pt, ["part_logpt"], n_particles=4)
    with pytest.raises(ConfigError, match="n_particles"):
        padded_kinematics(JETS, n_particles=0)
    assert set(PARTICLE_FLAG_COLUMNS) <= set(CONSTITUENT_FEATURES)
