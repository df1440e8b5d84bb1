"""Readers for the two common HDF5 jet datasets (hls4ml LHC jets, top-tagging reference), in bounded steps.

Both yield dicts of canonical columns: jet scalars as numpy arrays, constituents as jagged awkward arrays
with the zero-padded slots removed, plus the native columns users select and label on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pandas as pd
import vector

from rootml.errors import InputError

Columns = dict[str, np.ndarray | ak.Array]

# hls4ml LHC jet dataset (Zenodo "hls4ml_LHCjet_*", JEDI-net paper): feature matrices named by byte-string lists.
HLS4ML_JETS = "jets"
HLS4ML_JET_NAMES = "jetFeatureNames"
HLS4ML_CONSTITUENTS = "jetConstituentList"
HLS4ML_CONSTITUENT_NAMES = "particleFeatureNames"
# Native jet features renamed to their canonical names; every other j_* feature keeps its native name.
HLS4ML_JET_RENAMES = {"j_pt": "jet_pt", "j_eta": "jet_eta", "j_mass": "jet_mass"}
# Native constituent features renamed to canonical names; every other j1_<x> becomes part_<x>.
HLS4ML_PARTICLE_RENAMES = {
    "j1_px": "part_px", "j1_py": "part_py", "j1_pz": "part_pz", "j1_e": "part_energy", "j1_pdgid": "part_pid",
}
HLS4ML_REQUIRED_PARTICLE = ("j1_px", "j1_py", "j1_pz", "j1_e")

# Top-tagging reference dataset (Kasieczka et al.): one pandas DataFrame under this key, written by
# pandas/PyTables in "table" format (table/table + table/_i_table); the reader also accepts "fixed" format.
TOPTAG_KEY = "table"
TOPTAG_COMPONENTS = {"E": "part_energy", "PX": "part_px", "PY": "part_py", "PZ": "part_pz"}
TOPTAG_NATIVE = ("truthE", "truthPX", "truthPY", "truthPZ", "ttv", "is_signal_new")
_TOPTAG_SLOT = re.compile(r"^E_(\d+)$")


def _check_step(step_size: int) -> None:
    """Refuse a step that could never advance."""
    if step_size < 1:
        raise ValueError(f"step_size must be a positive number of jets, got {step_size}")


def _check_hdf5(path: Path) -> None:
    """Raise InputError unless `path` is an existing HDF5 file."""
    if not path.is_file():
        raise InputError("input file does not exist", file=str(path))
    if not h5py.is_hdf5(path):
        raise InputError("not an HDF5 file", file=str(path))


def _jagged(padded: np.ndarray, filled: np.ndarray) -> ak.Array:
    """Jagged array of the filled slots of a (jets, slots) padded matrix, in slot order."""
    return ak.unflatten(padded[filled], np.count_nonzero(filled, axis=1))


def _dataset(h5: h5py.File, name: str, ndim: int, path: Path) -> h5py.Dataset:
    """The named dataset with `ndim` dimensions, or InputError naming the file and dataset."""
    if name not in h5 or not isinstance(h5[name], h5py.Dataset):
        raise InputError(f"HDF5 dataset '{name}' is missing", file=str(path), branch=name)
    dset = h5[name]
    if dset.ndim != ndim:
        raise InputError(
            f"HDF5 dataset '{name}' has shape {dset.shape}, expected {ndim} dimensions", file=str(path), branch=name)
    return dset


def _feature_names(h5: h5py.File, name: str, width: int, path: Path) -> list[str]:
    """Decoded feature names stored in dataset `name`; their count must equal the matrix width."""
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in _dataset(h5, name, 1, path)[()]]
    if len(names) != width:
        raise InputError(
            f"HDF5 dataset '{name}' lists {len(names)} names for {width} feature columns", file=str(path), branch=name)
    return names


def _hls4ml_layout(h5: h5py.File, path: Path) -> tuple[h5py.Dataset, list[str], h5py.Dataset, list[str]]:
    """Validated jets matrix, its feature names, constituent tensor and its feature names."""
    jets = _dataset(h5, HLS4ML_JETS, 2, path)
    constituents = _dataset(h5, HLS4ML_CONSTITUENTS, 3, path)
    if constituents.shape[0] != jets.shape[0]:
        raise InputError(
            f"HDF5 dataset '{HLS4ML_CONSTITUENTS}' has {constituents.shape[0]} jets, '{HLS4ML_JETS}' has "
            f"{jets.shape[0]}", file=str(path), branch=HLS4ML_CONSTITUENTS)
    jet_names = _feature_names(h5, HLS4ML_JET_NAMES, jets.shape[1], path)
    particle_names = _feature_names(h5, HLS4ML_CONSTITUENT_NAMES, constituents.shape[2], path)
    for required, names, listing in (
        (tuple(HLS4ML_JET_RENAMES), jet_names, HLS4ML_JET_NAMES),
        (HLS4ML_REQUIRED_PARTICLE, particle_names, HLS4ML_CONSTITUENT_NAMES),
    ):
        for feature in required:
            if feature not in names:
                raise InputError(f"feature '{feature}' is missing from HDF5 dataset '{listing}'",
                                 file=str(path), branch=listing)
    return jets, jet_names, constituents, particle_names


def _hls4ml_particle_name(native: str) -> str:
    """Canonical name of one hls4ml constituent feature (j1_<x> -> part_<x> unless renamed)."""
    return HLS4ML_PARTICLE_RENAMES.get(native, "part_" + native.removeprefix("j1_"))


def iter_hls4ml(path: Path, step_size: int) -> Iterator[Columns]:
    """Yield the columns of an hls4ml LHC jet file, at most `step_size` jets per step.

    `jetImage` (and its ECAL/HCAL variants) is skipped: rootml builds its own images in the represent stage.
    The format stores no jet phi, so `jet_phi` is not yielded; `jet_energy` follows from pt, eta and mass.
    """
    _check_step(step_size)
    path = Path(path)
    _check_hdf5(path)
    with h5py.File(path, "r") as h5:
        jets, jet_names, constituents, particle_names = _hls4ml_layout(h5, path)
        energy_index = particle_names.index("j1_e")
        for start in range(0, jets.shape[0], step_size):
            jet_block = jets[start:start + step_size]
            particle_block = constituents[start:start + step_size]
            filled = particle_block[:, :, energy_index] > 0  # padded slots are all zeros
            columns: Columns = {
                HLS4ML_JET_RENAMES.get(name, name): jet_block[:, i] for i, name in enumerate(jet_names)
            }
            # Energy is independent of phi, which this format lacks: a zero phi stands in for it.
            columns["jet_energy"] = vector.array({
                "pt": columns["jet_pt"], "eta": columns["jet_eta"],
                "phi": np.zeros_like(columns["jet_pt"]), "mass": columns["jet_mass"],
            }).energy
            columns["jet_nparticles"] = np.count_nonzero(filled, axis=1)
            for i, name in enumerate(particle_names):
                values = particle_block[:, :, i]
                if name == "j1_pdgid":
                    values = np.rint(values).astype(np.int32)  # stored as floats next to the kinematics
                columns[_hls4ml_particle_name(name)] = _jagged(values, filled)
            yield columns


def _toptag_columns(store: pd.HDFStore, path: Path) -> tuple[int, list[str]]:
    """Number of constituent slots and the required column names, checked against the stored frame."""
    if f"/{TOPTAG_KEY}" not in store.keys():
        raise InputError(f"HDF5 key '{TOPTAG_KEY}' (the pandas DataFrame) is missing", file=str(path),
                         branch=TOPTAG_KEY)
    try:
        present = set(store.select(TOPTAG_KEY, start=0, stop=0).columns)
    except (TypeError, ValueError, AttributeError) as err:
        raise InputError(f"HDF5 key '{TOPTAG_KEY}' is not a pandas DataFrame ({err})", file=str(path),
                         branch=TOPTAG_KEY) from err
    slots = [int(m.group(1)) for m in map(_TOPTAG_SLOT.match, present) if m]
    n_slots = max(slots) + 1 if slots else 1
    required = [f"{prefix}_{i}" for i in range(n_slots) for prefix in TOPTAG_COMPONENTS] + list(TOPTAG_NATIVE)
    for column in required:
        if column not in present:
            raise InputError(f"column '{column}' is missing from the DataFrame under key '{TOPTAG_KEY}'",
                             file=str(path), branch=column)
    return n_slots, required


def _toptag_step(frame: pd.DataFrame, n_slots: int) -> Columns:
    """Canonical and native columns of one step of the top-tagging DataFrame."""
    padded = {
        prefix: frame[[f"{prefix}_{i}" for i in range(n_slots)]].to_numpy() for prefix in TOPTAG_COMPONENTS
    }
    filled = padded["E"] > 0  # padded slots are all zeros
    # The dataset stores only constituents: the jet is their four-vector sum (padding adds zeros).
    jet = vector.array({
        "px": padded["PX"].sum(axis=1, dtype=np.float64), "py": padded["PY"].sum(axis=1, dtype=np.float64),
        "pz": padded["PZ"].sum(axis=1, dtype=np.float64), "E": padded["E"].sum(axis=1, dtype=np.float64),
    })
    columns: Columns = {
        "jet_pt": jet.pt.astype(np.float32), "jet_eta": jet.eta.astype(np.float32),
        "jet_phi": jet.phi.astype(np.float32), "jet_energy": jet.energy.astype(np.float32),
        "jet_mass": jet.mass.astype(np.float32), "jet_nparticles": np.count_nonzero(filled, axis=1),
    }
    for prefix, name in TOPTAG_COMPONENTS.items():
        columns[name] = _jagged(padded[prefix], filled)
    for name in TOPTAG_NATIVE:
        columns[name] = frame[name].to_numpy()
    return columns


def iter_toptagging(path: Path, step_size: int) -> Iterator[Columns]:
    """Yield the columns of a top-tagging reference file (train/val/test.h5), at most `step_size` jets per step."""
    _check_step(step_size)
    path = Path(path)
    _check_hdf5(path)
    with pd.HDFStore(path, mode="r") as store:
        n_slots, required = _toptag_columns(store, path)
        start = 0
        while True:
            # select(start, stop) reads only those rows, in both the "table" and the "fixed" pandas formats.
            frame = store.select(TOPTAG_KEY, start=start, stop=start + step_size)[required]
            if frame.empty:
                return
            yield _toptag_step(frame, n_slots)
            if len(frame) < step_size:
                return
            start += step_size
