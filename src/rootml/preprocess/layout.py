"""Where the preprocess stage's files live and what they hold: paths, dataset names, settings attributes
(docs/contracts.md).

A preprocessed chunk file (data/preprocessed/{sample}/{chunk}.h5) has one group per split (train, val,
test), each with the raw per-jet datasets; the file attributes record the settings it was made with, and
`store.check_chunk_settings` refuses a file made with other settings than the run's config. Light enough for the
Snakefile to import (no h5py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rootml.config import sample_chunks
from rootml.preprocess.split import SPLITS

REPRESENTATIONS: tuple[str, ...] = ("highlevel", "particles", "images")
BOOKKEEPING: tuple[str, ...] = ("label", "weight", "event_id")
# the config keys each rule of the stage reads (its params: a change of one of them reruns the rule)
CHUNK_KEYS: tuple[str, ...] = ("classes", "seed", "features", "generate.jet_radius", "represent", "preprocess.splits",
                               "preprocess.reweighting.variables")
FIT_KEYS: tuple[str, ...] = (*CHUNK_KEYS, "preprocess.normalization", "preprocess.reweighting")  # checks the chunks
PREPARE_KEYS: tuple[str, ...] = CHUNK_KEYS


def preprocessed_files(config: Mapping[str, Any]) -> list[str]:
    """Every preprocessed chunk file of the run, sample by sample."""
    return [f"data/preprocessed/{name}/{chunk}.h5"
            for name in config["samples"] for chunk in sample_chunks(config, name)]


def prepared_paths(split_dir: str | Path) -> dict[str, Path]:
    """The prepared file of each representation in the folder of one split (data/prepared/{split}/)."""
    return {representation: Path(split_dir) / f"{representation}.h5" for representation in REPRESENTATIONS}


def prepared_files(split: str, prefix: str = "data/prepared") -> dict[str, str]:
    """Representation -> prepared file of one split (named rule inputs and outputs), in REPRESENTATIONS order."""
    return {representation: str(path) for representation, path in prepared_paths(f"{prefix}/{split}").items()}


def prepared_tree(prepared_dir: str | Path, splits: Sequence[str] = SPLITS) -> dict[str, dict[str, Path]]:
    """Split -> representation -> prepared file under a prepared folder (data/prepared), for code that is given
    the folder (tests, notebooks); rules name the files themselves."""
    return {split: prepared_paths(Path(prepared_dir) / split) for split in splits}


def prepared_inputs(representations: Sequence[str], splits: Sequence[str] = SPLITS,
                    prefix: str = "data/prepared") -> dict[str, str]:
    """Named rule inputs "{split}_{representation}" -> prepared file, for the given representations and splits."""
    return {f"{split}_{representation}": f"{prefix}/{split}/{representation}.h5"
            for split in splits for representation in representations}


def prepared_by_split(named: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Named inputs made by prepared_inputs (other names are left out) back to split -> representation -> file."""
    tree: dict[str, dict[str, str]] = {}
    for split in SPLITS:
        for representation in REPRESENTATIONS:
            if f"{split}_{representation}" in named:
                tree.setdefault(split, {})[representation] = named[f"{split}_{representation}"]
    return tree


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
