"""Input-distribution figures of a prepared split: one PDF + PNG per feature, and the average jet images."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np

from rootml.plotting.inputs import feature_edges, plot_feature, plot_inputs

CLASSES = ["QCD", "top"]


def write_split(directory: Path, seed: int = 0, n: int = 200) -> dict[str, Path]:
    """A minimal prepared split (two high-level features, two of set `part`, images) in the contract layout; return
    representation -> file."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    labels = rng.integers(0, 2, n)
    mass = np.where(labels == 1, rng.normal(175, 15, n), rng.exponential(40, n))
    nparticles = rng.integers(10, 60, n).astype(np.float32)
    mask = np.arange(16)[None, :] < np.minimum(nparticles, 16)[:, None]
    features = np.stack([rng.normal(0, 1, (n, 16)), rng.integers(-1, 2, (n, 16))], axis=1) * mask[:, None]
    image = np.zeros((n, 1, 9, 9), np.float32)
    image[:, 0, 4, 4] = 1.0
    normalization = {"features": {"part_logpt": {"center": 1.0, "scale": 2.0, "normalized": True},
                                  "part_charge": {"center": 0.0, "scale": 1.0, "normalized": False}}}
    with h5py.File(directory / "highlevel.h5", "w") as h5:
        h5.attrs.update({"classes": json.dumps(CLASSES), "feature_names": json.dumps(["jet_mass", "jet_nparticles"])})
        h5["label"] = labels
        h5["highlevel_raw"] = np.stack([mass, nparticles], axis=1).astype(np.float32)
    with h5py.File(directory / "part.h5", "w") as h5:
        h5.attrs.update({"classes": json.dumps(CLASSES), "feature_names": json.dumps(["part_logpt", "part_charge"]),
                         "normalization": json.dumps(normalization), "set": "part"})
        h5["label"], h5["mask"], h5["features"] = labels, mask, features.astype(np.float32)
    with h5py.File(directory / "images.h5", "w") as h5:
        h5.attrs.update({"classes": json.dumps(CLASSES), "extent": 1.0})
        h5["label"], h5["image"] = labels, image
    return {name: directory / f"{name}.h5" for name in ("highlevel", "images", "part")}


def test_one_figure_per_feature_and_the_jet_images(tmp_path: Path) -> None:
    prepared = write_split(tmp_path / "train")
    written = plot_inputs(prepared, tmp_path / "plots" / "inputs", tmp_path / "plots" / "jet_images")
    stems = ["jet_mass", "jet_nparticles", "part_logpt", "part_charge"]
    assert written == [tmp_path / "plots" / "inputs" / f"{s}.{x}" for s in stems for x in ("pdf", "png")] + [
        tmp_path / "plots" / "jet_images.pdf", tmp_path / "plots" / "jet_images.png"]
    for path in written:
        assert path.stat().st_size > 1000
    assert matplotlib.image.imread(written[1]).shape[:2] == (975, 1200)


def test_without_images_no_image_figure(tmp_path: Path) -> None:
    prepared = write_split(tmp_path / "train")
    del prepared["images"]
    written = plot_inputs(prepared, tmp_path / "inputs", None)
    assert [path.name for path in written] == [f"{s}.{x}" for s in ("jet_mass", "jet_nparticles", "part_logpt",
                                                                    "part_charge") for x in ("pdf", "png")]


def test_figures_show_their_data(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    narrow = {"QCD": rng.normal(0, 1, 500), "top": rng.normal(1, 1, 500)}
    wide = {"QCD": rng.normal(0, 1, 500), "top": rng.normal(1, 3, 500)}
    first = plot_feature(narrow, "x", "Fraction of jets / bin", tmp_path / "narrow")
    again = plot_feature(narrow, "x", "Fraction of jets / bin", tmp_path / "again")
    other = plot_feature(wide, "x", "Fraction of jets / bin", tmp_path / "wide")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert first[1].read_bytes() != other[1].read_bytes()


def test_binning_of_integer_and_continuous_features() -> None:
    np.testing.assert_array_equal(feature_edges(np.array([0.0, 1.0, 1.0, 0.0])), [-0.5, 0.5, 1.5])
    wide = feature_edges(np.arange(0.0, 200.0), n_bins=40)
    assert wide[0] == -0.5 and np.all(np.diff(wide) == 5.0) and wide[-1] >= 199.5
    values = np.random.default_rng(0).normal(0, 1, 100_000)
    edges = feature_edges(values, n_bins=20)
    assert len(edges) == 21
    np.testing.assert_allclose([edges[0], edges[-1]], np.quantile(values, [0.005, 0.995]))
