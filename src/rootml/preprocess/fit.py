"""Fit the normalization and the reweighting on the training rows of every preprocessed chunk, streaming (the files
read and written: docs/contracts.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from tqdm import tqdm

from rootml.atomic import atomic_output
from rootml.config import feature_sets
from rootml.errors import ConfigError, InputError
from rootml.features.available import reweighting_variables
from rootml.preprocess.layout import observer, set_dataset
from rootml.preprocess.normalization import FeatureAccumulator, fit_normalization
from rootml.preprocess.reweighting import Reweighting, fill_histogram, fit_reweighting, histogram_edges
from rootml.preprocess.store import check_chunk_settings, chunk_split_rows
from rootml.seeds import derive_seed, hash_unit_interval

# Rows (rows, or real set elements) kept per feature group for the quantiles of the robust normalization: 10 MB of
# float32 for 13 features; the 16/50/84% quantiles of 200k entries are within ~3e-3 standard deviations.
SAMPLE_ENTRIES = 200_000
# Training jets read at a time.
BLOCK_ROWS = 8192


def train_blocks(files: Sequence[str], names: Sequence[str], config: Mapping[str, Any],
                 progress: bool = False, desc: str = "") -> Iterator[dict[str, np.ndarray]]:
    """Consecutive blocks of the named datasets of the train group of every chunk file, checking their settings."""
    rows = chunk_split_rows(files, "train")
    with tqdm(total=sum(rows), desc=desc, unit="jets", disable=not progress) as bar:
        for path, n in zip(files, rows):
            with h5py.File(path, "r") as h5:
                check_chunk_settings(h5, config, path)
                group = h5["train"]
                for start in range(0, n, BLOCK_ROWS):
                    yield {name: group[name][start:start + BLOCK_ROWS] for name in names}
                    bar.update(min(BLOCK_ROWS, n - start))


def _normalization(files: Sequence[str], config: Mapping[str, Any], n_train: int, progress: bool) -> dict[str, Any]:
    """Normalization parameters of the high-level features and of each set's features, and the reweighting
    variables' ranges."""
    settings = config["preprocess"]["normalization"]
    variables = reweighting_variables(config)
    sets = feature_sets(config)
    highlevel = FeatureAccumulator(config["features"]["highlevel"])
    elements = {name: FeatureAccumulator(spec["features"]) for name, spec in sets.items()}
    # whole rows are kept by a hash of their event id: the sample does not depend on the order of the files
    salt = derive_seed(config["seed"], "normalization sample")
    row_fraction = min(1.0, SAMPLE_ENTRIES / n_train)
    element_fraction = {name: min(1.0, SAMPLE_ENTRIES / (n_train * spec["max_length"])) for name, spec in sets.items()}
    lows, highs = np.full(len(variables), np.inf), np.full(len(variables), -np.inf)
    names = ["event_id", "highlevel", *(set_dataset(name, key) for name in sets for key in ("features", "mask")),
             *map(observer, variables)]
    for block in train_blocks(files, names, config, progress, "fit normalization"):
        u = hash_unit_interval(block["event_id"], salt)
        highlevel.update(block["highlevel"], u < row_fraction)
        for name, accumulator in elements.items():
            mask = block[set_dataset(name, "mask")]
            entries = block[set_dataset(name, "features")].transpose(0, 2, 1)[mask]
            accumulator.update(entries, np.repeat(u < element_fraction[name], mask.sum(axis=1)))
        for i, name in enumerate(variables):
            values = block[observer(name)]
            lows[i], highs[i] = min(lows[i], values.min()), max(highs[i], values.max())
    fits = [fit_normalization(acc, settings["method"], skip=settings["skip"], clip=settings["clip"], files=files)
            for acc in (highlevel, *elements.values())]
    return {"method": settings["method"], "clip": fits[0]["clip"], "n_jets": highlevel.count,
            "n_particles": sum(acc.count for acc in elements.values()),
            "features": {name: params for fit in fits for name, params in fit["features"].items()},
            "variable_range": {name: [float(lo), float(hi)] for name, lo, hi in zip(variables, lows, highs)}}


def _reference_index(settings: Mapping[str, Any], classes: Sequence[str]) -> int | None:
    """Index of preprocess.reweighting.reference_class in the classes (None when not set)."""
    name = settings.get("reference_class")
    if name is None:
        return None
    if name not in classes:
        raise ConfigError("preprocess.reweighting.reference_class", f"'{name}' is not one of classes {list(classes)}")
    return list(classes).index(name)


def _reweighting(files: Sequence[str], config: Mapping[str, Any], ranges: Mapping[str, Sequence[float]],
                 progress: bool) -> tuple[Reweighting, np.ndarray]:
    """The fitted reweighting and the weighted training counts per class and bin."""
    settings = config["preprocess"]["reweighting"]
    variables = reweighting_variables(config)
    bins = list(settings["bins"]) if variables else []
    if len(bins) != len(variables):
        raise ConfigError("preprocess.reweighting.bins", f"give one bin count per variable {variables}")
    classes = list(config["classes"])
    reference = _reference_index(settings, classes)
    edges = histogram_edges([ranges[v][0] for v in variables], [ranges[v][1] for v in variables], bins)
    counts = np.zeros((len(classes), *bins))
    for block in train_blocks(files, ["label", "weight", *map(observer, variables)], config, progress, "fit weights"):
        counts += fill_histogram([block[observer(v)] for v in variables], block["label"], block["weight"], edges,
                                 len(classes))
    fitted = fit_reweighting(counts, edges, variables, method=settings["method"],
                             class_balance=settings["class_balance"], reference_class=reference,
                             max_weight=settings["max_weight"])
    return fitted, counts


def _write_json(path: str | Path, content: Mapping[str, Any]) -> None:
    """Write `content` as indented JSON with sorted keys, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(content, indent=1, sort_keys=True) + "\n")


def fit_preprocessing(chunk_files: Sequence[str | Path], normalization_json: str | Path,
                      reweighting_json: str | Path, *, config: Mapping[str, Any],
                      progress: bool = True) -> dict[str, Any]:
    """Fit the normalization and reweighting on training rows only; write both JSON files and return their content."""
    files = sorted(map(str, chunk_files))
    n_train = sum(chunk_split_rows(files, "train"))
    if n_train == 0:
        raise InputError(f"no training jets in {len(files)} preprocessed chunk file(s)",
                         file=", ".join(files[:3]) or None)
    normalization = _normalization(files, config, n_train, progress)
    fitted, counts = _reweighting(files, config, normalization.pop("variable_range"), progress)
    settings = config["preprocess"]["reweighting"]
    per_class = counts.reshape(len(counts), -1)
    reweighting = {
        **fitted.to_json(), "method": settings["method"], "class_balance": settings["class_balance"],
        "reference_class": settings.get("reference_class"), "max_weight": settings["max_weight"],
        "classes": list(config["classes"]), "train_sum_of_input_weights": per_class.sum(axis=1).tolist(),
        "train_sum_of_weights": ((per_class * fitted.bin_factors.reshape(len(counts), -1)).sum(axis=1)
                                 * fitted.class_factors).tolist(),
    }
    _write_json(normalization_json, normalization)
    _write_json(reweighting_json, reweighting)
    return {"normalization": normalization, "reweighting": reweighting}
