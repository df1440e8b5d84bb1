"""The run config beyond its schema: cross-key checks, sample files and chunks, the config subset each rule reads, and
the training runs of the model entries (resolved once, torch-free: the Snakefile plans the DAG with them)."""

from __future__ import annotations

import copy
import glob
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from rootml.columns import JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS
from rootml.errors import ConfigError, did_you_mean
from rootml.models.hparams import resolve_hparams
from rootml.models.specs import FAMILY_SPECS
from rootml.seeds import derive_seed
from rootml.settings import resolve_block
from rootml.training.settings import TrainingSettings


def check_config(config: Mapping[str, Any]) -> None:
    """Raise ConfigError (with the key path) for cross-key mistakes the schema lets through (config validated)."""
    classes = list(config["classes"])
    if len(set(classes)) != len(classes):
        raise ConfigError("classes", f"class names must be unique, got {classes}")
    for name, sample in config["samples"].items():
        if ("generate" in sample) == ("files" in sample):
            raise ConfigError(f"samples.{name}", "give exactly one of 'generate' (Pythia) or 'files' (on disk)")
        if ("label" in sample) == ("labels" in sample):
            raise ConfigError(f"samples.{name}",
                              "give exactly one of 'label' (one class) or 'labels' (class -> expression)")
        key = f"samples.{name}.label" if "label" in sample else f"samples.{name}.labels"
        for cls in sample_classes(sample):
            if cls not in classes:
                raise ConfigError(key, f"class '{cls}' is not one of classes {classes}")
    provided = {cls for sample in config["samples"].values() for cls in sample_classes(sample)}
    for cls in classes:
        if cls not in provided:
            raise ConfigError("classes", f"class '{cls}' has no jets: no sample has label '{cls}' or a labels "
                                         f"expression for it (samples: {sorted(config['samples'])})")
    gen = config["generate"]
    if gen["pt_min"] >= gen["pt_max"]:
        raise ConfigError("generate.pt_min", f"must be below generate.pt_max ({gen['pt_min']} >= {gen['pt_max']})")
    splits = config["preprocess"]["splits"]
    if not math.isclose(sum(splits.values()), 1.0, abs_tol=1e-9):
        raise ConfigError("preprocess.splits", f"the fractions must sum to 1, got {dict(splits)} "
                                               f"(sum {sum(splits.values()):g})")
    check_jet_columns(config)
    check_model_views(config)


def sample_classes(sample: Mapping[str, Any]) -> list[str]:
    """The classes a sample's jets can have: its `label`, or the classes of its `labels` expressions."""
    return [sample["label"]] if "label" in sample else list(sample.get("labels", {}))


def jet_column_names(config: Mapping[str, Any]) -> list[str]:
    """Per-jet columns every ingested file has (canonical jet and substructure columns) or a sample maps."""
    mapped = {name for sample in config["samples"].values() for name in sample.get("branches", {})
              if not name.startswith("part_")}
    return [*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS, *sorted(mapped - {*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS})]


def check_jet_columns(config: Mapping[str, Any]) -> None:
    """features.observers and preprocess.reweighting.variables must name per-jet columns of the ingested data."""
    known = jet_column_names(config)
    for key, names in (("features.observers", config["features"]["observers"]),
                       ("preprocess.reweighting.variables", config["preprocess"]["reweighting"]["variables"])):
        for name in names:
            if name not in known:
                raise ConfigError(key, f"'{name}' is not a jet column of the ingested data (known: {known}, or a "
                                       f"name a sample maps under branches){did_you_mean(name, known)}")


def check_model_views(config: Mapping[str, Any]) -> None:
    """Each model's `features` must be among features.highlevel and its `n_particles` within features.n_particles."""
    features = config["features"]
    for name, entry in config["models"].items():
        unknown = [f for f in entry.get("features", []) if f not in features["highlevel"]]
        if unknown:
            raise ConfigError(f"models.{name}.features",
                              f"'{unknown[0]}' is not in features.highlevel {features['highlevel']}")
        n_particles, available = entry.get("n_particles"), features["n_particles"]
        if n_particles is not None and n_particles > available:
            raise ConfigError(f"models.{name}.n_particles",
                              f"{n_particles} particles asked for, features.n_particles is {available}")


def config_subset(config: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """The parts of `config` at the dotted `keys` (e.g. 'preprocess.splits'), nested as in the config.

    A rule passes its script this subset as params: the script reads nothing else of the config, and a change of
    exactly these keys reruns the rule (Snakemake's params trigger).
    """
    subset: dict[str, Any] = {}
    for key in keys:
        *parents, leaf = key.split(".")
        source, target = config, subset
        for part in parents:
            source, target = source[part], target.setdefault(part, {})
        target[leaf] = copy.deepcopy(source[leaf])
    return subset


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
    return max(1, math.floor(config["samples"][name]["generate"]["chunks"] * config["scale"] + 0.5))


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


@dataclass(frozen=True)
class ModelRun:
    """One training run of a model entry, resolved once from the config: family, task, hyper-parameters and trainer
    settings with every default filled in, its seed, the part of the inputs it reads and where they are stored."""

    name: str  # the run: the entry's name, or name_s{i} for the i-th of its `seeds` copies
    model: str  # the entry's name under `models`
    seed_index: int
    family: str
    task: str
    target: str | None
    loss: str
    background: list[str] | None
    hparams: dict[str, Any]
    training: TrainingSettings
    seed: int  # of this run's initial weights and batches
    n_particles: int | None
    features: list[str] | None
    representations: list[str]

    @property
    def key(self) -> str:
        """The entry's config key (models.<name>), which errors name."""
        return f"models.{self.model}"

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dict (rule params, model_config.json); `from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelRun:
        """The run `as_dict` wrote (other keys, as in a model_config.json, are left out)."""
        run = {field.name: values[field.name] for field in fields(cls)}
        return cls(**{**run, "training": TrainingSettings(**run["training"])})


def model_run(name: str, entry: Mapping[str, Any], config: Mapping[str, Any]) -> ModelRun:
    """The one run of the entry `models.<name>` (its first seed copy) with the config's `training` and `seed`."""
    return _resolve_run(name, resolve_block("models", {name: entry})[name], config, 0, name)


def model_runs(config: Mapping[str, Any]) -> dict[str, ModelRun]:
    """Every training run: a model entry's name, or name_s{i} for each of its `seeds` copies, -> its ModelRun."""
    runs = {}
    for name, entry in resolve_block("models", config.get("models")).items():
        for index in range(entry["seeds"]):
            run = name if entry["seeds"] == 1 else f"{name}_s{index}"
            runs[run] = _resolve_run(name, entry, config, index, run)
    return runs


def _resolve_run(name: str, entry: Mapping[str, Any], config: Mapping[str, Any], seed_index: int,
                 run: str) -> ModelRun:
    """A ModelRun from a schema-checked entry (defaults filled in)."""
    key = f"models.{name}"
    spec = FAMILY_SPECS[entry["family"]]
    hparams = resolve_hparams(spec.hparams, entry.get("hparams", {}), f"{key}.hparams")
    representations = [REPRESENTATION_OF_INPUT[spec.input_of(hparams)]]
    for option, representation in (("n_particles", "particles"), ("features", "highlevel")):
        if entry.get(option) is not None and representation not in representations:
            raise ConfigError(f"{key}.{option}", f"applies to models on the {representation} inputs; family "
                                                 f"'{entry['family']}' reads {representations}")
    return ModelRun(
        name=run, model=name, seed_index=seed_index, family=entry["family"], task=entry["task"],
        target=entry.get("target"), loss=entry["loss"], background=entry.get("background"), hparams=hparams,
        training=TrainingSettings.resolve(config.get("training"), entry.get("training"), f"{key}.training"),
        seed=derive_seed(config["seed"], "train", name, seed_index), n_particles=entry.get("n_particles"),
        features=entry.get("features"), representations=representations,
    )
