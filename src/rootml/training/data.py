"""Batches from the prepared HDF5 files of one split (data/prepared/{split}/{representation}.h5, docs/contracts.md).

All files of a split hold the same jets in the same row order, so the datasets of several representations
are combined row by row. The representations are highlevel, images and the sets (<set>.h5): the datasets of one set
keep their names (features, points, vectors, mask), those of several sets are read as `<set>/<name>`. A split of at
most `max_jets_in_memory` jets is read once and kept in memory; a bigger one is streamed every epoch: contiguous
blocks aligned to the HDF5 chunks are read in a seeded random order, gathered into a buffer of at most
`max_jets_in_memory` jets and shuffled within it. A column computed in memory (add_column: a distillation teacher's
logits per jet) is read along with the file datasets, row by row.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np

from rootml.config import REPRESENTATION_OF_INPUT
from rootml.errors import InputError
from rootml.models.specs import SET_INPUTS, set_input, set_input_parts
from rootml.training.view import InputView

Prepared = Mapping[str, Mapping[str, str | Path]]  # split -> representation -> prepared file of a job
META_KEYS: tuple[str, ...] = ("label", "weight", "event_id")
INPUT_KEYS: tuple[str, ...] = ("highlevel", "features", "points", "vectors", "mask", "image")
TARGET_BLOCK_ROWS = 1024  # rows per read when the chunks are smaller: few, large, contiguous reads


def attr_list(h5: h5py.File, key: str, path: Path) -> list[str]:
    """A list attribute stored as JSON text or as an array of strings."""
    if key not in h5.attrs:
        raise InputError(f"missing file attribute '{key}'", file=str(path))
    value = h5.attrs[key]
    if isinstance(value, (str, bytes)):
        return [str(v) for v in json.loads(value)]
    return [v.decode() if isinstance(v, bytes) else str(v) for v in value]


@dataclass(frozen=True)
class DatasetInfo:
    """Where a dataset lives (its file and its name there) and its on-disk layout."""

    path: Path
    name: str
    shape: tuple[int, ...]
    chunk_rows: int
    row_bytes: int
    is_float: bool


class SplitReader:
    """Reads batches of named datasets from the prepared files of one split, as a model's InputView sees them."""

    def __init__(
        self, files: Mapping[str, str | Path], split: str, max_jets_in_memory: int, *,
        view: InputView | None = None, view_key: str = "models",
    ) -> None:
        """Open the prepared file of each representation of `split` (files: representation -> path, as
        data/prepared/{split}/{representation}.h5, a set's as <set>.h5) and check they agree.

        view restricts the set elements and high-level features read (config key `view_key` in its errors).
        """
        if not files:
            raise ValueError("at least one representation is needed")
        self.split = split
        self.max_jets_in_memory = max_jets_in_memory
        self.view = view or InputView()
        self._columns: np.ndarray | None = None
        self.paths = [Path(path) for path in files.values()]
        self.sets = [rep for rep in files if rep not in REPRESENTATION_OF_INPUT.values()]  # <set>.h5, in their order
        self.datasets: dict[str, DatasetInfo] = {}
        self.feature_names: dict[str, list[str]] = {}
        self.classes: list[str] = []
        for rep, path in zip(files, self.paths):
            self._scan(rep, path)
        self.file_rows = self.datasets["label"].shape[0]
        self.n_rows = self.file_rows  # the jets read: the file's rows, or those of the selection (restrict)
        self._rows: np.ndarray | None = None
        self._cache: dict[str, np.ndarray] = {}
        self._memory: dict[str, np.ndarray] = {}  # columns added in memory (add_column), one row per jet in file order
        self._apply_view(view_key)

    def add_column(self, key: str, values: np.ndarray) -> None:
        """Read `values` (one row per jet of the split, in file order) as dataset `key` of every batch, shuffled and
        streamed with the file datasets."""
        if key in self.datasets or key in self._memory:
            raise ValueError(f"dataset '{key}' exists already in the {self.split} split")
        if len(values) != self.file_rows:
            raise ValueError(f"column '{key}' has {len(values)} rows, the {self.split} split {self.file_rows}")
        self._memory[key] = np.asarray(values)

    def restrict(self, rows: np.ndarray) -> None:
        """Read only the jets where `rows` (a bool per row of the files, in file order) is true: every batch, count
        and n_rows see these alone (k-fold cross-validation, rootml.training.folds)."""
        rows = np.asarray(rows, dtype=bool)
        if rows.shape != (self.file_rows,):
            raise ValueError(f"row selection of shape {rows.shape}, the {self.split} split has {self.file_rows} rows")
        self._rows, self.n_rows = rows, int(rows.sum())

    def set_key(self, set_name: str, name: str) -> str:
        """The key of dataset `name` of set `set_name`: `name` itself when the reader has one set, else <set>/<name>."""
        return name if len(self.sets) == 1 else set_input(set_name, name)

    def _apply_view(self, key: str) -> None:
        """Narrow the recorded shapes and feature names to what the view reads."""
        for set_name in self.sets:
            if self.set_key(set_name, "mask") in self.datasets:
                self.view.check_particles(set_name, self.datasets[self.set_key(set_name, "mask")].shape[1],
                                          f"{key}.n_particles")
        if self.view.n_particles is not None:
            for name, info in self.datasets.items():
                if set_input_parts(name)[1] in SET_INPUTS:
                    shape = (*info.shape[:-1], min(info.shape[-1], self.view.n_particles))
                    self.datasets[name] = replace(info, shape=shape)
        if self.view.features is not None and "highlevel" in self.datasets:
            self._columns = self.view.columns(self.feature_names["highlevel"], f"{key}.features")
            info = self.datasets["highlevel"]
            self.datasets["highlevel"] = replace(info, shape=(info.shape[0], len(self._columns)))
            self.feature_names["highlevel"] = [self.feature_names["highlevel"][i] for i in self._columns]

    def _scan(self, representation: str, path: Path) -> None:
        """Record the datasets of one file; check its row count and classes against the files before it."""
        if not path.is_file():
            raise InputError(f"prepared {self.split} file for representation '{representation}' not found",
                             file=str(path))
        try:
            with h5py.File(path, "r") as h5:
                missing = [key for key in META_KEYS if key not in h5]
                if missing:
                    raise InputError(f"missing dataset '{missing[0]}'", file=str(path))
                classes = attr_list(h5, "classes", path)
                if self.classes and classes != self.classes:
                    raise InputError(f"classes {classes} differ from {self.classes} in {self.paths[0]}", file=str(path))
                self.classes = classes
                self.feature_names[representation] = (
                    attr_list(h5, "feature_names", path) if "feature_names" in h5.attrs else [])
                for name, dset in h5.items():
                    if not isinstance(dset, h5py.Dataset):
                        continue
                    shared = name in META_KEYS or name.startswith("obs_")  # every file has them: read from the first
                    key = name if shared or representation not in self.sets else self.set_key(representation, name)
                    if key not in self.datasets:
                        self.datasets[key] = DatasetInfo(
                            path, name, dset.shape, dset.chunks[0] if dset.chunks else TARGET_BLOCK_ROWS,
                            max(1, dset.dtype.itemsize * int(np.prod(dset.shape[1:]))), dset.dtype.kind == "f")
                    elif dset.shape[0] != self.datasets[key].shape[0]:
                        raise InputError(f"dataset '{key}' has {dset.shape[0]} rows, "
                                         f"{self.datasets[key].shape[0]} in {self.datasets[key].path}", file=str(path))
        except OSError as err:
            raise InputError(f"cannot read prepared file: {err}", file=str(path)) from err
        rows = {key: info.shape[0] for key, info in self.datasets.items()}
        if len(set(rows.values())) > 1:
            key = min(rows, key=rows.get)
            raise InputError(f"dataset '{key}' has {rows[key]} rows, others {max(rows.values())}",
                             file=str(self.datasets[key].path))

    @property
    def columns(self) -> np.ndarray | None:
        """Indices of the high-level features read among the prepared ones (None: all)."""
        return self._columns

    @property
    def observers(self) -> list[str]:
        """The raw observer datasets (obs_*) carried for the predictions."""
        return sorted(key for key in self.datasets if key.startswith("obs_"))

    def input_dims(self) -> dict[str, int | tuple[int, ...]]:
        """Sizes of the model inputs present: channels of (each set's) features/points/vectors and of highlevel,
        (C, H, W) of image."""
        dims: dict[str, int | tuple[int, ...]] = {}
        for key, info in self.datasets.items():
            name = set_input_parts(key)[1]
            if name in INPUT_KEYS and name != "mask":
                dims[key] = tuple(info.shape[1:]) if name == "image" else info.shape[1]
        return dims

    def require(self, keys: Sequence[str]) -> None:
        """Raise InputError naming the files when one of `keys` is in none of them."""
        for key in keys:
            if key not in self.datasets and key not in self._memory:
                raise InputError(f"dataset '{key}' not found in the prepared {self.split} files",
                                 file=", ".join(map(str, self.paths)))

    def count(self, labels: Sequence[int] | None = None) -> int:
        """Number of jets whose label is in `labels` (all jets when None)."""
        if labels is None:
            return self.n_rows
        return sum(int(np.isin(block["label"], labels).sum()) for block in self._buffers(["label"], None, None))

    def batches(
        self, keys: Sequence[str], batch_size: int, *, seed: int | None = None, labels: Sequence[int] | None = None,
        drop_last: bool = False, max_rows: int | None = None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Batches of the datasets `keys` (+ label), shuffled when `seed` is given, mask as (B, 1, P) float32.

        labels keeps only jets of those classes; drop_last drops the final incomplete batch;
        max_rows reads only the first max_rows jets of the split (of a restricted one: those among its first max_rows
        rows).
        """
        keys = list(dict.fromkeys([*keys, "label"]))
        self.require(keys)
        rng = None if seed is None else np.random.default_rng(seed)
        pieces: list[dict[str, np.ndarray]] = []
        pending = 0
        for buffer in self._buffers(keys, rng, max_rows):
            size = len(buffer["label"])
            order = np.arange(size) if rng is None else rng.permutation(size)
            if labels is not None:
                order = order[np.isin(buffer["label"][order], labels)]
            start = 0
            while start < len(order):
                take = min(batch_size - pending, len(order) - start)
                pieces.append({key: buffer[key][order[start:start + take]] for key in keys})
                pending += take
                start += take
                if pending == batch_size:
                    yield to_model_layout(pieces)
                    pieces, pending = [], 0
        if pieces and not drop_last:
            yield to_model_layout(pieces)

    def _buffers(
        self, keys: Sequence[str], rng: np.random.Generator | None, max_rows: int | None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """The split in memory-sized pieces: the cached arrays, or buffers of blocks in (random) block order."""
        n = self.file_rows if max_rows is None else min(self.file_rows, max_rows)
        if self.file_rows <= self.max_jets_in_memory:
            cached = self._cached(keys)
            yield self._selected({key: cached[key][:n] for key in keys}, 0)
            return
        block = self._block_rows(keys)
        starts = np.arange(0, n, block)
        if rng is not None:
            starts = rng.permutation(starts)
        per_buffer = max(1, self.max_jets_in_memory // block)
        with contextlib.ExitStack() as stack:
            files = {path: stack.enter_context(h5py.File(path, "r")) for path in self.paths}
            for first in range(0, len(starts), per_buffer):
                parts = [self._selected(self._read(files, keys, int(s), min(int(s) + block, n)), int(s))
                         for s in starts[first:first + per_buffer]]
                yield {key: np.concatenate([part[key] for part in parts]) for key in keys}

    def _selected(self, piece: Mapping[str, np.ndarray], start: int) -> dict[str, np.ndarray]:
        """The rows of `piece` (file rows from `start` on) in the selection (restrict); all when there is none."""
        if self._rows is None:
            return dict(piece)
        keep = self._rows[start:start + len(next(iter(piece.values())))]
        return {key: values[keep] for key, values in piece.items()}

    def _block_rows(self, keys: Sequence[str]) -> int:
        """Rows per read: whole chunks of the widest dataset (whose reads dominate), at most max_jets_in_memory."""
        widest = max((key for key in keys if key in self.datasets), key=lambda key: self.datasets[key].row_bytes)
        chunk = self.datasets[widest].chunk_rows
        return chunk * max(1, min(round(TARGET_BLOCK_ROWS / chunk), self.max_jets_in_memory // chunk))

    def _cached(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole datasets kept in memory (the split fits in max_jets_in_memory)."""
        self._cache.update({key: self._memory[key] for key in keys if key in self._memory})
        missing = [key for key in keys if key not in self._cache]
        if missing:
            with contextlib.ExitStack() as stack:
                files = {path: stack.enter_context(h5py.File(path, "r")) for path in self.paths}
                self._cache.update(self._read(files, missing, 0, self.file_rows))
        return self._cache

    def _read(
        self, files: Mapping[Path, h5py.File], keys: Sequence[str], start: int, stop: int,
    ) -> dict[str, np.ndarray]:
        """Rows [start, stop) of `keys`, checked for NaN/inf and for the same jets (event_id) in every file."""
        out = {key: self._memory[key][start:stop] for key in keys if key in self._memory}
        for key in keys:
            if key in self._memory:
                continue
            info = self.datasets[key]
            values = self.view.slice(key, files[info.path][info.name][start:stop], self._columns)
            if info.is_float and not np.isfinite(values).all():
                bad = start + int(np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))[0])
                raise InputError(f"dataset '{key}' has NaN or inf (row {bad})", file=str(info.path))
            out[key] = values
        if len(self.paths) > 1:
            reference = files[self.paths[0]]["event_id"][start:stop]
            for path in self.paths[1:]:
                if not np.array_equal(files[path]["event_id"][start:stop], reference):
                    raise InputError(f"rows {start}..{stop} hold other jets (event_id) than {self.paths[0]}",
                                     file=str(path))
        return out


def to_model_layout(pieces: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Join batch pieces; each set's mask (B, P) bool becomes (B, 1, P) float32 as the models take it."""
    if len(pieces) == 1:
        batch = dict(pieces[0])
    else:
        batch = {key: np.concatenate([piece[key] for piece in pieces]) for key in pieces[0]}
    for key, values in batch.items():
        if set_input_parts(key)[1] == "mask" and values.ndim == 2:
            batch[key] = values[:, None, :].astype(np.float32)
    return batch
