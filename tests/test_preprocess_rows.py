"""Rows that are not jets with particles: scalar-only jets, event rows with a set of muons (built-ins relative to the
set's sum), images of any set, and jets with two sets, from the config check through the prepared files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awkward as ak
import h5py
import numpy as np
import pytest

from rootml.config import check_config, feature_sets
from rootml.errors import ConfigError
from rootml.features.available import observer_columns
from rootml.preprocess.chunk import preprocess_chunk
from rootml.preprocess.fit import fit_preprocessing
from rootml.preprocess.layout import prepared_paths, representations
from rootml.preprocess.prepare import prepare_split
from rootml.preprocess.split import SPLITS
from synthetic import synthetic_events, synthetic_jets
from test_preprocess_chunk import CLASSES, run_config, write_columns

MUON_FEATURES = ["muons_logpt", "muons_deta", "muons_dphi", "muons_logptrel", "muons_charge"]


def files_samples(**sample: Any) -> dict[str, dict[str, Any]]:
    """One sample on disk per class, each with the given keys."""
    return {c: {"label": c, "files": [f"{c}/*.root"], **sample} for c in CLASSES}


def run_stage(tmp_path: Path, columns: list[dict[str, Any]], config: dict[str, Any]) -> dict[str, Any]:
    """Preprocess one chunk per class, fit and prepare every split; return the fitted JSON contents."""
    chunks = []
    for label, data in enumerate(columns):
        chunks.append(tmp_path / "preprocessed" / f"{label}.h5")
        preprocess_chunk(write_columns(tmp_path / f"{label}.parquet", data), chunks[-1], config=config, progress=False)
    fitted = fit_preprocessing(chunks, tmp_path / "normalization.json", tmp_path / "reweighting.json", config=config,
                               progress=False)
    for split in SPLITS:
        prepare_split(chunks, split, prepared_paths(tmp_path / "prepared" / split, config),
                      normalization=fitted["normalization"], reweighting=fitted["reweighting"], config=config,
                      progress=False)
    return {"chunks": chunks, **fitted}


def test_scalar_only_jets_need_no_particle_column(tmp_path: Path) -> None:
    config = run_config(features={"highlevel": ["jet_pt", "jet_mass", "msd"]},
                        samples=files_samples(collection="FatJet", branches={"msd": "FatJet_msoftdrop"}))
    check_config(config)
    assert feature_sets(config) == {} and representations(config) == ["highlevel"]
    assert observer_columns(config) == ["jet_pt", "jet_eta", "jet_mass", "jet_energy"]  # no sure soft-drop mass
    columns = []
    for label in range(len(CLASSES)):
        jets = synthetic_jets(150, label, seed=label)
        columns.append({"msd": jets["jet_sdmass"],
                        **{name: values for name, values in jets.items() if not name.startswith("part_")}})
    fitted = run_stage(tmp_path, columns, config)
    with h5py.File(fitted["chunks"][0], "r") as h5:
        assert set(h5["train"]) == {"label", "weight", "event_id", "highlevel", "obs_jet_pt", "obs_jet_eta",
                                    "obs_jet_mass", "obs_jet_energy"}
        msd = dict(zip(columns[0]["event_id"].tolist(), columns[0]["msd"].tolist()))
        expected = [msd[event_id] for event_id in h5["train/event_id"][:].tolist()]
        np.testing.assert_array_equal(h5["train/highlevel"][:, 2], np.asarray(expected, dtype=np.float32))
    assert sorted(p.name for p in (tmp_path / "prepared" / "train").iterdir()) == ["highlevel.h5"]
    assert set(fitted["normalization"]["features"]) == {"jet_pt", "jet_mass", "msd"}
    assert fitted["normalization"]["n_particles"] == 0
    config["features"]["highlevel"] = ["jet_pt", "jet_tau21"]
    with pytest.raises(ConfigError, match="'jet_tau21' is a built-in computed from set 'part'") as err:
        check_config(config)
    assert err.value.key == "features.highlevel"


@pytest.fixture()
def events_config() -> dict[str, Any]:
    """Event rows of three classes with a per-event set of muons, reweighting off (no jet columns to bin in)."""
    return run_config(features={"highlevel": ["met", "n_muons"], "sets": {
        "muons": {"features": MUON_FEATURES, "max_length": 4}}}, preprocess={"reweighting": {"method": "none"}},
        samples=files_samples(tree="Events", branches={"met": "MET_pt", "n_muons": "nMuon"},
                              sets={"muons": {"collection": "Muon"}}))


def test_event_rows_with_a_set_of_muons(tmp_path: Path, events_config: dict[str, Any]) -> None:
    config = events_config
    check_config(config)
    assert observer_columns(config) == [] and representations(config) == ["highlevel", "muons"]
    events = [synthetic_events(200, label, seed=label) for label in range(len(CLASSES))]
    fitted = run_stage(tmp_path, events, config)
    assert fitted["reweighting"]["variables"] == [] and fitted["reweighting"]["bin_factors"] == [1.0, 1.0, 1.0]
    assert set(fitted["normalization"]["features"]) == {"met", "n_muons", *MUON_FEATURES}
    with h5py.File(fitted["chunks"][0], "r") as h5:
        group = h5["train"]
        assert set(group) == {"label", "weight", "event_id", "highlevel", "muons"}
        assert set(group["muons"]) == {"features", "points", "vectors", "mask"}
        ids, points, mask = group["event_id"][:], group["muons/points"][:], group["muons/mask"][:]
    # deta to the axis of rows without one: the muons' summed four-momentum
    muons = events[0]
    row = int(np.flatnonzero(muons["event_id"] == ids[0])[0])
    px, py, pz = (ak.to_numpy(muons[f"muons_{c}"][row]).astype(np.float64) for c in ("px", "py", "pz"))
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / pt) - np.arcsinh(pz.sum() / np.hypot(px.sum(), py.sum()))
    n = min(len(pt), 4)
    np.testing.assert_allclose(points[0, 0, :n], eta[np.argsort(-pt, kind="stable")][:n], atol=1e-5)
    assert mask[0].sum() == n
    with h5py.File(tmp_path / "prepared" / "test" / "muons.h5", "r") as h5:
        assert h5["features"].shape[1:] == (len(MUON_FEATURES), 4) and "vectors" in h5
        assert h5.attrs["set"] == "muons" and json.loads(h5.attrs["coordinates"]) == ["muons_deta", "muons_dphi"]
        assert h5.attrs["n_particles"] == 4 and json.loads(h5.attrs["feature_names"]) == MUON_FEATURES


@pytest.mark.parametrize(("mutate", "key", "message"), [
    (lambda c: c["features"].update(highlevel=["met", "jet_pt"]), "features.highlevel",
     "'jet_pt' is a built-in computed from set 'part', which samples ['q', 'W', 't'] do not provide"),
    (lambda c: c["features"].update(observers=["jet_energy"]), "features.observers", "'jet_energy' is neither"),
    (lambda c: c["preprocess"]["reweighting"].update(method="flat"), "preprocess.reweighting.variables",
     "'jet_pt' is a built-in"),
    (lambda c: c["features"]["sets"]["muons"].update(features=["mu_pt"]), "features.sets.muons.features",
     "'mu_pt' is not a feature of set 'muons'"),
    (lambda c: c["features"]["sets"].update(part={"features": ["part_deta"], "max_length": 4,
                                                  "coordinates": ["part_deta", "part_dphi"]}),
     "features.sets.part", "set 'part' is not provided by samples"),
    (lambda c: c["represent"]["images"].update(set="muon"), "represent.images.set",
     "'muon' is not a set of features.sets ['muons']; did you mean 'muons'?"),
])
def test_event_config_mistakes_stop_before_any_job(events_config: dict[str, Any], mutate, key: str,
                                                   message: str) -> None:
    mutate(events_config)
    with pytest.raises(ConfigError) as err:
        check_config(events_config)
    assert err.value.key == key and message in str(err.value)


def test_images_of_another_set(tmp_path: Path, events_config: dict[str, Any]) -> None:
    config = events_config
    config["represent"]["images"].update(set="muons", centre="jet_axis", rotate=False, flip=False, n_pixels=8,
                                         extent=3.0, channels=["total", "charged"])
    check_config(config)
    assert representations(config) == ["highlevel", "images", "muons"]
    run_stage(tmp_path, [synthetic_events(100, label, seed=label) for label in range(len(CLASSES))], config)
    with h5py.File(tmp_path / "prepared" / "train" / "images.h5", "r") as h5:
        images = h5["image"][:]
        assert images.shape[1:] == (2, 8, 8) and h5.attrs["n_pixels"] == 8
        assert np.all(images[:, 1] <= images[:, 0] + 1e-6) and np.all(images.sum(axis=(2, 3))[:, 0] <= 1 + 1e-5)


def test_jets_with_two_sets(tmp_path: Path) -> None:
    trk = {"features": ["trk_logpt", "trk_deta", "trk_dphi"], "max_length": 8}
    part = {field: f"PF_{field}" for field in ("px", "py", "pz", "energy", "pid")}
    tracks = {field: f"Track_{field}" for field in ("px", "py", "pz", "energy")}
    config = run_config(features={"sets": {"part": {"max_length": 16}, "trk": trk}}, samples=files_samples(
        collection="FatJet", sets={"part": {"branches": part}, "trk": {"branches": tracks}}))
    check_config(config)
    assert representations(config) == ["highlevel", "images", "part", "trk"]
    columns = []
    for label in range(len(CLASSES)):
        jets = synthetic_jets(120, label, seed=label)
        charged = jets["part_charge"] != 0
        columns.append({**jets, **{f"trk_{c}": jets[f"part_{c}"][charged] for c in ("px", "py", "pz", "energy")}})
    fitted = run_stage(tmp_path, columns, config)
    assert {"trk_logpt", "part_logpt"} <= set(fitted["normalization"]["features"])
    with h5py.File(tmp_path / "prepared" / "val" / "part.h5", "r") as part_h5, \
            h5py.File(tmp_path / "prepared" / "val" / "trk.h5", "r") as trk_h5:
        np.testing.assert_array_equal(part_h5["event_id"][:], trk_h5["event_id"][:])
        assert trk_h5["features"].shape[1:] == (3, 8) and part_h5["features"].shape[1:] == (13, 16)
        assert np.all(trk_h5["mask"][:].sum(axis=1) <= part_h5["mask"][:].sum(axis=1))
    assert fitted["normalization"]["n_particles"] > 0
