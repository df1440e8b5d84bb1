"""rootml.simulate.cards and grid: the card formulas and cell grids against hand values from the Delphes cards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rootml.errors import ConfigError
from rootml.generate.settings import GenerateSettings
from rootml.simulate.cards import efficiency, energy_fraction, energy_resolution, load_card, track_resolution

CMS = load_card("cms")
ATLAS = load_card("atlas")


def test_tracking_efficiency_is_the_cards_piecewise_formula() -> None:
    pt = np.array([0.05, 0.5, 1.0, 5.0, 0.5, 5.0, 5.0, 5.0])
    eta = np.array([0.0, 1.0, -1.5, 1.0, 2.0, -2.5, 2.6, 0.0])
    # ChargedHadronTrackingEfficiency: 0 below 0.1 GeV, 0.70/0.95 barrel, 0.60/0.85 endcap, 0 beyond |eta| 2.5
    np.testing.assert_allclose(efficiency(CMS.tracking["charged_hadron"], pt, eta),
                               [0.0, 0.70, 0.70, 0.95, 0.60, 0.85, 0.0, 0.95])
    # ElectronTrackingEfficiency has a third pT range above 100 GeV
    np.testing.assert_allclose(efficiency(CMS.tracking["electron"], np.array([50.0, 150.0, 150.0]),
                                          np.array([0.3, 0.3, 2.0])), [0.95, 0.99, 0.90])


def test_track_resolution_is_the_cards_formula() -> None:
    cms = track_resolution(CMS.tracking["charged_hadron"], np.array([100.0, 100.0, 100.0]), np.array([0.2, 1.0, 2.0]))
    np.testing.assert_allclose(cms, [math.sqrt(0.01**2 + 100**2 * 1.5e-4**2), math.sqrt(0.015**2 + 100**2 * 2.5e-4**2),
                                     math.sqrt(0.025**2 + 100**2 * 5.5e-4**2)])
    atlas = track_resolution(ATLAS.tracking["charged_hadron"], np.array([10.0, 0.05]), np.array([2.0, 0.0]))
    np.testing.assert_allclose(atlas, [math.sqrt(0.25**2 + 10**2 * 3.1e-3**2), 0.0])


def test_calorimeter_resolution_has_the_cards_terms() -> None:
    base = math.sqrt(100**2 * 0.008**2 + 100 * 0.11**2 + 0.40**2)
    np.testing.assert_allclose(energy_resolution(CMS.ecal, np.full(4, 100.0), np.array([0.0, 1.0, 2.0, 3.0])),
                               [base, (1 + 0.64) * base, 2.16 * base, math.sqrt(100**2 * 0.107**2 + 100 * 2.08**2)])
    np.testing.assert_allclose(energy_resolution(ATLAS.hcal, np.array([50.0, 50.0]), np.array([1.0, 2.0])),
                               [math.sqrt(50**2 * 0.0302**2 + 50 * 0.5205**2 + 1.59**2),
                                math.sqrt(50**2 * 0.05**2 + 50 * 0.706**2)])


def test_energy_fractions_by_particle_type() -> None:
    pid = np.array([22, -11, 211, 2112, 310, 13, -3122])
    np.testing.assert_allclose(energy_fraction(CMS.ecal, pid), [1.0, 1.0, 0.0, 0.0, 0.3, 0.0, 0.3])
    np.testing.assert_allclose(energy_fraction(CMS.hcal, pid), [0.0, 0.0, 1.0, 1.0, 0.7, 0.0, 0.7])


def test_ecal_grid_reproduces_the_cards_bin_edges() -> None:
    grid = CMS.ecal.grid
    barrel = np.arange(-85, 87) * 0.0174
    assert np.all(np.isin(barrel, grid.eta_edges))
    assert len(grid.eta_edges) == 172 + 84 + 84 + 23  # barrel, two endcaps, HF (the card's loops and list)
    cell = grid.cell_of(np.array([0.01, 0.0174, 2.0, 4.0, 5.5]), np.array([0.001, 0.001, 3.1, 0.2, 0.0]))
    assert cell[-1] == -1  # beyond |eta| 5
    eta_lo, eta_hi, phi_lo, phi_hi = grid.edges(cell[:4])
    np.testing.assert_allclose(eta_hi - eta_lo, [0.0174, 0.0174, 0.0174, 0.175], atol=1e-9)
    np.testing.assert_allclose(phi_hi - phi_lo, [math.pi / 180] * 3 + [math.pi / 18])
    assert eta_hi[1] == pytest.approx(0.0174)  # an eta on an edge belongs to the bin below it (lower_bound)
    assert np.all((phi_lo < [0.001, 0.001, 3.1, 0.2]) & (phi_hi >= [0.001, 0.001, 3.1, 0.2]))


def test_hcal_grids_of_cms_and_atlas() -> None:
    eta = np.array([0.05, 2.0, 4.8])
    eta_lo, eta_hi, phi_lo, phi_hi = CMS.hcal.grid.edges(CMS.hcal.grid.cell_of(eta, np.zeros(3) + 0.01))
    np.testing.assert_allclose(np.c_[eta_lo, eta_hi], [[0.0, 0.087], [1.93, 2.043], [4.7, 5.0]])
    np.testing.assert_allclose(phi_hi - phi_lo, [2 * math.pi / 72, 2 * math.pi / 36, 2 * math.pi / 18])
    eta_lo, eta_hi, phi_lo, phi_hi = ATLAS.hcal.grid.edges(ATLAS.hcal.grid.cell_of(eta[:2], np.array([0.01, 0.01])))
    np.testing.assert_allclose(np.c_[eta_lo, eta_hi], [[0.0, 0.1], [1.9, 2.0]])
    np.testing.assert_allclose(phi_hi - phi_lo, [2 * math.pi / 36] * 2)


def test_unknown_card_names_the_config_key() -> None:
    with pytest.raises(ConfigError, match="generate.simulate.*'lhcb'"):
        load_card("lhcb")
    with pytest.raises(ConfigError) as error:
        GenerateSettings.from_config({"simulate": "lhcb"})
    assert error.value.key == "generate.simulate"
    assert GenerateSettings.from_config({}).simulate is None
