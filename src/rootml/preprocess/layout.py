"""Where the preprocess stage's files live and what they hold: paths, dataset names, settings attributes.

A preprocessed chunk file (data/preprocessed/{sample}/{chunk}.h5) has one group per split (train, val,
test), each with the raw per-jet datasets of CHUNK_DATASETS (+ `knn` when stored, + obs_{column} for the
observers and reweighting variables); the file attributes record the settings it was made with, and
`check_chunk_settings` refuses a file made with other settings than the run's config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py

from rootml.config import sample_chunks
from rootml.errors import InputError
from rootml.preprocess.split import SPLITS

REPRESENTATIONS: tuple[str, ...] = ("highlevel", "particles", "images")
BOOKKEEPING: tuple[str, ...] = ("label", "weight", "event_id")
# raw datasets of a preprocessed chunk's split group: features (n, C, P) in weaver layout, points (n, 2, P),
# vectors (n, 4, P), mask (n, P), image (n, channels, H, W)
CHUNK_DATASETS: tuple[str, ...] = (*BOOKKEEPING, "highlevel", "features", "points", "vectors", "mask", "image")


def preprocessed_files(config: Mapping[str, Any]) -> list[str]:
    """Every preprocessed chunk file of the run, sample by sample."""
    return [f"data/preprocessed/{name}/{chunk}.h5"
            for name in config["samples"] for chunk in sample_chunks(config, name)]


def prepared_files(split: str, prefix: str = "data/prepared") -> list[str]:
    """The three prepared files of one split, in REPRESENTATIONS order."""
    return [f"{prefix}/{split}/{representation}.h5" for representation in REPRESENTATIONS]


def observer(name: str) -> str:
    """Dataset name of a raw jet column carried along (observers, reweighting variables)."""
    return f"obs_{name}"


def jet_columns(config: Mapping[str, Any]) -> list[str]:
    """Raw jet columns a chunk carries: the observers, then the reweighting variables not among them."""
    observers = list(config["features"]["observers"])
    return observers + [v for v in config["preprocess"]["reweighting"]["variables"] if v not in observers]


def stores_edges(config: Mapping[str, Any]) -> bool:
    """Whether kNN indices are stored (represent.graph.store_edges with kind knn)."""
    graph = config["represent"]["graph"]
    return bool(graph["store_edges"]) and graph["kind"] == "knn"


def chunk_settings(config: Mapping[str, Any]) -> dict[str, str]:
    """The settings a chunk file is made with, as JSON text attributes (compared by `check_chunk_settings`)."""
    features = config["features"]
    settings = {
        "classes": list(config["classes"]), "highlevel_names": list(features["highlevel"]),
        "constituent_names": list(features["constituents"]), "n_particles": features["n_particles"],
        "jet_radius": config["generate"]["jet_radius"],
        "jet_columns": jet_columns(config), "splits": dict(config["preprocess"]["splits"]), "seed": config["seed"],
        "images": dict(config["represent"]["images"]),
        "knn_k": config["represent"]["graph"]["k"] if stores_edges(config) else None,
    }
    return {key: json.dumps(value, sort_keys=True) for key, value in settings.items()}


def check_chunk_settings(h5: h5py.File, config: Mapping[str, Any], path: str | Path) -> None:
    """InputError naming the file when it was preprocessed with other settings than `config`."""
    for key, expected in chunk_settings(config).items():
        found = h5.attrs.get(key)
        if found != expected:
            raise InputError(f"preprocessed with other settings ('{key}': {found} instead of {expected}); "
                             "rerun the preprocess rule", file=str(path))


def json_attr(h5: h5py.File | h5py.Group, key: str) -> Any:
    """A JSON text attribute, decoded."""
    return json.loads(h5.attrs[key])


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


def check_split(split: str) -> None:
    """ValueError unless `split` is train, val or test."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
