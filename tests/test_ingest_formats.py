"""The ingest dispatcher on the HDF5 formats: hls4ml and top-tagging files through the same completion and writing."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import vector

from rootml.errors import InputError
from rootml.ingest import SampleSpec, ingest_file
from rootml.seeds import stable_event_ids

HLS4ML_CLASSES = ["g", "q", "W", "Z", "t"]
JET_FEATURES = [
    "j_ptfrac",
    "j_pt",
    "j_eta",
    "j_mass",
    "j_tau1_b1",
    "j_tau2_b1",
    "j_tau3_b1",
    "j_tau1_b2",
    "j_tau2_b2",
    "j_tau3_b2",
    "j_tau32_b1",
    "j_tau32_b2",
    "j_zlogz",
    "j_c1_b0_mmdt",
    "j_c1_b1_mmdt",
    "j_c1_b2_mmdt",
    "j_c2_b1_mmdt",
    "j_c2_b2_mmdt",
    "j_d2_b1_mmdt",
    "j_d2_b2_mmdt",
    "j_d2_a1_b1_mmdt",
    "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt",
    "j_m2_b2_mmdt",
    "j_n2_b1_mmdt",
    "j_n2_b2_mmdt",
    "j_mass_trim",
    "j_mass_mmdt",
    "j_mass_prun",
    "j_mass_sdb2",
    "j_mass_sdm1",
    "j_multiplicity",
    "j_g",
    "j_q",
    "j_w",
    "j_z",
    "j_t",
    "j_undef",
    "j_index",
]
PARTICLE_FEATURES = ["j1_px", "j1_py", "j1_pz", "j1_e", "j1_pt", "j1_eta", "j1_phi", "j1_pdgid"]
# Config snippets (also the examples in the docs).
HLS4ML = {"format": "hls4ml", "step_size": 16, "branches": {"jet_tau21": "j_tau2_b1 / j_tau1_b1"},
          "labels": {"g": "j_g == 1", "q": "j_q == 1", "W": "j_w == 1", "Z": "j_z == 1", "t": "j_t == 1"}}
TOPTAGGING = {
    "format": "toptagging",
    "labels": {"t": "is_signal_new == 1", "q": "is_signal_new == 0"},
    "selection": "jet_pt > 100",
}


def padded_constituents(rng: np.random.Generator, n_jets: int, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Massless (px, py, pz, E) constituents around a random axis, zero-padded after a random count; and the counts."""
    counts = rng.integers(1, n_slots + 1, n_jets)
    pt = rng.exponential(30.0, (n_jets, n_slots)) + 1.0
    eta = rng.uniform(-2, 2, (n_jets, 1)) + rng.normal(0, 0.2, (n_jets, n_slots))
    phi = rng.uniform(-3, 3, (n_jets, 1)) + rng.normal(0, 0.2, (n_jets, n_slots))
    p4 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)], axis=-1)
    p4[np.arange(n_slots)[None, :] >= counts[:, None]] = 0.0
    return p4.astype(np.float32), counts


def write_hls4ml(path: Path, n_jets: int = 40, n_slots: int = 8) -> dict[str, np.ndarray]:
    """A file in the hls4ml LHC jet layout (feature matrices named by byte-string lists)."""
    rng = np.random.default_rng(11)
    p4, counts = padded_constituents(rng, n_jets, n_slots)
    p = vector.array({"px": p4[..., 0], "py": p4[..., 1], "pz": p4[..., 2], "E": p4[..., 3]})
    filled = np.arange(n_slots)[None, :] < counts[:, None]
    pid = np.where(filled, rng.choice([211.0, -211.0, 22.0, 130.0, 11.0], (n_jets, n_slots)), 0.0)
    particles = np.stack([p4[..., 0], p4[..., 1], p4[..., 2], p4[..., 3], np.where(filled, p.pt, 0),
                          np.where(filled, p.eta, 0), np.where(filled, p.phi, 0), pid], axis=-1).astype(np.float32)
    jets = rng.uniform(0.1, 1.0, (n_jets, len(JET_FEATURES))).astype(np.float32)
    jet = vector.array({k: p4[..., i].sum(axis=1) for i, k in enumerate(("px", "py", "pz", "E"))})
    for name, values in (("j_pt", jet.pt), ("j_eta", jet.eta), ("j_mass", jet.mass), ("j_index", np.arange(n_jets))):
        jets[:, JET_FEATURES.index(name)] = values
    jets[:, JET_FEATURES.index("j_g"):JET_FEATURES.index("j_t") + 1] = np.eye(5)[rng.integers(0, 5, n_jets)]
    with h5py.File(path, "w") as h5:
        h5["jets"] = jets
        h5["jetFeatureNames"] = np.array([n.encode() for n in JET_FEATURES])
        h5["jetConstituentList"] = particles
        h5["particleFeatureNames"] = np.array([n.encode() for n in PARTICLE_FEATURES])
        h5["jetImage"] = np.zeros((n_jets, 4, 4), dtype=np.float32)
    return {"jets": jets, "particles": particles, "counts": counts, "jet_phi": jet.phi}


def ingest(tmp_path: Path, source: Path, cfg: dict, classes: list[str]) -> tuple[ak.Array, dict]:
    """Ingest `source` as sample 'h'; return the parquet content and the stats."""
    out = tmp_path / "out" / "h.parquet"
    stats = ingest_file(
        source, out, spec=SampleSpec.from_config("h", cfg, classes), file_index=3, classes=classes, progress=False
    )
    return ak.from_parquet(out), stats


def test_hls4ml_file_labels_constituents_and_native_features(tmp_path: Path) -> None:
    """One-hot j_* flags label the jets; constituents lose their padding; native j_* features stay; mapping works."""
    source = tmp_path / "hls4ml_LHCjet_30p_val.h5"
    written = write_hls4ml(source)
    jets, stats = ingest(tmp_path, source, HLS4ML, HLS4ML_CLASSES)
    feature = {name: written["jets"][:, i] for i, name in enumerate(JET_FEATURES)}
    assert stats["written"] == len(jets) == 40 and stats["file_index"] == 3
    assert pq.ParquetFile(tmp_path / "out" / "h.parquet").num_row_groups == 3
    np.testing.assert_array_equal(
        ak.to_numpy(jets.label),
        np.argmax(written["jets"][:, JET_FEATURES.index("j_g") : JET_FEATURES.index("j_t") + 1], axis=1),
    )
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_pt), feature["j_pt"])
    np.testing.assert_allclose(ak.to_numpy(jets.jet_tau21), feature["j_tau2_b1"] / feature["j_tau1_b1"], rtol=1e-6)
    np.testing.assert_array_equal(ak.to_numpy(jets.j_zlogz), feature["j_zlogz"])
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_nparticles), written["counts"])
    filled = written["particles"][..., 3] > 0
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.part_px)), written["particles"][..., 0][filled])
    np.testing.assert_allclose(
        ak.to_numpy(jets.jet_phi), written["jet_phi"], atol=1e-5
    )  # no jet phi stored: constituent sum
    deta = written["particles"][..., 5] - feature["j_eta"][:, None]
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_deta)), deta[filled], atol=1e-4)
    pid = written["particles"][..., 7][filled]
    np.testing.assert_array_equal(
        ak.to_numpy(ak.flatten(jets.part_charge)), np.select([pid == 211, (pid == -211) | (pid == 11)], [1, -1], 0)
    )
    np.testing.assert_array_equal(ak.to_numpy(ak.flatten(jets.part_isPhoton)), pid == 22)
    assert "part_pt" not in jets.fields  # consumed as kinematics, px/py/pz/E are the canonical form
    np.testing.assert_array_equal(
        ak.to_numpy(jets.event_id), stable_event_ids("h/hls4ml_LHCjet_30p_val.h5", np.arange(40))
    )


def test_toptagging_file_labels_and_selection(tmp_path: Path) -> None:
    """The pandas table of constituents: jets are their sums, is_signal_new labels them, the selection applies."""
    rng = np.random.default_rng(12)
    p4, counts = padded_constituents(rng, 50, 6)
    frame = pd.DataFrame({f"{c}_{i}": p4[:, i, k] for i in range(6) for k, c in enumerate(("PX", "PY", "PZ", "E"))})
    truth = {"truthE": 0.0, "truthPX": 0.0, "truthPY": 0.0, "truthPZ": 0.0, "ttv": 1}
    frame = frame.assign(**truth, is_signal_new=rng.integers(0, 2, 50))
    source = tmp_path / "test.h5"
    frame.to_hdf(source, key="table", format="table")
    jets, stats = ingest(tmp_path, source, TOPTAGGING, ["q", "t"])
    jet = vector.array({k: p4[..., i].sum(axis=1) for i, k in enumerate(("px", "py", "pz", "E"))})
    keep = jet.pt > 100
    assert stats["jets"] == 50 and stats["rejected"] == (~keep).sum() and len(jets) == keep.sum() > 10
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), jet.mass[keep], rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(ak.to_numpy(jets.label), frame.is_signal_new.to_numpy()[keep])
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_nparticles), counts[keep])
    assert ak.all(jets.part_pid == 0) and ak.all(jets.part_isChargedHadron == 0)  # no particle ids in this format


def test_missing_hdf5_file(tmp_path: Path) -> None:
    """A missing HDF5 file is named, and nothing is written."""
    with pytest.raises(InputError, match="nowhere.h5"):
        ingest(tmp_path, tmp_path / "nowhere.h5", HLS4ML, HLS4ML_CLASSES)
    assert not (tmp_path / "out" / "h.parquet").exists()


def test_selection_keeping_no_jet_writes_nothing(tmp_path: Path) -> None:
    """An HDF5 sample whose selection keeps no jet names the key and file, and leaves no parquet file."""
    source = tmp_path / "hls4ml_LHCjet_30p_val.h5"
    write_hls4ml(source)
    with pytest.raises(InputError, match=r"samples\.h\.selection.*hls4ml_LHCjet_30p_val\.h5"):
        ingest(tmp_path, source, {**HLS4ML, "selection": "jet_pt < 0"}, HLS4ML_CLASSES)
    assert list((tmp_path / "out").iterdir()) == []
