"""Jet images: pixelisation against np.histogram2d, and the translate / rotate / flip / normalise preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from rootml.represent import images as images_module
from rootml.represent.images import jet_images, leading_subjet_axes

P = 33
EXTENT = 1.2
MID = P // 2


def padded(*jets: list[tuple[float, float, float]], n: int = 6) -> tuple[np.ndarray, ...]:
    """(pt, deta, dphi, mask) padded arrays, float32, from lists of (pt, deta, dphi) per jet."""
    pt, deta, dphi = (np.zeros((len(jets), n), np.float32) for _ in range(3))
    mask = np.zeros((len(jets), n), bool)
    for b, jet in enumerate(jets):
        for i, (p, e, f) in enumerate(jet):
            pt[b, i], deta[b, i], dphi[b, i], mask[b, i] = p, e, f, True
    return pt, deta, dphi, mask


def random_jets(n_jets: int, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Random two-prong-ish jets: (pt, deta, dphi, mask, charge), zeros where masked."""
    rng = np.random.default_rng(seed)
    mask = np.arange(n)[None, :] < rng.integers(2, n + 1, n_jets)[:, None]
    pt = rng.exponential(10.0, (n_jets, n)) * mask
    prong = rng.random((n_jets, n)) < 0.3
    angle = rng.uniform(0, 2 * np.pi, (n_jets, 1))
    deta = (rng.normal(0, 0.1, (n_jets, n)) + prong * 0.4 * np.cos(angle)) * mask
    dphi = (rng.normal(0, 0.1, (n_jets, n)) + prong * 0.4 * np.sin(angle)) * mask
    charge = rng.integers(-1, 2, (n_jets, n)) * mask
    return pt, deta, dphi, mask, charge


def test_no_preprocessing_equals_histogram2d(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images_module, "_IMAGE_BLOCK", 7)  # several pixelisation blocks, the last one partial
    pt, deta, dphi, mask, _ = random_jets(40, 30, seed=1)
    deta[:, 0], dphi[:, 0] = EXTENT, -EXTENT  # on the outer edges: histogram2d keeps the right edge
    deta[:, 1] = 1.5  # outside: dropped
    images = jet_images(pt, deta, dphi, mask, n_pixels=P, extent=EXTENT, centre="jet_axis", rotate=False,
                        flip=False, normalise=False)
    assert images.shape == (40, 1, P, P) and images.dtype == np.float32
    for b in range(40):
        m = mask[b]
        expected, _, _ = np.histogram2d(deta[b, m], dphi[b, m], bins=P, range=[[-EXTENT, EXTENT]] * 2, weights=pt[b, m])
        np.testing.assert_allclose(images[b, 0], expected, rtol=1e-6)
    assert images[:, 0, P - 1, 0].min() > 0
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)), (pt * mask).sum(axis=1) - pt[:, 1], rtol=1e-5)


@pytest.mark.parametrize("centre", ["leading_subjet", "centroid"])
def test_single_particle_lands_in_the_central_pixel(centre: str) -> None:
    images = jet_images(*padded([(250.0, 0.37, -0.52)], [(80.0, -0.61, 0.05)]), centre=centre)
    for image in images[:, 0]:
        assert image[MID, MID] == pytest.approx(1.0)
        assert image.sum() == pytest.approx(1.0)


def test_total_intensity_is_one_and_charge_channels_split_it() -> None:
    pt, deta, dphi, mask, charge = random_jets(200, 40, seed=2)
    images = jet_images(pt, deta, dphi, mask, charge=charge, channels=("total", "charged", "neutral"))
    assert images.shape == (200, 3, P, P)
    np.testing.assert_allclose(images[:, 0].sum(axis=(1, 2)), 1.0, rtol=1e-5)
    np.testing.assert_allclose(images[:, 1] + images[:, 2], images[:, 0], atol=1e-6)
    # The charged fraction of the image is the charged fraction of the in-image pT.
    plain = jet_images(pt, deta, dphi, mask, charge=charge, channels=("charged",), normalise=False)
    charged_pt = (pt * (charge != 0)).sum(axis=1)
    np.testing.assert_allclose(plain.sum(axis=(1, 2, 3)), charged_pt, rtol=1e-4)
    assert 0.5 < (images[:, 1].sum(axis=(1, 2)) / images[:, 0].sum(axis=(1, 2))).mean() < 0.8


def test_masked_particles_contribute_nothing() -> None:
    pt, deta, dphi, mask, charge = random_jets(50, 20, seed=3)
    junk = ~mask
    clean = jet_images(pt, deta, dphi, mask, charge=charge, channels=("total", "charged"))
    dirty = jet_images(np.where(junk, 1e3, pt), np.where(junk, 0.1, deta), np.where(junk, -0.1, dphi), mask,
                       charge=np.where(junk, 1, charge), channels=("total", "charged"))
    np.testing.assert_array_equal(clean, dirty)


def test_two_particle_jet_is_rotated_vertical_and_flipped_up() -> None:
    # Leading particle at (0.2, 0.1), a softer one 0.5 away at 30 degrees: more than R=0.2 apart, two subjets.
    jet = [(300.0, 0.2, 0.1), (100.0, 0.2 + 0.5 * np.cos(np.pi / 6), 0.1 + 0.5 * np.sin(np.pi / 6))]
    mirrored = [(p, -e, -f) for p, e, f in jet]
    width = 2 * EXTENT / P
    second = MID + int(np.floor(0.5 / width + 0.5))
    for args in (padded(jet), padded(mirrored)):
        image = jet_images(*args)[0, 0]
        assert image[MID, MID] == pytest.approx(0.75)
        assert image[MID, second] == pytest.approx(0.25)  # on the vertical axis, in the upper half
        rotated_only = jet_images(*args, flip=False)[0, 0]
        assert rotated_only[MID].sum() == pytest.approx(1.0)  # both on the vertical axis, either half
    # About the pT centroid the larger-intensity half is the leading particle's, so it goes up instead.
    image = jet_images(*padded(jet), centre="centroid")[0, 0]
    lead_at, soft_at = 0.5 * 100 / 400, 0.5 * 300 / 400
    assert image[MID, MID + int(np.floor(lead_at / width + 0.5))] == pytest.approx(0.75)
    assert image[MID, MID - int(np.floor(soft_at / width + 0.5))] == pytest.approx(0.25)


def test_symmetric_jet_gives_a_symmetric_image() -> None:
    jet = [(200.0, 0.0, 0.0), (50.0, 0.3, 0.4), (50.0, -0.3, 0.4), (20.0, 0.0, -0.25)]
    image = jet_images(*padded(jet))[0, 0]
    np.testing.assert_array_equal(image, image[::-1, :])
    assert image[MID, MID] == pytest.approx(200 / 320)


def test_images_are_invariant_under_rotation_and_reflection_of_the_input() -> None:
    pt, deta, dphi, mask, _ = random_jets(100, 30, seed=4)
    angle = np.random.default_rng(5).uniform(0, 2 * np.pi, (100, 1))
    turned = (deta * np.cos(angle) - dphi * np.sin(angle), deta * np.sin(angle) + dphi * np.cos(angle))
    reference = jet_images(pt, deta, dphi, mask, centre="centroid")
    np.testing.assert_allclose(jet_images(pt, *turned, mask, centre="centroid"), reference, atol=1e-6)
    # Reflections commute with the E-scheme subjet axis too, so they leave the leading-subjet images unchanged.
    reference = jet_images(pt, deta, dphi, mask)
    np.testing.assert_allclose(jet_images(pt, -deta, dphi, mask), reference, atol=1e-6)
    np.testing.assert_allclose(jet_images(pt, deta, -dphi, mask), reference, atol=1e-6)


def test_outside_the_extent_is_dropped_and_normalisation_uses_what_is_inside() -> None:
    jet = [(100.0, 0.0, 0.0), (60.0, 0.0, 0.3), (40.0, 0.0, 0.9)]
    raw = jet_images(*padded(jet), extent=0.5, centre="jet_axis", rotate=False, flip=False, normalise=False)[0, 0]
    assert raw.sum() == pytest.approx(160.0)
    normalised = jet_images(*padded(jet), extent=0.5, centre="jet_axis", rotate=False, flip=False)[0, 0]
    assert normalised.sum() == pytest.approx(1.0)
    assert normalised.max() == pytest.approx(100 / 160)


def test_leading_subjet_axis_is_the_harder_cluster() -> None:
    jet = [(50.0, 0.0, 0.0), (50.0, 0.05, 0.0), (70.0, 0.6, 0.2)]
    eta, phi = leading_subjet_axes(*padded(jet, [(10.0, -0.2, 0.3)]))
    assert eta[0] == pytest.approx(0.025, abs=1e-4) and phi[0] == pytest.approx(0.0, abs=1e-12)
    assert eta[1] == pytest.approx(-0.2) and phi[1] == pytest.approx(0.3)


def test_empty_jets_give_empty_images() -> None:
    pt, deta, dphi, mask = padded([(10.0, 0.1, 0.1)], [])
    images = jet_images(pt, deta, dphi, mask)
    assert images[1].sum() == 0.0 and images[0].sum() == pytest.approx(1.0)


def test_bad_inputs_raise_clear_errors() -> None:
    pt, deta, dphi, mask = padded([(10.0, 0.1, 0.1)])
    with pytest.raises(ValueError, match="give the charge array"):
        jet_images(pt, deta, dphi, mask, channels=("total", "charged"))
    with pytest.raises(ValueError, match="channels must be distinct names"):
        jet_images(pt, deta, dphi, mask, channels=("total", "photons"))
    with pytest.raises(ValueError, match="centre must be one of"):
        jet_images(pt, deta, dphi, mask, centre="hardest")
    with pytest.raises(ValueError, match="deta has shape"):
        jet_images(pt, deta[:, :3], dphi, mask)
    deta[0, 0] = np.nan
    with pytest.raises(ValueError, match="deta has NaN or inf"):
        jet_images(pt, deta, dphi, mask)
