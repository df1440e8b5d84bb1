"""Checks of the run config that a JSON schema cannot express, and the expansion of sample files."""

from __future__ import annotations

import glob
import math
from collections.abc import Mapping
from typing import Any

from rootml.errors import ConfigError


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ConfigError (with the key path) for cross-key mistakes the schema lets through."""
    classes = list(config["classes"])
    if len(set(classes)) != len(classes):
        raise ConfigError("classes", f"class names must be unique, got {classes}")
    if not config["samples"]:
        raise ConfigError("samples", "define at least one sample")
    for name, sample in config["samples"].items():
        if ("generate" in sample) == ("files" in sample):
            raise ConfigError(f"samples.{name}", "give exactly one of 'generate' (Pythia) or 'files' (on disk)")
        if ("label" in sample) == ("labels" in sample):
            raise ConfigError(f"samples.{name}", "give exactly one of 'label' (one class) or 'labels' (class -> expression)")
        key = f"samples.{name}.label" if "label" in sample else f"samples.{name}.labels"
        for cls in [sample["label"]] if "label" in sample else list(sample["labels"]):
            if cls not in classes:
                raise ConfigError(key, f"class '{cls}' is not one of classes {classes}")
    gen = config["generate"]
    if gen["pt_min"] >= gen["pt_max"]:
        raise ConfigError("generate.pt_min", f"must be below generate.pt_max ({gen['pt_min']} >= {gen['pt_max']})")
    check_model_views(config)


def check_model_views(config: Mapping[str, Any]) -> None:
    """Each model's `features` must be among features.highlevel and its `n_particles` within features.n_particles."""
    features = config.get("features", {})
    for name, entry in config.get("models", {}).items():
        unknown = [f for f in entry.get("features", []) if f not in features.get("highlevel", [])]
        if unknown:
            raise ConfigError(f"models.{name}.features",
                              f"'{unknown[0]}' is not in features.highlevel {features.get('highlevel')}")
        n_particles, available = entry.get("n_particles"), features.get("n_particles", 64)
        if n_particles is not None and n_particles > available:
            raise ConfigError(f"models.{name}.n_particles",
                              f"{n_particles} particles asked for, features.n_particles is {available}")


def generated_samples(config: Mapping[str, Any]) -> list[str]:
    """Names of the samples produced by the Pythia generator."""
    return [name for name, sample in config["samples"].items() if "generate" in sample]


def sample_files(config: Mapping[str, Any], name: str) -> list[str]:
    """Sorted input files of a sample on disk (its `files` globs expanded); error if none match."""
    patterns = config["samples"][name]["files"]
    files = sorted({f for pattern in patterns for f in glob.glob(pattern, recursive=True)})
    if not files:
        raise ConfigError(f"samples.{name}.files", f"no file matches {patterns}")
    return files


def generated_chunks(config: Mapping[str, Any], name: str) -> int:
    """Chunks a generated sample has: its `chunks` times the top-level `scale`, rounded half up, at least 1."""
    return max(1, math.floor(config["samples"][name]["generate"].get("chunks", 1) * config.get("scale", 1.0) + 0.5))


def sample_chunks(config: Mapping[str, Any], name: str) -> list[str]:
    """Chunk ids of a sample: one per generated chunk (scaled) or per input file, as 4-digit strings."""
    sample = config["samples"][name]
    n = generated_chunks(config, name) if "generate" in sample else len(sample_files(config, name))
    return [f"{i:04d}" for i in range(n)]


# the prepared representation each model input key is stored in (data/prepared/{split}/{representation}.h5)
REPRESENTATION_OF_INPUT: dict[str, str] = {
    "highlevel": "highlevel", "image": "images", "features": "particles", "points": "particles",
    "vectors": "particles", "mask": "particles",
}


def model_runs(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every training run: a model entry's name, or name_s{i} for each of its `seeds` copies, -> its entry."""
    runs = {}
    for name, entry in config.get("models", {}).items():
        copies = entry.get("seeds", 1)
        for index in range(copies):
            runs[name if copies == 1 else f"{name}_s{index}"] = {**entry, "model": name, "seed_index": index}
    return runs


def model_representations(entry: Mapping[str, Any]) -> list[str]:
    """The prepared representations a model entry reads (its family's input, plus particles for all particle keys)."""
    from rootml.models import MODEL_FAMILIES
    from rootml.models.common import resolve_hparams

    family = MODEL_FAMILIES[entry["family"]]
    hparams = resolve_hparams(family.hparams, entry.get("hparams", {}), f"models.{entry.get('model', '?')}.hparams")
    return [REPRESENTATION_OF_INPUT[family.input_of(hparams)]]
