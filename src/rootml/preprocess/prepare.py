"""Write the prepared files of one split (highlevel, images, one per set; docs/contracts.md), shuffled, normalised and
weighted.

Memory stays bounded whatever the number of chunks: the split's rows are read in blocks of `read_rows`
rows; the order of the blocks is a seeded random interleaving of all chunk files (every file's blocks
keep their order, so each file is read front to back), and every `buffer_rows` rows are permuted before
they are written. This is the shuffle buffer of streaming data loaders (webdataset, tf.data) fed by a
random interleave; only one buffer of rows is in memory.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm import tqdm

from rootml.atomic import atomic_output
from rootml.config import feature_sets
from rootml.errors import InputError
from rootml.features.available import observer_columns
from rootml.preprocess.chunk import CHUNK_ROWS
from rootml.preprocess.layout import (
    HIGHLEVEL,
    IMAGE_SETTINGS,
    IMAGES,
    observer,
    representations,
    set_dataset,
    stores_edges,
)
from rootml.preprocess.normalization import apply_normalization, select_features
from rootml.preprocess.reweighting import Reweighting
from rootml.preprocess.split import SPLITS
from rootml.preprocess.store import H5Appender, check_chunk_settings, chunk_split_rows, open_for_writing
from rootml.seeds import derive_seed

READ_ROWS = 4 * CHUNK_ROWS
BUFFER_ROWS = 8 * READ_ROWS


def read_plan(rows: Sequence[int], read_rows: int, buffer_rows: int,
              rng: np.random.Generator) -> list[list[tuple[int, int, int]]]:
    """Buffers of (file index, start, stop) reads: a uniformly random interleaving of every file's blocks."""
    blocks = [-(-n // read_rows) for n in rows]
    owner = np.repeat(np.arange(len(rows)), blocks)
    rng.shuffle(owner)
    # the k-th occurrence of a file in the shuffled sequence reads its k-th block
    order = np.argsort(owner, kind="stable")
    occurrence = np.empty(len(owner), dtype=np.int64)
    occurrence[order] = np.arange(len(owner)) - np.repeat(np.cumsum(blocks) - blocks, blocks)
    reads = [(int(f), int(k) * read_rows, min((int(k) + 1) * read_rows, rows[f])) for f, k in zip(owner, occurrence)]
    per_buffer = max(1, buffer_rows // read_rows)
    return [reads[i:i + per_buffer] for i in range(0, len(reads), per_buffer)]


def _read_buffer(files: Sequence[str], reads: Sequence[tuple[int, int, int]], split: str,
                 names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named datasets of the planned reads, in plan order, read straight into one array per dataset."""
    offsets = np.cumsum([0] + [stop - start for _, start, stop in reads])
    buffer: dict[str, np.ndarray] = {}
    for index in dict.fromkeys(f for f, _, _ in reads):  # each file opened once
        with h5py.File(files[index], "r") as h5:
            group = h5[split]
            for name in names:
                dataset = group[name]
                out = buffer.setdefault(name, np.empty((offsets[-1], *dataset.shape[1:]), dtype=dataset.dtype))
                for (f, start, stop), offset in zip(reads, offsets):
                    if f == index:
                        dataset.read_direct(out, np.s_[start:stop], np.s_[offset:offset + stop - start])
    return buffer


def _shuffled(buffer: dict[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The buffer's rows in a random order (one dataset copied at a time, to bound the memory)."""
    permutation = rng.permutation(len(buffer["label"]))
    for name in buffer:
        buffer[name] = buffer[name][permutation]
    return buffer


def _set_outputs(rows: Mapping[str, np.ndarray], name: str, spec: Mapping[str, Any],
                 normalization: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The datasets of one set's prepared file: features normalised, points, vectors, mask and knn as stored."""
    mask = rows[set_dataset(name, "mask")]
    normalised = apply_normalization(rows[set_dataset(name, "features")].transpose(0, 2, 1), spec["features"],
                                     normalization, mask=mask)
    out = {"features": np.ascontiguousarray(normalised.transpose(0, 2, 1))}
    for key in ("points", "vectors", "mask", "knn"):
        if set_dataset(name, key) in rows:
            out[key] = rows[set_dataset(name, key)]
    return out


def _outputs(rows: Mapping[str, np.ndarray], config: Mapping[str, Any], normalization: Mapping[str, Any],
             reweighting: Reweighting, sets: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """The datasets of each prepared file for one buffer of raw rows."""
    highlevel = config["features"]["highlevel"]
    common = {
        "label": rows["label"],
        "weight": reweighting.weights({v: rows[observer(v)] for v in reweighting.variables}, rows["label"],
                                      rows["weight"]),
        "event_id": rows["event_id"],
        **{observer(name): rows[observer(name)] for name in observer_columns(config)},
    }
    outputs = {HIGHLEVEL: {**common, "highlevel": apply_normalization(rows["highlevel"], highlevel, normalization),
                           "highlevel_raw": rows["highlevel"]}}
    if "image" in rows:
        outputs[IMAGES] = {**common, "image": rows["image"]}
    for name, spec in sets.items():
        outputs[name] = {**common, **_set_outputs(rows, name, spec, normalization)}
    return outputs


def _attributes(split: str, config: Mapping[str, Any], normalization: Mapping[str, Any],
                sets: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """File attributes of each prepared file (lists and mappings as JSON text)."""
    common = {"classes": json.dumps(list(config["classes"])), "split": split}

    def described(names: Sequence[str]) -> dict[str, Any]:
        """Feature names and the normalization applied to them."""
        return {"feature_names": json.dumps(list(names)),
                "normalization": json.dumps(select_features(normalization, names), sort_keys=True)}

    edges = {"knn_k": config["represent"]["graph"]["k"]} if stores_edges(config) else {}
    return {
        HIGHLEVEL: {**common, **described(config["features"]["highlevel"])},
        IMAGES: {**common, **{key: json.dumps(value) if isinstance(value, list) else value
                              for key, value in config["represent"]["images"].items() if key in IMAGE_SETTINGS}},
        **{name: {**common, **described(spec["features"]), "n_particles": spec["max_length"], **edges,
                  "coordinates": json.dumps(spec["coordinates"]), "set": name} for name, spec in sets.items()},
    }


def _split_datasets(files: Sequence[str], rows: Sequence[int], split: str) -> list[str]:
    """The datasets of the split's group (a set's as <set>/<name>), the same in every chunk file with rows of the
    split; InputError naming a file whose datasets differ from the first's."""
    first: tuple[str, list[str]] | None = None
    for path, n in zip(files, rows):
        if n == 0:
            continue
        names: list[str] = []
        with h5py.File(path, "r") as h5:
            h5[split].visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        if first is None:
            first = (path, names)
        elif sorted(names) != sorted(first[1]):
            raise InputError(f"split '{split}' holds datasets {sorted(set(names) ^ set(first[1]))} that the other "
                             f"(e.g. {first[0]}) do not, or lacks them", file=path)
    return first[1] if first else []


def prepare_split(chunk_files: Sequence[str | Path], split: str, prepared: Mapping[str, str | Path], *,
                  normalization: Mapping[str, Any], reweighting: Mapping[str, Any], config: Mapping[str, Any],
                  read_rows: int = READ_ROWS, buffer_rows: int = BUFFER_ROWS, progress: bool = True) -> dict[str, Any]:
    """Write the prepared files of `split` (prepared: representation -> path, for each of the config's
    `representations`) from the preprocessed chunks; return counts."""
    start = time.perf_counter()
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if sorted(prepared) != sorted(representations(config)):
        raise ValueError(f"need one file per representation {representations(config)}, got {sorted(prepared)}")
    files = sorted(map(str, chunk_files))
    rows = chunk_split_rows(files, split)
    if sum(rows) == 0:
        raise InputError(f"no rows in split '{split}' of {len(files)} preprocessed chunk file(s)",
                         file=", ".join(files[:3]) or None)
    for path in files:
        with h5py.File(path, "r") as h5:
            check_chunk_settings(h5, config, path)
    sets = feature_sets(config)
    fitted = Reweighting.from_json(reweighting)
    names = _split_datasets(files, rows, split)
    rng = np.random.default_rng(derive_seed(config["seed"], "prepare", split))
    plan = read_plan(rows, read_rows, buffer_rows, rng)
    attributes = _attributes(split, config, normalization, sets)
    classes = len(config["classes"])
    counts, weights = np.zeros(classes, dtype=np.int64), np.zeros(classes)
    with contextlib.ExitStack() as stack:
        outputs = {}
        for representation, path in prepared.items():
            tmp = stack.enter_context(atomic_output(path))
            h5 = stack.enter_context(open_for_writing(tmp))
            h5.attrs.update(attributes[representation])
            outputs[representation] = H5Appender(h5)
        with tqdm(total=sum(rows), desc=f"prepare {split}", unit="rows", disable=not progress) as bar:
            for reads in plan:
                buffer = _shuffled(_read_buffer(files, reads, split, names), rng)
                written = _outputs(buffer, config, normalization, fitted, sets)
                for representation, appender in outputs.items():
                    appender.append(written[representation])
                counts += np.bincount(buffer["label"], minlength=classes)
                weights += np.bincount(buffer["label"], written[HIGHLEVEL]["weight"], minlength=classes)
                bar.update(len(buffer["label"]))
    seconds = time.perf_counter() - start
    return {"split": split, "jets": int(counts.sum()), "jets_per_class": counts.tolist(),
            "weight_per_class": weights.tolist(), "seconds": seconds}
