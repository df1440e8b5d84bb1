"""Readers of the hls4ml and top-tagging HDF5 jet datasets, on small files written in their exact layouts."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pandas as pd
import pytest

from rootml.errors import InputError
from rootml.ingest.hdf5 import iter_hls4ml, iter_toptagging

HLS4ML_JET_FEATURES = [
    "j_ptfrac", "j_pt", "j_eta", "j_mass", "j_tau1_b1", "j_tau2_b1", "j_tau3_b1", "j_tau1_b2", "j_tau2_b2",
    "j_tau3_b2", "j_tau32_b1", "j_tau32_b2", "j_zlogz", "j_c1_b0_mmdt", "j_c1_b1_mmdt", "j_c1_b2_mmdt",
    "j_c2_b1_mmdt", "j_c2_b2_mmdt", "j_d2_b1_mmdt", "j_d2_b2_mmdt", "j_d2_a1_b1_mmdt", "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt", "j_m2_b2_mmdt", "j_n2_b1_mmdt", "j_n2_b2_mmdt", "j_mass_trim", "j_mass_mmdt", "j_mass_prun",
    "j_mass_sdb2", "j_mass_sdm1", "j_multiplicity", "j_g", "j_q", "j_w", "j_z", "j_t", "j_undef", "j_index",
]
HLS4ML_PARTICLE_FEATURES = [
    "j1_px", "j1_py", "j1_pz", "j1_e", "j1_erel", "j1_pt", "j1_ptrel", "j1_eta", "j1_etarel", "j1_etarot",
    "j1_phi", "j1_phirel", "j1_phirot", "j1_deltaR", "j1_costheta", "j1_costhetarel", "j1_pdgid",
]
N_JETS = 30


def _constituents(rng: np.random.Generator, n_jets: int, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Massless constituents (px, py, pz, E) zero-padded after a random count per jet, and those counts."""
    counts = rng.integers(1, n_slots + 1, size=n_jets)
    counts[0] = n_slots  # one jet fills every slot
    pt = rng.uniform(1.0, 200.0, size=(n_jets, n_slots))
    eta = rng.uniform(-2.0, 2.0, size=(n_jets, n_slots))
    phi = rng.uniform(-np.pi, np.pi, size=(n_jets, n_slots))
    p4 = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), pt * np.cosh(eta)], axis=-1)
    p4[np.arange(n_slots)[None, :] >= counts[:, None]] = 0.0
    return p4.astype(np.float32), counts


def _write_hls4ml(path: Path, particle_features: list[str], n_slots: int = 8, seed: int = 1) -> dict:
    """An hls4ml_LHCjet-layout file; returns what was written."""
    rng = np.random.default_rng(seed)
    p4, counts = _constituents(rng, N_JETS, n_slots)
    particles = rng.normal(size=(N_JETS, n_slots, len(particle_features))).astype(np.float32)
    for i, name in enumerate(["j1_px", "j1_py", "j1_pz", "j1_e"]):
        particles[:, :, particle_features.index(name)] = p4[:, :, i]
    if "j1_pdgid" in particle_features:
        particles[:, :, particle_features.index("j1_pdgid")] = rng.choice([211.0, -211.0, 22.0, 130.0, 11.0],
                                                                          size=(N_JETS, n_slots))
    particles[np.arange(n_slots)[None, :] >= counts[:, None]] = 0.0
    jets = rng.uniform(0.1, 1.0, size=(N_JETS, len(HLS4ML_JET_FEATURES))).astype(np.float32)
    jets[:, HLS4ML_JET_FEATURES.index("j_pt")] = rng.uniform(500.0, 1500.0, N_JETS)
    jets[:, HLS4ML_JET_FEATURES.index("j_eta")] = rng.uniform(-2.0, 2.0, N_JETS)
    jets[:, HLS4ML_JET_FEATURES.index("j_mass")] = rng.uniform(10.0, 200.0, N_JETS)
    onehot = np.eye(5, dtype=np.float32)[rng.integers(0, 5, N_JETS)]
    jets[:, HLS4ML_JET_FEATURES.index("j_g"):HLS4ML_JET_FEATURES.index("j_t") + 1] = onehot
    with h5py.File(path, "w") as h5:
        h5["jets"] = jets
        h5["jetFeatureNames"] = np.array([n.encode() for n in HLS4ML_JET_FEATURES])
        h5["jetConstituentList"] = particles
        h5["particleFeatureNames"] = np.array([n.encode() for n in particle_features])
        h5["jetImage"] = rng.uniform(size=(N_JETS, 10, 10)).astype(np.float32)
    return {"jets": jets, "particles": particles, "counts": counts}


def _concat(steps: list[dict]) -> dict:
    """Concatenate the yielded steps column by column."""
    return {key: (ak.concatenate([s[key] for s in steps]) if isinstance(steps[0][key], ak.Array)
                  else np.concatenate([s[key] for s in steps])) for key in steps[0]}


def test_hls4ml_round_trip(tmp_path: Path) -> None:
    """Jet features come back under native/canonical names; constituents lose exactly their zero padding."""
    path = tmp_path / "hls4ml_LHCjet_150p_val.h5"
    written = _write_hls4ml(path, HLS4ML_PARTICLE_FEATURES)
    (columns,) = list(iter_hls4ml(path, step_size=1000))

    jets, particles, counts = written["jets"], written["particles"], written["counts"]
    np.testing.assert_array_equal(columns["jet_pt"], jets[:, HLS4ML_JET_FEATURES.index("j_pt")])
    np.testing.assert_array_equal(columns["jet_eta"], jets[:, HLS4ML_JET_FEATURES.index("j_eta")])
    np.testing.assert_array_equal(columns["jet_mass"], jets[:, HLS4ML_JET_FEATURES.index("j_mass")])
    for name in ("j_tau32_b1", "j_mass_sdb2", "j_multiplicity", "j_g", "j_q", "j_w", "j_z", "j_t", "j_index"):
        np.testing.assert_array_equal(columns[name], jets[:, HLS4ML_JET_FEATURES.index(name)])
    assert not {"j_pt", "j_eta", "j_mass", "jetImage"} & set(columns)
    assert "jet_phi" not in columns  # the format has none
    pt, eta, mass = (jets[:, HLS4ML_JET_FEATURES.index(n)].astype(np.float64) for n in ("j_pt", "j_eta", "j_mass"))
    np.testing.assert_allclose(columns["jet_energy"], np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2), rtol=1e-5)
    np.testing.assert_array_equal(columns["jet_nparticles"], counts)

    np.testing.assert_array_equal(ak.num(columns["part_px"]), counts)
    for native, canonical in (("j1_px", "part_px"), ("j1_py", "part_py"), ("j1_pz", "part_pz"),
                              ("j1_e", "part_energy"), ("j1_etarel", "part_etarel"), ("j1_deltaR", "part_deltaR")):
        values = particles[:, :, HLS4ML_PARTICLE_FEATURES.index(native)]
        assert ak.to_list(columns[canonical]) == [values[j, :counts[j]].tolist() for j in range(N_JETS)]
    pid = particles[:, :, HLS4ML_PARTICLE_FEATURES.index("j1_pdgid")]
    assert ak.to_list(columns["part_pid"]) == [pid[j, :counts[j]].astype(int).tolist() for j in range(N_JETS)]
    assert columns["part_pid"].type.content.content.primitive == "int32"


def test_hls4ml_steps_concatenate_to_the_whole_file(tmp_path: Path) -> None:
    """Steps smaller than the file hold at most step_size jets and concatenate to the one-step result."""
    path = tmp_path / "hls4ml.h5"
    _write_hls4ml(path, HLS4ML_PARTICLE_FEATURES[:-1])  # the 16-feature variant, without j1_pdgid
    steps = list(iter_hls4ml(path, step_size=7))
    assert [len(s["jet_pt"]) for s in steps] == [7, 7, 7, 7, 2]
    (whole,) = list(iter_hls4ml(path, step_size=N_JETS))
    joined = _concat(steps)
    assert set(joined) == set(whole) and "part_pid" not in whole
    for key, values in whole.items():
        assert ak.to_list(joined[key]) == ak.to_list(values), key


def test_hls4ml_errors_name_file_and_dataset(tmp_path: Path) -> None:
    """Missing datasets, mismatched name lists, missing features and non-HDF5 files raise InputError."""
    path = tmp_path / "broken.h5"
    _write_hls4ml(path, HLS4ML_PARTICLE_FEATURES)
    with h5py.File(path, "a") as h5:
        del h5["jetConstituentList"]
    with pytest.raises(InputError, match=r"jetConstituentList.*broken\.h5"):
        next(iter_hls4ml(path, 10))

    _write_hls4ml(path, HLS4ML_PARTICLE_FEATURES)
    with h5py.File(path, "a") as h5:
        del h5["jetFeatureNames"]
        h5["jetFeatureNames"] = np.array([n.encode() for n in HLS4ML_JET_FEATURES[:-1]])
    with pytest.raises(InputError, match=r"'jetFeatureNames' lists 38 names for 39.*broken\.h5"):
        next(iter_hls4ml(path, 10))

    _write_hls4ml(path, HLS4ML_PARTICLE_FEATURES)
    with h5py.File(path, "a") as h5:
        del h5["particleFeatureNames"]
        h5["particleFeatureNames"] = np.array([("j1_E" if n == "j1_e" else n).encode()
                                               for n in HLS4ML_PARTICLE_FEATURES])
    with pytest.raises(InputError, match=r"'j1_e' is missing from HDF5 dataset 'particleFeatureNames'.*broken\.h5"):
        next(iter_hls4ml(path, 10))

    text = tmp_path / "notes.h5"
    text.write_text("not hdf5\n")
    with pytest.raises(InputError, match=r"not an HDF5 file.*notes\.h5"):
        next(iter_hls4ml(text, 10))
    with pytest.raises(InputError, match=r"does not exist.*absent\.h5"):
        next(iter_hls4ml(tmp_path / "absent.h5", 10))


def _toptag_frame(seed: int = 2, n_slots: int = 200) -> pd.DataFrame:
    """A DataFrame in the top-tagging layout: E_i, PX_i, PY_i, PZ_i, truth four-vector, ttv, is_signal_new."""
    rng = np.random.default_rng(seed)
    filled = min(40, n_slots)
    p4, _ = _constituents(rng, N_JETS, filled)
    padded = np.zeros((N_JETS, n_slots, 4), dtype=np.float32)
    padded[:, :filled] = p4[:, :, [3, 0, 1, 2]]  # stored as E, PX, PY, PZ
    columns = [f"{c}_{i}" for i in range(n_slots) for c in ("E", "PX", "PY", "PZ")]
    frame = pd.DataFrame(padded.reshape(N_JETS, -1), columns=columns)
    truth = rng.uniform(100.0, 900.0, size=(N_JETS, 4)).astype(np.float32)
    for i, name in enumerate(("truthE", "truthPX", "truthPY", "truthPZ")):
        frame[name] = truth[:, i]
    frame["ttv"] = np.full(N_JETS, 2, dtype=np.int64)
    frame["is_signal_new"] = rng.integers(0, 2, N_JETS)
    frame.index = rng.permutation(10 * N_JETS)[:N_JETS]  # the real files keep a non-contiguous jet index
    return frame


@pytest.mark.parametrize("fmt", ["table", "fixed"])
def test_toptagging_round_trip_and_jet_sums(tmp_path: Path, fmt: str) -> None:
    """Constituents equal the written ones without padding; the jet is their four-vector sum; labels pass through."""
    frame = _toptag_frame()
    path = tmp_path / "val.h5"
    frame.to_hdf(path, key="table", format=fmt, mode="w")
    (columns,) = list(iter_toptagging(path, step_size=100))

    energy = frame[[f"E_{i}" for i in range(200)]].to_numpy()
    counts = (energy > 0).sum(axis=1)
    np.testing.assert_array_equal(columns["jet_nparticles"], counts)
    for prefix, name in (("E", "part_energy"), ("PX", "part_px"), ("PY", "part_py"), ("PZ", "part_pz")):
        values = frame[[f"{prefix}_{i}" for i in range(200)]].to_numpy()
        assert ak.to_list(columns[name]) == [values[j, :counts[j]].tolist() for j in range(N_JETS)]

    px, py, pz, e = (frame[[f"{c}_{i}" for i in range(200)]].to_numpy().astype(np.float64).sum(axis=1)
                     for c in ("PX", "PY", "PZ", "E"))
    np.testing.assert_allclose(columns["jet_pt"], np.hypot(px, py), rtol=1e-5)
    np.testing.assert_allclose(columns["jet_phi"], np.arctan2(py, px), rtol=1e-5)
    np.testing.assert_allclose(columns["jet_eta"], np.arcsinh(pz / np.hypot(px, py)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(columns["jet_energy"], e, rtol=1e-6)
    np.testing.assert_allclose(columns["jet_mass"], np.sqrt(e**2 - px**2 - py**2 - pz**2), rtol=1e-4)
    for name in ("is_signal_new", "ttv", "truthE", "truthPZ"):
        np.testing.assert_array_equal(columns[name], frame[name].to_numpy())


def test_toptagging_steps_concatenate_to_the_whole_file(tmp_path: Path) -> None:
    """Steps smaller than the file hold at most step_size jets and concatenate to the one-step result."""
    path = tmp_path / "test.h5"
    _toptag_frame(n_slots=50).to_hdf(path, key="table", format="table", mode="w")
    steps = list(iter_toptagging(path, step_size=8))
    assert [len(s["jet_pt"]) for s in steps] == [8, 8, 8, 6]
    (whole,) = list(iter_toptagging(path, step_size=N_JETS + 5))
    joined = _concat(steps)
    for key, values in whole.items():
        assert ak.to_list(joined[key]) == ak.to_list(values), key
    # a step size dividing the file exactly stops after the last full step
    assert [len(s["jet_pt"]) for s in iter_toptagging(path, step_size=15)] == [15, 15]


def test_toptagging_errors_name_file_and_column(tmp_path: Path) -> None:
    """A missing column, a missing DataFrame key and a non-HDF5 file raise InputError naming them."""
    path = tmp_path / "train.h5"
    _toptag_frame(n_slots=20).drop(columns=["is_signal_new"]).to_hdf(path, key="table", format="table", mode="w")
    with pytest.raises(InputError, match=r"column 'is_signal_new' is missing.*train\.h5"):
        next(iter_toptagging(path, 10))

    _toptag_frame(n_slots=20).drop(columns=["PY_7"]).to_hdf(path, key="table", format="fixed", mode="w")
    with pytest.raises(InputError, match=r"column 'PY_7' is missing.*train\.h5"):
        next(iter_toptagging(path, 10))

    hls4ml = tmp_path / "hls4ml.h5"
    _write_hls4ml(hls4ml, HLS4ML_PARTICLE_FEATURES)
    with pytest.raises(InputError, match=r"key 'table'.*missing.*hls4ml\.h5"):
        next(iter_toptagging(hls4ml, 10))

    text = tmp_path / "train.csv"
    text.write_text("E_0,PX_0\n1,2\n")
    with pytest.raises(InputError, match=r"not an HDF5 file.*train\.csv"):
        next(iter_toptagging(text, 10))
