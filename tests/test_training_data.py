"""Training data reader on synthetic prepared files in the contract layout; `write_prepared` and `features_block`
serve the other test_training_* modules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

import h5py
import numpy as np
import pytest

from conftest import split_reader
from rootml.errors import InputError
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.data import SplitReader

CLASSES = ["g", "q", "t"]
N_HIGHLEVEL, N_FEATURES, N_PARTICLES, IMAGE = 4, 5, 12, (1, 8, 8)
OBSERVERS = ("jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy")
SPLIT_SIZES = {"train": 240, "val": 96, "test": 96}
SET_DATASETS = ("features", "points", "vectors", "mask")


class SetLayout(NamedTuple):
    """A synthetic set: its features, slots, coordinates, and whether it has four-momenta (vectors)."""

    features: list[str]
    slots: int
    coordinates: list[str]
    vectors: bool = True


# part: the jet's particles (today's particles.h5); sv: secondary vertices; hits: detector hits in x, y, z
SETS = {
    "part": SetLayout([f"part_f{i}" for i in range(N_FEATURES)], N_PARTICLES, ["part_deta", "part_dphi"]),
    "sv": SetLayout(["sv_mass", "sv_ntracks", "sv_dxysig"], 4, ["sv_deta", "sv_dphi"]),
    "hits": SetLayout(["hits_energy", "hits_time"], 10, ["hits_x", "hits_y", "hits_z"], vectors=False),
}


def features_block(*sets: str) -> dict:
    """The config's `features` block configuring the synthetic `sets` (features.sets)."""
    return {"sets": {name: {"features": SETS[name].features, "max_length": SETS[name].slots,
                            "coordinates": SETS[name].coordinates} for name in sets}}


def synthetic_set(rng: np.random.Generator, label: np.ndarray, layout: SetLayout) -> dict[str, np.ndarray]:
    """features, points, vectors and mask of one set whose features and spread depend on the class."""
    n, shift = len(label), label.astype(np.float32)[:, None, None]
    mask = np.arange(layout.slots)[None, :] < rng.integers(1, layout.slots + 1, n)[:, None]
    points = rng.normal(scale=0.3, size=(n, len(layout.coordinates), layout.slots)) * (1 + shift) * mask[:, None, :]
    arrays = {"features": (rng.normal(size=(n, len(layout.features), layout.slots)) + shift) * mask[:, None, :],
              "points": points, "mask": mask}
    if layout.vectors:
        arrays["vectors"] = np.abs(rng.normal(size=(n, 4, layout.slots))) * mask[:, None, :] * 10
    return arrays


def synthetic_jets(n: int, seed: int, n_classes: int = len(CLASSES)) -> dict[str, np.ndarray]:
    """Jets whose every representation depends on the class, and whose jet_mass the high-level features predict;
    set `part` as features, points, vectors, mask, the other sets of SETS as <set>/features, ..."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, n_classes, n)
    shift = label.astype(np.float32)[:, None]
    n_real = rng.integers(3, N_PARTICLES + 1, n)
    mask = np.arange(N_PARTICLES)[None, :] < n_real[:, None]
    features = (rng.normal(size=(n, N_FEATURES, N_PARTICLES)) + shift[:, :, None]) * mask[:, None, :]
    points = rng.normal(scale=0.3, size=(n, 2, N_PARTICLES)) * (1 + shift[:, :, None]) * mask[:, None, :]
    vectors = np.abs(rng.normal(size=(n, 4, N_PARTICLES))) * mask[:, None, :] * 10
    highlevel = rng.normal(size=(n, N_HIGHLEVEL)) + shift
    image = rng.random((n, *IMAGE)) * (1 + shift[:, :, None, None])
    mass = 20 + 40 * label + 10 * highlevel[:, 1] + rng.normal(scale=2.0, size=n)
    arrays = {
        "label": label.astype(np.int64), "weight": rng.uniform(0.5, 1.5, n).astype(np.float32),
        "event_id": rng.integers(0, 2**62, n).astype(np.int64),
        "obs_jet_pt": rng.uniform(500, 700, n), "obs_jet_eta": rng.uniform(-2, 2, n), "obs_jet_mass": mass,
        "obs_jet_sdmass": mass * 0.9, "obs_jet_energy": rng.uniform(600, 900, n),
        "highlevel": highlevel, "features": features, "points": points, "vectors": vectors, "mask": mask,
        "image": image,
    }
    for name in ("sv", "hits"):
        arrays.update({f"{name}/{key}": values for key, values in synthetic_set(rng, label, SETS[name]).items()})
    return {k: v if v.dtype in (np.int64, np.bool_) else v.astype(np.float32) for k, v in arrays.items()}


def write_prepared(
    root: Path, sizes: dict[str, int] | None = None, seed: int = 0, rows_per_chunk: int = 32,
    classes: list[str] | None = None, sets: tuple[str, ...] = ("part",),
) -> Path:
    """Write data/prepared/{split}/{highlevel,images,<set>}.h5 for each of `sets` as contracts.md lays them out;
    return the dir."""
    classes = classes or CLASSES
    data_dir = root / "prepared"
    for index, (split, n) in enumerate((sizes or SPLIT_SIZES).items()):
        jets = synthetic_jets(n, seed + index, len(classes))
        jets["highlevel_raw"] = jets["highlevel"] * 100
        (data_dir / split).mkdir(parents=True, exist_ok=True)
        files = {"highlevel": ({key: jets[key] for key in ("highlevel", "highlevel_raw")},
                               {"feature_names": [f"hl{i}" for i in range(N_HIGHLEVEL)], "normalization": {}}),
                 "images": ({"image": jets["image"]}, {})}
        for name in sets:
            prefix, layout = "" if name == "part" else f"{name}/", SETS[name]
            files[name] = ({key: jets[prefix + key] for key in SET_DATASETS if prefix + key in jets},
                           {"feature_names": layout.features, "normalization": {}, "n_particles": layout.slots,
                            "coordinates": layout.coordinates, "set": name})
        for rep, (datasets, attributes) in files.items():
            with open_for_writing(data_dir / split / f"{rep}.h5") as h5:
                common = ["label", "weight", "event_id", *(f"obs_{name}" for name in OBSERVERS)]
                H5Appender(h5, rows_per_chunk).append({**{key: jets[key] for key in common}, **datasets})
                h5.attrs.update({"classes": json.dumps(classes), "split": split,
                                 **{key: json.dumps(value) for key, value in attributes.items()}})
    return data_dir


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One synthetic prepared dataset shared by this module's tests (read only)."""
    return write_prepared(tmp_path_factory.mktemp("data"))


def epoch_ids(reader: SplitReader, seed: int | None, batch_size: int = 50, **kwargs) -> list[np.ndarray]:
    """event_id of each batch of one pass."""
    return [batch["event_id"] for batch in reader.batches(["event_id"], batch_size, seed=seed, **kwargs)]


@pytest.mark.parametrize("max_jets", [10_000, 70], ids=["in_memory", "streamed"])
def test_every_jet_once_per_epoch_in_seeded_order(prepared: Path, max_jets: int) -> None:
    """An epoch is a permutation of the split; same seed same order, another seed another order, None = file order."""
    reader = split_reader(prepared, "train", ["highlevel"], max_jets)
    with h5py.File(prepared / "train" / "highlevel.h5") as h5:
        stored = h5["event_id"][:]
    first, again, other = (np.concatenate(epoch_ids(reader, s)) for s in (1, 1, 2))
    assert sorted(first) == sorted(stored) and len(first) == len(stored) == 240
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other) and not np.array_equal(first, stored)
    np.testing.assert_array_equal(np.concatenate(epoch_ids(reader, None)), stored)
    sizes = [len(ids) for ids in epoch_ids(reader, 3)]
    assert sizes == [50, 50, 50, 50, 40]  # incomplete batches are carried across buffers
    assert [len(ids) for ids in epoch_ids(reader, 3, drop_last=True)] == [50] * 4


def test_streaming_reads_chunk_aligned_blocks_into_bounded_buffers(prepared: Path) -> None:
    """Streamed: each buffer is one contiguous block of whole chunks (3 x 32 rows), at most max_jets_in_memory."""
    reader = split_reader(prepared, "train", ["part"], 100)
    assert reader._block_rows(["features", "label"]) == 96
    with h5py.File(prepared / "train" / "part.h5") as h5:
        stored = h5["event_id"][:]
    starts = []
    for buffer in reader._buffers(["event_id", "label"], np.random.default_rng(0), None):
        start = int(np.flatnonzero(stored == buffer["event_id"][0])[0])
        np.testing.assert_array_equal(buffer["event_id"], stored[start:start + 96])
        starts.append(start)
    assert sorted(starts) == [0, 96, 192] and reader._cache == {}


def test_label_filter_mask_layout_and_max_rows(prepared: Path) -> None:
    """labels keeps only those classes; mask comes as (B, 1, P) float32; max_rows reads the first jets only."""
    reader = split_reader(prepared, "val", ["part"], 10_000)
    batches = list(reader.batches(["features", "mask", "points"], 32, seed=0, labels=[0, 2]))
    labels = np.concatenate([b["label"] for b in batches])
    assert set(labels) == {0, 2} and len(labels) == reader.count([0, 2]) < reader.n_rows
    assert batches[0]["mask"].shape == (32, 1, N_PARTICLES) and batches[0]["mask"].dtype == np.float32
    assert batches[0]["features"].shape == (32, N_FEATURES, N_PARTICLES)
    head = np.concatenate(epoch_ids(reader, None, 25, max_rows=60))
    with h5py.File(prepared / "val" / "part.h5") as h5:
        np.testing.assert_array_equal(head, h5["event_id"][:60])
    assert reader.input_dims() == {"features": N_FEATURES, "points": 2, "vectors": 4}
    assert reader.classes == CLASSES and reader.feature_names["part"][0] == "part_f0"


def test_several_representations_combine_row_by_row(prepared: Path) -> None:
    """Datasets of highlevel.h5 and images.h5 in one shuffled batch belong to the same jets."""
    reader = split_reader(prepared, "test", ["highlevel", "images"], 10_000)
    batch = next(reader.batches(["event_id", "highlevel", "image"], 96, seed=5))
    for rep, key in (("highlevel", "highlevel"), ("images", "image")):
        with h5py.File(prepared / "test" / f"{rep}.h5") as h5:
            row = {event: i for i, event in enumerate(h5["event_id"][:])}
            stored = h5[key][:]
        np.testing.assert_array_equal(batch[key], stored[[row[event] for event in batch["event_id"]]])
    assert not np.array_equal(batch["event_id"], sorted(batch["event_id"]))


@pytest.fixture(scope="module")
def three_sets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Prepared splits with the sets part, sv and hits (read only)."""
    return write_prepared(tmp_path_factory.mktemp("sets"), sets=("part", "sv", "hits"))


@pytest.mark.parametrize("max_jets", [10_000, 40], ids=["in_memory", "streamed"])
def test_several_sets_read_as_set_keys_row_by_row(three_sets: Path, max_jets: int) -> None:
    """The datasets of several sets are <set>/<name>, each set's mask (B, 1, P) float32, and a shuffled batch holds
    the same jets in every set; one set keeps the plain names."""
    reader = split_reader(three_sets, "val", ["sv", "part", "hits"], max_jets)
    assert reader.sets == ["sv", "part", "hits"]
    assert reader.input_dims() == {"sv/features": 3, "sv/points": 2, "sv/vectors": 4, "part/features": N_FEATURES,
                                   "part/points": 2, "part/vectors": 4, "hits/features": 2, "hits/points": 3}
    assert reader.feature_names["sv"] == ["sv_mass", "sv_ntracks", "sv_dxysig"]
    keys = [f"{name}/{key}" for name in ("sv", "part", "hits") for key in ("features", "points", "mask")]
    batches = list(reader.batches(["event_id", *keys], 30, seed=4))
    batch = {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}
    assert batch["hits/mask"].shape == (96, 1, 10) and batch["hits/mask"].dtype == np.float32
    for name in ("sv", "part", "hits"):
        with h5py.File(three_sets / "val" / f"{name}.h5") as h5:
            row = {event: i for i, event in enumerate(h5["event_id"][:])}
            order = [row[event] for event in batch["event_id"]]
            for key in ("features", "points"):
                np.testing.assert_array_equal(batch[f"{name}/{key}"], h5[key][:][order])
            np.testing.assert_array_equal(batch[f"{name}/mask"][:, 0], h5["mask"][:][order])
    assert not np.array_equal(batch["event_id"], sorted(batch["event_id"]))
    single = split_reader(three_sets, "val", ["hits"], max_jets)
    assert single.input_dims() == {"features": 2, "points": 3} and "mask" in single.datasets


def test_bad_files_are_named(prepared: Path, tmp_path: Path) -> None:
    """Missing file, NaN values, other jets or fewer rows in one file, missing dataset: InputError naming them."""
    with pytest.raises(InputError, match="images.h5"):
        split_reader(tmp_path, "train", ["images"], 100)
    data = write_prepared(tmp_path / "bad", {"train": 40})
    with h5py.File(data / "train" / "highlevel.h5", "r+") as h5:
        h5["highlevel"][17, 2] = np.nan
    reader = split_reader(data, "train", ["highlevel"], 100)
    with pytest.raises(InputError, match=r"dataset 'highlevel' has NaN or inf \(row 17\).*highlevel.h5"):
        list(reader.batches(["highlevel"], 8))
    with h5py.File(data / "train" / "images.h5", "r+") as h5:
        h5["event_id"][3] += 1
    with pytest.raises(InputError, match="other jets.*images.h5"):
        list(split_reader(data, "train", ["part", "images"], 100).batches(["image"], 8))
    with pytest.raises(InputError, match="dataset 'image' not found"):
        list(split_reader(data, "train", ["part"], 100).batches(["image"], 8))
    short = write_prepared(tmp_path / "short", {"train": 30})
    shutil.copy(short / "train" / "images.h5", data / "train" / "images.h5")
    with pytest.raises(InputError, match=r"dataset 'label' has 30 rows, 40 in .*highlevel.h5.*images.h5"):
        split_reader(data, "train", ["highlevel", "images"], 100)
