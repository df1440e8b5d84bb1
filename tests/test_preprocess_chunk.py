"""preprocess_chunk on synthetic ingested chunks: layout per split, values, and errors naming feature and file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest

from rootml.config import feature_sets
from rootml.errors import ConfigError, InputError
from rootml.ingest.writer import write_parquet
from rootml.preprocess.chunk import preprocess_chunk
from rootml.preprocess.split import SPLITS, assign_splits
from rootml.settings import validated
from synthetic import synthetic_jets, write_synthetic_chunk

REPO = Path(__file__).resolve().parents[1]
CLASSES = ["q", "W", "t"]
N_PARTICLES = 24


def run_config(**blocks: Any) -> dict[str, Any]:
    """A run config with the given blocks, completed with the defaults of config/schema.yaml."""
    config = {
        "seed": 11, "classes": CLASSES,
        "samples": {c: {"label": c, "generate": {"process": "quark", "chunks": 1}} for c in CLASSES},
        "features": {"sets": {"part": {"max_length": N_PARTICLES}}},
        "preprocess": {"reweighting": {"bins": [6, 4]}},
        "represent": {"images": {"n_pixels": 11}},
        **copy.deepcopy(blocks),
    }
    return validated(config)


def write_columns(path: Path, columns: dict[str, Any]) -> Path:
    """Write canonical columns as an ingested parquet file."""
    write_parquet(path, [columns], metadata={})
    return path


def test_every_split_group_holds_its_jets_with_the_contract_shapes(tmp_path: Path) -> None:
    config = run_config()
    parquet = write_synthetic_chunk(tmp_path / "in.parquet", 300, 1, seed=3, rows_per_group=128)
    out = tmp_path / "pre" / "W" / "0000.h5"
    counts = preprocess_chunk(parquet, out, config=config, block_jets=100, progress=False)
    jets = ak.from_parquet(parquet)
    expected = assign_splits(ak.to_numpy(jets.event_id), config["preprocess"]["splits"], config["seed"])
    assert [counts[s] for s in SPLITS] == np.bincount(expected, minlength=3).tolist()
    n_hl, part_features = len(config["features"]["highlevel"]), feature_sets(config)["part"]["features"]
    with h5py.File(out, "r") as h5:
        for index, split in enumerate(SPLITS):
            group, rows = h5[split], expected == index
            n = int(rows.sum())
            assert set(group) == {"label", "weight", "event_id", "highlevel", "part", "image",
                                  *(f"obs_{o}" for o in ("jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy"))}
            np.testing.assert_array_equal(group["event_id"][:], ak.to_numpy(jets.event_id)[rows])
            assert group["highlevel"].shape == (n, n_hl)
            assert set(group["part"]) == {"features", "points", "vectors", "mask"}
            assert group["part/features"].shape == (n, len(part_features), N_PARTICLES)
            assert group["part/points"].shape == (n, 2, N_PARTICLES)
            assert group["part/vectors"].shape == (n, 4, N_PARTICLES)
            assert group["part/mask"].shape == (n, N_PARTICLES) and group["part/mask"].dtype == bool
            assert group["image"].shape == (n, 1, 11, 11)
            assert group["label"].dtype == np.int64 and set(group["label"][:]) == {1}
            np.testing.assert_allclose(group["obs_jet_energy"][:], ak.to_numpy(jets.jet_energy)[rows])
        train = {name: values[:] for name, values in h5["train"].items() if name != "part"}
        train.update({name: values[:] for name, values in h5["train/part"].items()})
        selected = jets[expected == 0]
        # vectors are the constituents' (px, py, pz, E) in decreasing pT, zero beyond the real particles
        n_real = np.minimum(ak.to_numpy(ak.num(selected.part_px)), N_PARTICLES)
        np.testing.assert_array_equal(train["mask"].sum(axis=1), n_real)
        pt = np.hypot(train["vectors"][:, 0], train["vectors"][:, 1])
        assert np.all(np.diff(pt, axis=1)[train["mask"][:, 1:]] <= 0)
        first = ak.to_numpy(selected.part_energy[ak.argmax(np.hypot(selected.part_px, selected.part_py), axis=1,
                                                           keepdims=True)][:, 0])
        np.testing.assert_allclose(train["vectors"][:, 3, 0], first, rtol=1e-6)
        assert np.all(train["features"][~np.broadcast_to(train["mask"][:, None], train["features"].shape)] == 0)
        i_logpt = part_features.index("part_logpt")
        np.testing.assert_allclose(train["features"][:, i_logpt][train["mask"]], np.log(pt[train["mask"]]), rtol=1e-5)
        np.testing.assert_allclose(train["image"].sum(axis=(1, 2, 3)), 1.0, rtol=1e-5)


def test_kinematic_edges_are_stored_when_asked(tmp_path: Path) -> None:
    config = run_config(represent={"graph": {"store_edges": True, "k": 3}, "images": {"n_pixels": 11}})
    parquet = write_synthetic_chunk(tmp_path / "in.parquet", 60, 0, seed=5)
    preprocess_chunk(parquet, tmp_path / "out.h5", config=config, progress=False)
    with h5py.File(tmp_path / "out.h5", "r") as h5:
        knn, points = h5["train/part/knn"][:], h5["train/part/points"][:]
        assert knn.shape == (len(points), N_PARTICLES, 3) and knn.dtype == np.int32
        # the nearest neighbour of the leading particle is the closest other real particle in (deta, dphi)
        d = np.hypot(points[0, 0, 1:] - points[0, 0, 0], points[0, 1, 1:] - points[0, 1, 0])
        d[~h5["train/part/mask"][0, 1:]] = np.inf
        assert knn[0, 0, 0] == 1 + np.argmin(d)


def test_nan_in_an_input_column_names_the_column_and_the_file(tmp_path: Path) -> None:
    columns = synthetic_jets(20, 0, seed=1)
    energy = ak.to_list(columns["part_energy"])
    energy[7][2] = float("nan")
    columns["part_energy"] = ak.Array(energy)
    parquet = write_columns(tmp_path / "bad.parquet", columns)
    out = tmp_path / "out.h5"
    with pytest.raises(InputError, match="part_energy") as err:
        preprocess_chunk(parquet, out, config=run_config(), progress=False)
    assert err.value.file == str(parquet)
    assert not out.exists() and list(tmp_path.iterdir()) == [parquet]


def test_non_finite_computed_feature_names_the_feature_and_the_file(tmp_path: Path) -> None:
    columns = synthetic_jets(20, 0, seed=1, mean_particles=5)
    for name in ("part_px", "part_py"):  # a particle with zero pT: log(pT) = -inf
        values = ak.to_list(columns[name])
        values[3][0] = 0.0
        columns[name] = ak.Array(values)
    parquet = write_columns(tmp_path / "zero_pt.parquet", columns)
    with pytest.raises(InputError, match="part_logpt") as err:
        preprocess_chunk(parquet, tmp_path / "out.h5", config=run_config(), progress=False)
    assert err.value.file == str(parquet) and err.value.branch == "part_logpt"
    assert not (tmp_path / "out.h5").exists()


def test_bad_labels_missing_columns_and_missing_files(tmp_path: Path) -> None:
    columns = synthetic_jets(10, 0, seed=2)
    columns["label"] = np.full(10, 3, dtype=np.int64)
    with pytest.raises(InputError, match=r"labels outside \[0, 3\)"):
        preprocess_chunk(write_columns(tmp_path / "a.parquet", columns), tmp_path / "a.h5", config=run_config(),
                         progress=False)
    columns = synthetic_jets(10, 0, seed=2)
    del columns["part_energy"]
    with pytest.raises(InputError, match="part_energy") as err:
        preprocess_chunk(write_columns(tmp_path / "b.parquet", columns), tmp_path / "b.h5", config=run_config(),
                         progress=False)
    assert err.value.file == str(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="cannot read the ingested parquet file"):
        preprocess_chunk(tmp_path / "missing.parquet", tmp_path / "c.h5", config=run_config(), progress=False)


def test_angles_missing_from_the_input_are_computed_relative_to_the_jet_axis(tmp_path: Path) -> None:
    columns = synthetic_jets(40, 2, seed=4)
    without = {name: values for name, values in columns.items() if name not in ("part_deta", "part_dphi")}
    points = []
    for name, data in (("stored", columns), ("computed", without)):
        preprocess_chunk(write_columns(tmp_path / f"{name}.parquet", data), tmp_path / f"{name}.h5",
                         config=run_config(), progress=False)
        with h5py.File(tmp_path / f"{name}.h5", "r") as h5:
            points.append(h5["train/part/points"][:])
    np.testing.assert_allclose(points[1], points[0], atol=2e-5)


def test_image_settings_jet_images_refuses_are_config_errors(tmp_path: Path) -> None:
    config = run_config()
    config["represent"]["images"]["centre"] = "somewhere"
    parquet = write_synthetic_chunk(tmp_path / "in.parquet", 10, 0, seed=5)
    with pytest.raises(ConfigError, match="represent.images"):
        preprocess_chunk(parquet, tmp_path / "out.h5", config=config, progress=False)
