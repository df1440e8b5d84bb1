"""HDF5 files of the preprocess stage: chunked, compressed datasets written by appending with reproducible bytes (no
timestamps), and the checks of a preprocessed chunk file read back (settings, jets per split)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from rootml.errors import InputError
from rootml.preprocess.layout import chunk_settings

ROWS_PER_CHUNK = 1024


class H5Appender:
    """Append rows to resizable datasets of an open HDF5 file; datasets are created on first append."""

    def __init__(self, h5: h5py.File, rows_per_chunk: int = ROWS_PER_CHUNK) -> None:
        """Wrap an HDF5 file opened for writing."""
        self.h5 = h5
        self.rows_per_chunk = rows_per_chunk

    def append(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Append one block of rows to every named dataset (names may contain groups: 'observers/jet_pt')."""
        for name, values in arrays.items():
            values = np.asarray(values)
            if name not in self.h5:
                chunk_rows = min(self.rows_per_chunk, max(1, 2**20 // max(1, values[:1].nbytes)))
                self.h5.create_dataset(
                    name, data=values, maxshape=(None, *values.shape[1:]), chunks=(chunk_rows, *values.shape[1:]),
                    compression="gzip", compression_opts=4, shuffle=True, track_times=False,
                )
                continue
            dset = self.h5[name]
            start = dset.shape[0]
            dset.resize(start + len(values), axis=0)
            dset[start:] = values


def open_for_writing(path: Path) -> h5py.File:
    """Create an HDF5 file whose bytes depend only on its contents (no object timestamps)."""
    return h5py.File(path, "w", track_order=True, libver=("earliest", "v110"))


def n_rows(path: Path, dataset: str = "label") -> int:
    """Number of rows of a stored dataset, naming the file when it is not readable."""
    try:
        with h5py.File(path, "r") as h5:
            return int(h5[dataset].shape[0])
    except (OSError, KeyError) as err:
        raise InputError(f"cannot read dataset '{dataset}': {err}", file=str(path)) from err


def check_chunk_settings(h5: h5py.File, config: Mapping[str, Any], path: str | Path) -> None:
    """InputError naming the file when it was preprocessed with other settings than `config`."""
    for key, expected in chunk_settings(config).items():
        found = h5.attrs.get(key)
        if found != expected:
            raise InputError(f"preprocessed with other settings ('{key}': {found} instead of {expected}); "
                             "rerun the preprocess rule", file=str(path))


def split_rows(h5: h5py.File, split: str) -> int:
    """Jets of `split` in an open chunk file (a split group without datasets holds none)."""
    group = h5[split]
    return int(group["label"].shape[0]) if "label" in group else 0


def chunk_split_rows(paths: Sequence[str | Path], split: str) -> list[int]:
    """Jets of `split` in each chunk file, naming a file that cannot be read."""
    rows = []
    for path in paths:
        try:
            with h5py.File(path, "r") as h5:
                rows.append(split_rows(h5, split))
        except (OSError, KeyError) as err:
            raise InputError(f"not a preprocessed chunk file ({err})", file=str(path)) from err
    return rows
