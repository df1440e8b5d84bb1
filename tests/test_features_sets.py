"""Per-element features of a set: pT ordering, truncation, zero padding, mask, hand-computed values, the row axis
or the set's sum as the axis, and raw fields of any set."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from rootml.columns import PARTICLE_FLAG_COLUMNS
from rootml.errors import ConfigError, InputError
from rootml.features import sets as sets_module
from rootml.features.available import PART, SET_BUILTINS
from rootml.features.sets import SetBlock
from test_features_substructure import four_momenta

PART_PRESET = ["part_deta", "part_dphi", "part_logpt", "part_loge", "part_logptrel", "part_logerel", "part_deltaR",
               "part_charge", *PARTICLE_FLAG_COLUMNS]
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


def columns(block: SetBlock, names: list[str]) -> dict[str, np.ndarray]:
    """Each named feature padded, by name."""
    return {name: block.padded(name) for name in names}


def test_part_preset_sorted_by_pt_on_a_three_particle_jet() -> None:
    """Every feature of the part preset by hand, in decreasing-pT order (50, 30, 20), with the 4th slot padded."""
    block = SetBlock(JETS, PART, 4)
    stacked = block.stacked(PART_PRESET)
    assert stacked.shape == (2, len(PART_PRESET), 4) and stacked.dtype == np.float32
    col = {name: stacked[0, i, :3] for i, name in enumerate(PART_PRESET)}
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
    np.testing.assert_allclose(block.padded("part_pt")[0], [50.0, 30.0, 20.0, 0.0], rtol=1e-6)
    assert block.mask.tolist() == [[True, True, True, False], [False] * 4]
    assert np.all(stacked[0, :, 3] == 0.0) and np.all(stacked[1] == 0.0)


def test_truncation_keeps_the_hardest_elements() -> None:
    """max_length=2 keeps the two highest-pT constituents, in order, all unmasked."""
    stacked = SetBlock(JETS, PART, 2).stacked(["part_logpt", "part_charge"])
    assert stacked.shape == (2, 2, 2)
    np.testing.assert_allclose(stacked[0, 0], np.log([50.0, 30.0]), rtol=1e-6)
    assert SetBlock(JETS, PART, 2).mask.tolist() == [[True, True], [False, False]]


def test_angles_relative_to_the_jet_axis_when_not_stored() -> None:
    """Without stored part_deta/part_dphi: eta and phi of each particle minus the row's jet_eta and jet_phi."""
    momenta = four_momenta([[(100.0, 0.5, 3.0), (50.0, 0.2, -3.0)]])
    rows = {f"part_{k}": v for k, v in momenta.items()} | {"jet_eta": np.array([0.4]), "jet_phi": np.array([3.1])}
    out = columns(SetBlock(rows, PART, 2), ["part_deta", "part_dphi", "part_deltaR"])
    np.testing.assert_allclose(out["part_deta"][0], [0.1, -0.2], atol=1e-6)
    np.testing.assert_allclose(out["part_dphi"][0], [-0.1, 2 * np.pi - 6.1], atol=1e-6)  # wrapped across pi
    np.testing.assert_allclose(out["part_deltaR"][0], np.hypot([0.1, -0.2], [-0.1, 2 * np.pi - 6.1]), atol=1e-6)


def test_rows_without_an_axis_use_the_sum_of_the_set() -> None:
    """Events (no jet columns): angles and pT/energy fractions relative to the four-momentum sum of the set."""
    momenta = four_momenta([[(40.0, 1.0, 0.5), (40.0, -1.0, 0.5), (20.0, 0.0, 0.5)], []])
    rows = {f"muons_{k}": v for k, v in momenta.items()}
    block = SetBlock(rows, "muons", 3)
    out = columns(block, [f"muons_{s}" for s in SET_BUILTINS])
    # the sum of a +-eta symmetric pair and a central muon at one phi points at eta 0, phi 0.5
    np.testing.assert_allclose(out["muons_deta"][0], [1.0, -1.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out["muons_dphi"][0], [0.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(out["muons_logptrel"][0], np.log([0.4, 0.4, 0.2]), rtol=1e-5)
    energies = np.array([40 * np.cosh(1.0), 40 * np.cosh(1.0), 20.0])
    np.testing.assert_allclose(out["muons_logerel"][0], np.log(energies / energies.sum()), rtol=1e-5)
    np.testing.assert_allclose(out["muons_pt"][0], [40.0, 40.0, 20.0], rtol=1e-6)
    assert block.mask.tolist() == [[True] * 3, [False] * 3]
    assert all(np.all(values[1] == 0.0) for values in out.values())


def test_a_set_without_momenta_keeps_the_input_order_and_raw_fields() -> None:
    """Hits with x, y, z only: raw fields padded in the input order; a built-in names the missing column."""
    rows = {"hits_x": ak.Array([[3.0, 1.0, 2.0], [5.0]]), "hits_layer": ak.Array([[0, 2, 1], [4]])}
    block = SetBlock(rows, "hits", 2)
    np.testing.assert_array_equal(block.stacked(["hits_x", "hits_layer"])[:, 0], [[3.0, 1.0], [5.0, 0.0]])
    assert block.mask.tolist() == [[True, True], [True, False]] and not block.has("px", "py", "pz", "energy")
    with pytest.raises(InputError, match="hits_px.*hits_logpt|hits_logpt.*hits_px"):
        block.padded("hits_logpt")
    with pytest.raises(InputError, match="hits_charge"):
        block.padded("hits_charge")


def test_record_array_input_and_ties_keep_input_order() -> None:
    """An awkward record array works like a dict; equal-pT particles keep their input order."""
    rows = ak.Array({"part_px": [[10.0, 10.0]], "part_py": [[0.0, 0.0]], "part_deta": [[0.1, 0.2]]})
    np.testing.assert_allclose(SetBlock(rows, PART, 3).padded("part_deta")[0], [0.1, 0.2, 0.0], rtol=1e-6)


def test_errors_name_the_feature_the_column_or_the_key() -> None:
    """Missing, mismatched, non-numeric or scalar columns and zero pT name the branch; a bad max_length names the
    config key."""
    without_energy = {k: v for k, v in JETS.items() if k != "jet_energy"} | {"jet_eta": np.zeros(2)}
    with pytest.raises(InputError, match="jet_energy"):
        SetBlock(without_energy, PART, 4).padded("part_logerel")
    zero_pt = {**JETS, "part_px": ak.Array([[0.0, 50.0, 30.0], []]), "part_py": ak.Array([[0.0, 0.0, 0.0], []])}
    with pytest.raises(InputError, match="part_logpt"):
        SetBlock(zero_pt, PART, 4).padded("part_logpt")
    with pytest.raises(ConfigError, match=r"features\.sets\.part\.max_length"):
        SetBlock(JETS, PART, 0)
    with pytest.raises(InputError, match=r"no column of set 'muons'"):
        _ = SetBlock(JETS, "muons", 4).mask
    mismatched = {**JETS, "part_charge": ak.Array([[1.0], []]), "part_flag": ak.Array([["a", "b", "c"], []])}
    with pytest.raises(InputError, match="other per-row lengths .* branch 'part_charge'"):
        SetBlock(mismatched, PART, 4).padded("part_charge")
    with pytest.raises(InputError, match="not a numeric list column .* branch 'part_flag'"):
        SetBlock(mismatched, PART, 4).padded("part_flag")
    with pytest.raises(InputError, match="a per-row scalar, not a list column of set 'part' .* branch 'part_n'"):
        SetBlock({**JETS, "part_n": np.array([3, 0])}, PART, 4).padded("part_n")


def test_available_names_every_built_in() -> None:
    assert tuple(sets_module._BUILTINS) == SET_BUILTINS
