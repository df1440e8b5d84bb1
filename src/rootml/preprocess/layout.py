"""Where the preprocess stage's files live and what they hold: paths, dataset names, settings attributes
(docs/contracts.md).

A preprocessed chunk file (data/preprocessed/{sample}/{chunk}.h5) has one group per split (train, val,
test), each with the raw per-row datasets and a group per set; the file attributes record the settings it was made
with, and `store.check_chunk_settings` refuses a file made with other settings than the run's config. The prepared
files of a split are highlevel.h5, images.h5 (when the run has images) and one <set>.h5 per set of features.sets.
Light enough for the Snakefile to import (no h5py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rootml.config import config_subset, feature_sets, sample_chunks
from rootml.features.available import carried_columns, image_source, observer_columns
from rootml.preprocess.split import SPLITS

HIGHLEVEL, IMAGES = "highlevel", "images"
# the represent.images settings of the pixel grid, written as attributes of images.h5
IMAGE_SETTINGS: tuple[str, ...] = ("n_pixels", "extent", "centre", "subjet_radius", "rotate", "flip", "normalise",
                                   "channels")
# the config keys each rule of the stage reads (its params: a change of one of them reruns the rule)
CHUNK_KEYS: tuple[str, ...] = ("classes", "seed", "features", "generate.jet_radius", "represent", "preprocess.splits",
                               "preprocess.reweighting.method", "preprocess.reweighting.variables")
FIT_KEYS: tuple[str, ...] = (*CHUNK_KEYS, "preprocess.normalization", "preprocess.reweighting")  # checks the chunks
PREPARE_KEYS: tuple[str, ...] = CHUNK_KEYS


def stage_config(config: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The rule params of the stage: config_subset(config, keys) with features.sets and features.observers resolved
    (their defaults depend on the samples, which the subset leaves out)."""
    subset = config_subset(config, keys)
    subset["features"].update(sets=feature_sets(config), observers=observer_columns(config))
    return subset


def preprocessed_files(config: Mapping[str, Any]) -> list[str]:
    """Every preprocessed chunk file of the run, sample by sample."""
    return [f"data/preprocessed/{name}/{chunk}.h5"
            for name in config["samples"] for chunk in sample_chunks(config, name)]


def images_of(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The set, coordinates, weight and charge features the images are made of; None when the run has no images."""
    return image_source(config["represent"]["images"], feature_sets(config))


def representations(config: Mapping[str, Any]) -> list[str]:
    """The prepared files of a split, by name: highlevel, images (when the run has images), then each set."""
    return [HIGHLEVEL, *([IMAGES] if images_of(config) else []), *feature_sets(config)]


def prepared_paths(split_dir: str | Path, config: Mapping[str, Any]) -> dict[str, Path]:
    """The prepared file of each representation of the run in the folder of one split (data/prepared/{split}/)."""
    return {representation: Path(split_dir) / f"{representation}.h5" for representation in representations(config)}


def prepared_files(split: str, config: Mapping[str, Any], prefix: str = "data/prepared") -> dict[str, str]:
    """Representation -> prepared file of one split for the run's config (named rule inputs and outputs), in the
    order of `representations`."""
    return {representation: str(path) for representation, path in prepared_paths(f"{prefix}/{split}", config).items()}


def prepared_inputs(names: Sequence[str], splits: Sequence[str] = SPLITS,
                    prefix: str = "data/prepared") -> dict[str, str]:
    """Named rule inputs "{split}_{representation}" -> prepared file, for the given representations and splits."""
    return {f"{split}_{name}": f"{prefix}/{split}/{name}.h5" for split in splits for name in names}


def prepared_by_split(named: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Named inputs made by prepared_inputs (names that are not "{split}_{representation}" are left out) back to
    split -> representation -> file; any representation name, a set's included."""
    tree: dict[str, dict[str, str]] = {}
    for name, path in named.items():
        split, _, representation = name.partition("_")
        if split in SPLITS and representation:
            tree.setdefault(split, {})[representation] = path
    return tree


def observer(name: str) -> str:
    """Dataset name of a raw per-row column carried along (observers, reweighting variables)."""
    return f"obs_{name}"


def set_dataset(set_name: str, name: str) -> str:
    """Dataset name of a set's features, points, vectors, mask or knn in a chunk's split group."""
    return f"{set_name}/{name}"


def stores_edges(config: Mapping[str, Any]) -> bool:
    """Whether kNN indices are stored (represent.graph.store_edges with kind knn)."""
    graph = config["represent"]["graph"]
    return bool(graph["store_edges"]) and graph["kind"] == "knn"


def chunk_settings(config: Mapping[str, Any]) -> dict[str, str]:
    """The settings a chunk file is made with, as JSON text attributes (compared by `check_chunk_settings`)."""
    images = images_of(config)
    settings = {
        "classes": list(config["classes"]), "highlevel_names": list(config["features"]["highlevel"]),
        "sets": feature_sets(config), "jet_radius": config["generate"]["jet_radius"],
        "columns": carried_columns(config), "splits": dict(config["preprocess"]["splits"]), "seed": config["seed"],
        "images": None if images is None else {
            **{key: config["represent"]["images"][key] for key in IMAGE_SETTINGS}, **images},
        "knn_k": config["represent"]["graph"]["k"] if stores_edges(config) else None,
    }
    return {key: json.dumps(value, sort_keys=True) for key, value in settings.items()}
