"""The average-jet-image figure: PDF + PNG written, of the expected size, and showing the data it was given."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from rootml.plotting.images import PANEL_INCHES, plot_average_images
from rootml.plotting.style import DPI
from rootml.represent.images import jet_images


def toy_images(seed: int, prong_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Images of 300 jets with 3 channels: class 0 one-prong, class 1 with a second prong at `prong_distance`."""
    rng = np.random.default_rng(seed)
    n_jets, n = 300, 30
    labels = rng.integers(0, 2, n_jets)
    mask = np.arange(n)[None, :] < rng.integers(5, n + 1, n_jets)[:, None]
    prong = (rng.random((n_jets, n)) < 0.3) & (labels[:, None] == 1)
    angle = rng.uniform(0, 2 * np.pi, (n_jets, 1))
    deta = rng.normal(0, 0.08, (n_jets, n)) + prong * prong_distance * np.cos(angle)
    dphi = rng.normal(0, 0.08, (n_jets, n)) + prong * prong_distance * np.sin(angle)
    charge = rng.integers(-1, 2, (n_jets, n))
    images = jet_images(rng.exponential(10, (n_jets, n)) * mask, deta * mask, dphi * mask, mask, charge=charge,
                        channels=("total", "charged", "neutral"))
    return images, labels


def png_pixels(path: Path) -> np.ndarray:
    """The PNG's pixels as an (height, width, channels) array."""
    return matplotlib.image.imread(path)


def test_two_classes_give_three_panels_in_pdf_and_png(tmp_path: Path) -> None:
    images, labels = toy_images(0, 0.4)
    paths = plot_average_images(images, labels, ["QCD", "W"], tmp_path / "plots" / "average_images")
    assert paths == [tmp_path / "plots" / "average_images.pdf", tmp_path / "plots" / "average_images.png"]
    assert paths[0].read_bytes().startswith(b"%PDF") and paths[0].stat().st_size > 1000
    pixels = png_pixels(paths[1])
    assert pixels.shape[:2] == (round(PANEL_INCHES[1] * DPI), round(3 * PANEL_INCHES[0] * DPI))
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["average_images.pdf", "average_images.png"]


def test_figure_shows_its_input(tmp_path: Path) -> None:
    images, labels = toy_images(0, 0.4)
    other, _ = toy_images(0, 0.7)
    written = plot_average_images(images, labels, ["QCD", "W"], tmp_path / "a")
    again = plot_average_images(images, labels, ["QCD", "W"], tmp_path / "b")
    # Same input, same bytes (the PDF carries no creation date): reruns of the DAG reproduce the figures.
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in again]
    first = png_pixels(written[1])
    moved = png_pixels(plot_average_images(other, labels, ["QCD", "W"], tmp_path / "c")[1])
    assert first.shape == moved.shape
    # The W prong moved from 0.4 to 0.7: the W and difference panels (right two thirds) change visibly.
    third = first.shape[1] // 3
    assert (np.abs(first - moved).max(axis=2)[:, third:] > 0.1).mean() > 0.01


def test_three_classes_give_no_difference_panel_and_channel_is_selectable(tmp_path: Path) -> None:
    images, labels = toy_images(1, 0.4)
    labels = labels + (np.arange(len(labels)) % 3 == 0)
    path = plot_average_images(images, labels, ["QCD", "W", "top"], tmp_path / "three", channel=1)[1]
    assert png_pixels(path).shape[1] == round(3 * PANEL_INCHES[0] * DPI)
    path = plot_average_images(images[:, 0], np.zeros(len(images), int), ["QCD"], tmp_path / "one")[1]
    assert png_pixels(path).shape[1] == round(PANEL_INCHES[0] * DPI)


def test_bad_labels_raise(tmp_path: Path) -> None:
    images, labels = toy_images(2, 0.4)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 1\)"):
        plot_average_images(images, labels, ["QCD"], tmp_path / "x")
    with pytest.raises(ValueError, match="integer class indices"):
        plot_average_images(images, labels.astype(float), ["QCD", "W"], tmp_path / "x")
    with pytest.raises(ValueError, match="channel 3 out of range"):
        plot_average_images(images, labels, ["QCD", "W"], tmp_path / "x", channel=3)
    assert not list(tmp_path.iterdir())
