"""fit_preprocessing + prepare_split on synthetic chunks: contract layout, train-only fits, byte-identical output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest

from rootml.config import feature_sets
from rootml.errors import InputError
from rootml.preprocess.chunk import preprocess_chunk
from rootml.preprocess.fit import fit_preprocessing
from rootml.preprocess.layout import prepared_by_split, prepared_inputs, prepared_paths, representations
from rootml.preprocess.normalization import apply_normalization
from rootml.preprocess.prepare import prepare_split, read_plan
from rootml.preprocess.reweighting import Reweighting
from rootml.preprocess.split import SPLITS, assign_splits
from synthetic import synthetic_jets, write_synthetic_chunk
from test_preprocess_chunk import CLASSES, N_PARTICLES, run_config, write_columns

# (class index, chunk, jets): t comes in two chunks
CHUNKS = [(0, 0, 300), (1, 0, 300), (2, 0, 150), (2, 1, 150)]
OBSERVERS = ["jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy"]


def prepare_all(chunks: list[Path], out: Path, config: dict[str, Any]) -> dict[str, Any]:
    """Fit on the chunks and prepare every split under out/prepared/{split}; return the fitted JSON contents."""
    fitted = fit_preprocessing(chunks, out / "normalization.json", out / "reweighting.json", config=config,
                               progress=False)
    for split in SPLITS:
        prepare_split(chunks, split, prepared_paths(out / "prepared" / split, config),
                      normalization=fitted["normalization"], reweighting=fitted["reweighting"], config=config,
                      read_rows=64, buffer_rows=256, progress=False)
    return fitted


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Synthetic chunks of three classes, preprocessed, fitted and prepared."""
    root = tmp_path_factory.mktemp("prepare")
    config = run_config()
    chunks = []
    for label, chunk, n in CHUNKS:
        parquet = write_synthetic_chunk(root / "ingested" / f"{label}_{chunk}.parquet", n, label,
                                        seed=10 * label + chunk)
        chunks.append(root / "preprocessed" / CLASSES[label] / f"{chunk:04d}.h5")
        preprocess_chunk(parquet, chunks[-1], config=config, progress=False)
    fitted = prepare_all(chunks, root, config)
    return {"root": root, "config": config, "chunks": chunks, **fitted}


def read(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every dataset and attribute of an HDF5 file."""
    with h5py.File(path, "r") as h5:
        return {name: h5[name][:] for name in h5}, dict(h5.attrs)


def test_prepared_files_follow_the_contract(run: dict[str, Any]) -> None:
    config = run["config"]
    part_features = feature_sets(config)["part"]["features"]
    n_hl, n_part = len(config["features"]["highlevel"]), len(part_features)
    common = {"label", "weight", "event_id", *(f"obs_{o}" for o in OBSERVERS)}
    expected = {
        "highlevel": {"highlevel": (n_hl,), "highlevel_raw": (n_hl,)},
        "images": {"image": (1, 11, 11)},
        "part": {"features": (n_part, N_PARTICLES), "points": (2, N_PARTICLES), "vectors": (4, N_PARTICLES),
                 "mask": (N_PARTICLES,)},
    }
    assert representations(config) == list(expected)
    all_ids = []
    for split in SPLITS:
        files = {r: read(run["root"] / "prepared" / split / f"{r}.h5") for r in expected}
        n = len(files["highlevel"][0]["label"])
        for representation, (data, attrs) in files.items():
            assert set(data) == common | set(expected[representation])
            for name, shape in expected[representation].items():
                assert data[name].shape == (n, *shape)
            assert data["label"].dtype == np.int64 and data["event_id"].dtype == np.int64
            assert data["weight"].dtype == np.float32 and data["mask" if "mask" in data else "weight"].dtype in (
                bool, np.float32)
            assert data["obs_jet_pt"].dtype == np.float32
            assert json.loads(attrs["classes"]) == CLASSES and attrs["split"] == split
            # every file of a split holds the same jets in the same order
            np.testing.assert_array_equal(data["event_id"], files["highlevel"][0]["event_id"])
        assert json.loads(files["highlevel"][1]["feature_names"]) == config["features"]["highlevel"]
        part_attrs = files["part"][1]
        assert json.loads(part_attrs["feature_names"]) == part_features
        assert set(json.loads(part_attrs["normalization"])["features"]) == set(part_features)
        assert part_attrs["n_particles"] == N_PARTICLES and part_attrs["set"] == "part"
        assert json.loads(part_attrs["coordinates"]) == ["part_deta", "part_dphi"]
        assert files["images"][1]["n_pixels"] == 11 and files["images"][1]["extent"] == 1.2
        assert json.loads(files["images"][1]["channels"]) == ["total"]
        split_of = assign_splits(files["highlevel"][0]["event_id"], config["preprocess"]["splits"], config["seed"])
        assert np.all(split_of == SPLITS.index(split))
        all_ids.append(files["highlevel"][0]["event_id"])
    ids = np.concatenate(all_ids)
    assert len(ids) == sum(n for _, _, n in CHUNKS) == len(np.unique(ids))


def test_rows_are_shuffled_across_chunks(run: dict[str, Any]) -> None:
    data, _ = read(run["root"] / "prepared" / "train" / "highlevel.h5")
    labels = data["label"]
    # chunk order would give runs of one class; a shuffle gives every class in the first rows and many switches
    assert set(labels[:60]) == {0, 1, 2}
    assert np.count_nonzero(np.diff(labels)) > len(labels) / 3


def test_normalization_and_weights_are_applied(run: dict[str, Any]) -> None:
    config, normalization = run["config"], run["normalization"]
    hl, _ = read(run["root"] / "prepared" / "val" / "highlevel.h5")
    np.testing.assert_array_equal(
        hl["highlevel"], apply_normalization(hl["highlevel_raw"], config["features"]["highlevel"], normalization))
    parts, attrs = read(run["root"] / "prepared" / "val" / "part.h5")
    names = json.loads(attrs["feature_names"])
    real = np.broadcast_to(parts["mask"][:, None], parts["features"].shape)
    assert np.all(parts["features"][~real] == 0) and np.all(parts["vectors"][:, :, ~parts["mask"][0]] == 0)
    normalized = [normalization["features"][name]["normalized"] for name in names]
    assert np.abs(parts["features"][:, normalized]).max() <= 5.0
    charge = parts["features"][:, names.index("part_charge")][parts["mask"]]
    assert set(np.unique(charge)) <= {-1.0, 0.0, 1.0}  # skipped: raw
    # train weights: every class gets the same total; val weights follow the same fitted bins
    train, _ = read(run["root"] / "prepared" / "train" / "highlevel.h5")
    totals = np.bincount(train["label"], train["weight"])
    np.testing.assert_allclose(totals, totals.mean(), rtol=1e-4)
    fitted = Reweighting.from_json(run["reweighting"])
    expected = fitted.weights({"jet_pt": hl["obs_jet_pt"], "jet_eta": hl["obs_jet_eta"]}, hl["label"],
                              np.ones(len(hl["label"]), dtype=np.float32))
    np.testing.assert_allclose(hl["weight"], expected, rtol=1e-6)


def test_same_inputs_give_byte_identical_files_whatever_the_chunk_order(run: dict[str, Any], tmp_path: Path) -> None:
    again = tmp_path / "again"
    prepare_split(run["chunks"][::-1], "train", prepared_paths(again, run["config"]),
                  normalization=run["normalization"], reweighting=run["reweighting"], config=run["config"],
                  read_rows=64, buffer_rows=256, progress=False)
    for representation in representations(run["config"]):
        assert (again / f"{representation}.h5").read_bytes() == (
            run["root"] / "prepared" / "train" / f"{representation}.h5").read_bytes()
    parquet = run["root"] / "ingested" / "0_0.parquet"
    preprocess_chunk(parquet, tmp_path / "chunk.h5", config=run["config"], progress=False)
    assert (tmp_path / "chunk.h5").read_bytes() == run["chunks"][0].read_bytes()


def test_normalization_and_reweighting_ignore_validation_and_test_jets(run: dict[str, Any], tmp_path: Path) -> None:
    config = run["config"]
    columns = synthetic_jets(300, 0, seed=0)
    split = assign_splits(columns["event_id"], config["preprocess"]["splits"], config["seed"])
    outlier = dict(columns)
    # huge jets in val/test only: they would move every mean, median and histogram range
    outlier["jet_pt"] = np.where(split > 0, 1e7, columns["jet_pt"]).astype(np.float32)
    outlier["jet_sdmass"] = np.where(split > 0, 1e6, columns["jet_sdmass"]).astype(np.float32)
    outlier["part_energy"] = ak.where(split > 0, columns["part_energy"] * 1e4, columns["part_energy"])
    fits = []
    for name, data in (("clean", columns), ("outlier", outlier)):
        chunk = tmp_path / name / "0.h5"
        preprocess_chunk(write_columns(tmp_path / f"{name}.parquet", data), chunk, config=config, progress=False)
        for method in ("standard", "robust"):
            settings = run_config(preprocess={"normalization": {"method": method}, "reweighting": {"bins": [6, 4]}})
            fits.append(fit_preprocessing([chunk], tmp_path / name / f"n_{method}.json", tmp_path / name / "r.json",
                                          config=settings, progress=False))
    assert fits[0] == fits[2] and fits[1] == fits[3]
    assert fits[0]["normalization"]["features"]["jet_pt"]["center"] < 1000


def test_chunks_made_with_other_settings_are_refused(run: dict[str, Any], tmp_path: Path) -> None:
    config = run_config(features={"sets": {"part": {"max_length": N_PARTICLES + 1}}})
    with pytest.raises(InputError, match="other settings .'sets'") as err:
        prepare_split(run["chunks"], "val", prepared_paths(tmp_path, config), normalization=run["normalization"],
                      reweighting=run["reweighting"], config=config, progress=False)
    assert err.value.file == str(sorted(map(str, run["chunks"]))[0])
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="other settings"):
        fit_preprocessing(run["chunks"], tmp_path / "n.json", tmp_path / "r.json", config=config, progress=False)
    with pytest.raises(InputError, match="not a preprocessed chunk file"):
        fit_preprocessing([tmp_path / "missing.h5"], tmp_path / "n.json", tmp_path / "r.json", config=config,
                          progress=False)


def test_read_plan_reads_every_row_once_in_file_order_and_bounds_the_buffers() -> None:
    rows = [1000, 0, 37, 513]
    plan = read_plan(rows, read_rows=64, buffer_rows=256, rng=np.random.default_rng(3))
    assert all(sum(stop - start for _, start, stop in reads) <= 256 for reads in plan)
    reads = [read for buffer in plan for read in buffer]
    for index, n in enumerate(rows):
        own = [(start, stop) for f, start, stop in reads if f == index]
        assert own == [(s, min(s + 64, n)) for s in range(0, n, 64)]
    # interleaved: the first buffers already draw from several files
    assert len({f for f, _, _ in plan[0] + plan[1]}) >= 2


def test_prepared_inputs_of_any_representation_parse_back_by_split() -> None:
    named = {"config": "c.json", **prepared_inputs(["highlevel", "part", "muon_hits"], ["train", "val"])}
    assert prepared_by_split(named) == {
        split: {r: f"data/prepared/{split}/{r}.h5" for r in ("highlevel", "part", "muon_hits")}
        for split in ("train", "val")}
