"""The run config beyond its schema: cross-key checks, sample files and chunks, the config subset each rule reads, and
the training runs of the model entries (resolved once, torch-free: the Snakefile plans the DAG with them)."""

from __future__ import annotations

import copy
import glob
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from rootml.errors import ConfigError, did_you_mean
from rootml.evaluation.settings import EvaluateSettings
from rootml.features.available import (
    JET_BUILTINS,
    PART,
    image_source,
    observer_columns,
    reweighting_variables,
    row_columns,
    sample_sets,
    samples_without,
    set_feature_names,
)
from rootml.models.hparams import resolve_hparams
from rootml.models.specs import FAMILY_SPECS, FamilySpec
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
    check_features(config)
    check_model_views(config)
    check_model_lists(config)
    check_decorrelation(config)


def sample_classes(sample: Mapping[str, Any]) -> list[str]:
    """The classes a sample's jets can have: its `label`, or the classes of its `labels` expressions."""
    return [sample["label"]] if "label" in sample else list(sample.get("labels", {}))


def feature_sets(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Set name -> {features, max_length, coordinates} of features.sets with every default filled in; null: the `part`
    preset when every sample provides set `part`, else no set."""
    features = dict(config.get("features") or {})
    if features.get("sets") is None:
        provided = all(PART in sample_sets(sample) for sample in config.get("samples", {}).values())
        features["sets"] = {PART: {}} if provided else {}
    sets = resolve_block("features", features)["sets"]
    return {name: {"features": list(entry["features"]), "max_length": entry["max_length"],
                   "coordinates": list(entry["coordinates"] or [f"{name}_deta", f"{name}_dphi"])}
            for name, entry in sets.items()}


def _missing_column(config: Mapping[str, Any], name: str, available: Sequence[str]) -> str:
    """Why a per-row column named in the config is not available, with the available ones and the nearest."""
    lacking = samples_without(config, name)
    if name in JET_BUILTINS and len(lacking) == len(config["samples"]):
        return (f"'{name}' is a built-in computed from set '{PART}', which samples {lacking} do not provide "
                f"(available: {list(available)})")
    if len(lacking) < len(config["samples"]):
        return f"'{name}' is not a column of samples {lacking} (available in every sample: {list(available)})"
    return (f"'{name}' is neither a column of the ingested data nor a built-in (available: {list(available)}, or a "
            f"name every sample maps under branches){did_you_mean(name, available)}")


def check_features(config: Mapping[str, Any]) -> None:
    """features.highlevel, features.sets, features.observers, preprocess.reweighting.variables and represent.images
    must name what the ingested data of every sample has (rootml.features.available)."""
    sets = feature_sets(config)
    for name, spec in sets.items():
        check_set(config, name, spec)
    available = row_columns(config)
    for key, names in (("features.highlevel", config["features"]["highlevel"]),
                       ("features.observers", config["features"]["observers"] or []),
                       ("preprocess.reweighting.variables", reweighting_variables(config))):
        for name in names:
            if name not in available:
                raise ConfigError(key, _missing_column(config, name, available))
    check_images(config, sets)


def check_set(config: Mapping[str, Any], name: str, spec: Mapping[str, Any]) -> None:
    """Every sample must provide the set, and its features and coordinates must be fields or built-ins of it."""
    key = f"features.sets.{name}"
    lacking = {sample: sample_sets(entry) for sample, entry in config["samples"].items()
               if name not in sample_sets(entry)}
    if lacking:
        raise ConfigError(key, f"set '{name}' is not provided by samples {sorted(lacking)} (their sets: "
                               f"{lacking}){did_you_mean(name, {s for sets in lacking.values() for s in sets})}")
    for option in ("features", "coordinates"):
        for feature in spec[option]:
            check_set_feature(config, name, feature, f"{key}.{option}")


def check_set_feature(config: Mapping[str, Any], name: str, feature: str, key: str) -> None:
    """`feature` must be a built-in or a field of set `name` (any <name>_<field> where the input files tell)."""
    known, open_fields = set_feature_names(config, name)
    if feature in known or (open_fields and feature.startswith(f"{name}_") and len(feature) > len(name) + 1):
        return
    more = f", or any {name}_<field> the input files have" if open_fields else ""
    raise ConfigError(key, f"'{feature}' is not a feature of set '{name}' (available: {known}{more})"
                           f"{did_you_mean(feature, known)}")


def check_images(config: Mapping[str, Any], sets: Mapping[str, Any]) -> None:
    """represent.images.set must be a configured set, and its coordinates, weight and charge features of it."""
    images = config["represent"]["images"]
    if images["set"] is not None and images["set"] not in sets:
        raise ConfigError("represent.images.set", f"'{images['set']}' is not a set of features.sets {list(sets)}"
                                                  f"{did_you_mean(images['set'], sets)}")
    source = image_source(images, sets)
    if source is None:
        return
    for option in ("coordinates", "weight", "charge"):
        names = source[option] if isinstance(source[option], list) else [source[option]]
        for feature in filter(None, names):
            key = "represent.images.channels" if option == "charge" else f"represent.images.{option}"
            check_set_feature(config, source["set"], feature, key)


def check_model_lists(config: Mapping[str, Any]) -> None:
    """ranking, pruning, quantization, firmware and explore `models` must name entries of `models`; explore's torch
    ones."""
    for block in ("ranking", "pruning", "quantization", "firmware", "explore"):
        for name in config[block]["models"] or []:
            if name not in config["models"]:
                known = sorted(config["models"])
                raise ConfigError(f"{block}.models",
                                  f"'{name}' is not a model entry; models: {known}{did_you_mean(name, known)}")
    for name in config["explore"]["models"]:
        if config["models"][name]["family"] == "bdt":
            raise ConfigError("explore.models", f"'{name}' is a BDT: it has no latent space or hidden layer to embed")


def check_model_views(config: Mapping[str, Any]) -> None:
    """Each model's `features` must be among features.highlevel, its `n_particles` within the max_length of each set
    it reads, and a model on images needs a run with images."""
    features, sets = config["features"], feature_sets(config)
    if image_source(config["represent"]["images"], sets) is None:
        for run in model_runs(config).values():
            if REPRESENTATION_OF_INPUT["image"] in run.representations:
                raise ConfigError(f"{run.key}.family", f"family '{run.family}' reads images, and the run has none: "
                                                       "represent.images.set names no set of features.sets")
    for name, entry in config["models"].items():
        unknown = [f for f in entry.get("features", []) if f not in features["highlevel"]]
        if unknown:
            raise ConfigError(f"models.{name}.features",
                              f"'{unknown[0]}' is not in features.highlevel {features['highlevel']}")
        n_particles = entry.get("n_particles")
        for set_name in entry.get("sets") or sets:
            if n_particles is not None and set_name in sets and n_particles > sets[set_name]["max_length"]:
                raise ConfigError(f"models.{name}.n_particles",
                                  f"{n_particles} elements asked for, features.sets.{set_name}.max_length is "
                                  f"{sets[set_name]['max_length']}")


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


# the prepared representation each model input that is not a set's is stored in
# (data/prepared/{split}/{representation}.h5); the inputs of a set are in data/prepared/{split}/<set>.h5
REPRESENTATION_OF_INPUT: dict[str, str] = {"highlevel": "highlevel", "image": "images"}


def run_name(model: str, seeds: int, index: int, folds: int = 1, fold: int = 0) -> str:
    """The run of the `index`-th seed copy of entry `model` trained on fold `fold` of its `folds`: the entry's name,
    then _s{i} when it has several seed copies, then _f{j} when it has several folds (training.folds)."""
    name = model if seeds == 1 else f"{model}_s{index}"
    return name if folds == 1 else f"{name}_f{fold}"


@dataclass(frozen=True)
class Distillation:
    """A model entry's `distill` block resolved: the teacher entry and the run of it that teaches (its first seed
    copy), temperature, alpha, and the entry of the student trained alone (null: found by comparing the runs)."""

    teacher: str
    teacher_run: str
    temperature: float
    alpha: float
    baseline: str | None


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
    sets: list[str] | None  # the sets a model of a set family reads (features.sets), in their order
    representations: list[str]
    distill: Distillation | None = None  # knowledge distillation from a trained teacher (models.<name>.distill)
    fold: int | None = None  # the fold validated on, of training.folds >= 2 (rootml.training.folds); None: no folds

    @property
    def primary(self) -> bool:
        """The run that stands for its entry in the later stages (prune, rank, quantize, explore, firmware): the first
        seed copy, trained on the first fold when the entry has folds."""
        return self.seed_index == 0 and self.fold in (None, 0)

    @property
    def key(self) -> str:
        """The entry's config key (models.<name>), which errors name."""
        return f"models.{self.model}"

    def as_dict(self) -> dict[str, Any]:
        """Plain nested dict (rule params, model_config.json); `from_dict` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelRun:
        """The run `as_dict` wrote (other keys, as in a model_config.json, are left out; one written before
        `distill` existed reads as no distillation, and training settings added since take their defaults)."""
        run = {field.name: values[field.name] for field in fields(cls)
               if field.name != "distill" and field.name in values}  # one written before `fold` existed has none
        distill = values.get("distill")
        return cls(**{**run, "training": TrainingSettings(**resolve_block(TrainingSettings.BLOCK, run["training"])),
                      "distill": None if distill is None else Distillation(**distill)})


def model_run(name: str, entry: Mapping[str, Any], config: Mapping[str, Any]) -> ModelRun:
    """The one run of the entry `models.<name>` (its first seed copy) with the config's `training` and `seed`."""
    return _resolve_run(name, resolve_block("models", {name: entry})[name], config, 0, name)


def model_runs(config: Mapping[str, Any]) -> dict[str, ModelRun]:
    """Every training run: a model entry's name, or name_s{i} for each of its `seeds` copies, -> its ModelRun."""
    runs = {}
    for name, entry in resolve_block("models", config.get("models")).items():
        for index in range(entry["seeds"]):
            resolved = _resolve_run(name, entry, config, index, run_name(name, entry["seeds"], index))
            folds = resolved.training.folds
            if folds > 1 and resolved.task == "regression":
                raise ConfigError(f"{resolved.key}.training.folds", "k-fold cross-validation compares the folds' ROC "
                                                                    "curves: classifiers and anomaly models only")
            for fold in range(folds) if folds > 1 else [None]:
                run = run_name(name, entry["seeds"], index, folds, fold or 0)
                runs[run] = resolved if fold is None else replace(resolved, name=run, fold=fold)
    return runs


def _resolve_run(name: str, entry: Mapping[str, Any], config: Mapping[str, Any], seed_index: int,
                 run: str) -> ModelRun:
    """A ModelRun from a schema-checked entry (defaults filled in); a set family reads its `sets`, by default every
    set of features.sets."""
    key, family = f"models.{name}", entry["family"]
    spec = FAMILY_SPECS[family]
    hparams = resolve_hparams(spec.hparams, entry.get("hparams", {}), f"{key}.hparams")
    input_key, sets = spec.input_of(hparams), None
    if input_key == "features":
        configured = feature_sets(config)
        if not configured:
            raise ConfigError(f"{key}.family", f"family '{family}' reads sets, and features.sets configures none")
        sets = list(entry.get("sets") or configured)
        for set_name in sets:
            if set_name not in configured:
                raise ConfigError(f"{key}.sets", f"'{set_name}' is not a set of features.sets {list(configured)}"
                                                 f"{did_you_mean(set_name, configured)}")
        if spec.one_set and len(sets) > 1:
            raise ConfigError(f"{key}.sets", f"family '{family}' reads one set, got {sets}"
                                             f"{'' if entry.get('sets') else ' (all of features.sets)'}: name one")
        coordinates = {set_name: configured[set_name]["coordinates"] for set_name in sets}
        if spec.uses_coordinates and len({len(names) for names in coordinates.values()}) > 1:
            raise ConfigError(f"{key}.sets", f"family '{family}' builds one graph on the coordinates of all its "
                                             f"sets, which need as many coordinates each: {coordinates}")
    representations = sets or [REPRESENTATION_OF_INPUT[input_key]]
    for option, inputs, applies in (("n_particles", "set", sets is not None), ("sets", "set", sets is not None),
                                    ("features", "highlevel", representations == ["highlevel"])):
        if entry.get(option) is not None and not applies:
            raise ConfigError(f"{key}.{option}", f"applies to models on the {inputs} inputs; family '{family}' "
                                                 f"reads {representations}")
    scalars = scalar_features(key, spec, hparams, config)
    if scalars:
        representations = [*representations, REPRESENTATION_OF_INPUT["highlevel"]]
    return ModelRun(
        name=run, model=name, seed_index=seed_index, family=family, task=entry["task"],
        target=entry.get("target"), loss=entry["loss"], background=entry.get("background"), hparams=hparams,
        training=resolve_decorrelation(name, entry, config, TrainingSettings.resolve(
            config.get("training"), entry.get("training"), f"{key}.training")),
        seed=derive_seed(config["seed"], "train", name, seed_index), n_particles=entry.get("n_particles"),
        features=scalars or entry.get("features"), sets=sets, representations=representations,
        distill=resolve_distillation(name, entry, config),
    )


def scalar_features(key: str, spec: FamilySpec, hparams: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The high-level features a model reads besides its input (the hyper-parameter `spec.scalars` names them, e.g. a
    CNN's `film`), each checked to be in features.highlevel (ConfigError naming the hyper-parameter); [] for none."""
    if spec.scalars is None:
        return []
    names, available = list(hparams[spec.scalars]), (config.get("features") or {}).get("highlevel") or []
    for feature in names:
        if feature not in available:
            raise ConfigError(f"{key}.hparams.{spec.scalars}", f"'{feature}' is not in features.highlevel "
                                                               f"{available}{did_you_mean(feature, available)}")
    return names


def resolve_decorrelation(name: str, entry: Mapping[str, Any], config: Mapping[str, Any],
                          training: TrainingSettings) -> TrainingSettings:
    """The training settings with the `decorrelation` block's signal and background filled in (null: those of the
    `evaluate` block); ConfigError naming the key for a regression, an anomaly model, a BDT or an unknown class."""
    block = training.decorrelation
    if block is None:
        return training
    key = f"models.{name}.training.decorrelation"
    if entry["task"] != "classification" or entry["family"] == "bdt":
        raise ConfigError(key, f"DisCo decorrelates a torch classifier's discriminant; this entry is a {entry['task']} "
                               f"of family '{entry['family']}'"
                               + (" (not supported: XGBoost's loss takes no batch term)" if entry["family"] == "bdt"
                                  else ""))
    classes = list(config["classes"])
    evaluation = EvaluateSettings.for_run(config.get("evaluate"), classes, [])
    groups = {"signal": block["signal"] or evaluation.signal,
              "background": block["background"] or evaluation.background}
    for group, names in groups.items():
        unknown = [cls for cls in names if cls not in classes]
        if unknown:
            raise ConfigError(f"{key}.{group}", f"'{unknown[0]}' is not one of classes {classes}"
                                                f"{did_you_mean(unknown[0], classes)}")
    shared = sorted(set(groups["signal"]) & set(groups["background"]))
    if shared:
        raise ConfigError(f"{key}.background", f"shares classes {shared} with the signal {groups['signal']}")
    return replace(training, decorrelation={**block, **groups})


def check_decorrelation(config: Mapping[str, Any]) -> None:
    """A decorrelated model's observable must be an observer of the run (features.observers)."""
    observers = observer_columns(config)
    for run in model_runs(config).values():
        block = run.training.decorrelation
        if block is not None and block["observable"] not in observers:
            raise ConfigError(f"{run.key}.training.decorrelation.observable",
                              f"'{block['observable']}' is not an observer of the run (features.observers: "
                              f"{observers}){did_you_mean(block['observable'], observers)}")


def folds_of(entry: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    """training.folds of a schema-checked model entry: its own override, else the config's `training` block."""
    overrides = entry.get("training") or {}
    return overrides["folds"] if "folds" in overrides else resolve_block("training", config.get("training"))["folds"]


def _models_entry(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The entry `models.<name>` of the config, schema-checked with its defaults filled in."""
    return resolve_block("models", {name: config["models"][name]})[name]


def resolve_distillation(name: str, entry: Mapping[str, Any], config: Mapping[str, Any]) -> Distillation | None:
    """The entry's `distill` block checked against the other entries (ConfigError naming the key): the teacher
    must be another classifier entry that does not learn from this one, the student a torch classifier."""
    block = entry.get("distill")
    if block is None:
        return None
    key, models = f"models.{name}.distill", config.get("models") or {}
    if entry["task"] != "classification" or entry["family"] == "bdt":
        raise ConfigError(key, f"distillation trains a torch classifier on the teacher's soft targets; this entry "
                               f"is a {entry['task']} of family '{entry['family']}'"
                               + (" (XGBoost fits the labels only)" if entry["family"] == "bdt" else ""))
    teacher = block["teacher"]
    if teacher == name:
        raise ConfigError(f"{key}.teacher", f"'{name}' cannot be its own teacher")
    if teacher not in models:
        known = sorted(models)
        raise ConfigError(f"{key}.teacher", f"'{teacher}' is not a model entry; models: {known}"
                                            f"{did_you_mean(teacher, known)}")
    teacher_entry = _models_entry(config, teacher)
    if teacher_entry["task"] != "classification":
        raise ConfigError(f"{key}.teacher", f"the teacher '{teacher}' is a {teacher_entry['task']} model; a teacher "
                                            f"must be a classifier of the classes (task: classification)")
    chain, current = [name, teacher], teacher_entry
    while current.get("distill") is not None:  # a teacher may be a student in turn, of another model than this one
        upstream = current["distill"]["teacher"]
        if upstream in chain:
            raise ConfigError(f"{key}.teacher", f"the teachers form a cycle: {' <- '.join([*chain, upstream])}")
        if upstream not in models:
            break  # that entry's own distill.teacher reports it
        chain.append(upstream)
        current = _models_entry(config, upstream)
    baseline = block["baseline"]
    if baseline is not None:
        if baseline not in models or baseline == name:
            known = sorted(set(models) - {name})
            raise ConfigError(f"{key}.baseline", f"'{baseline}' is not another model entry; models: {known}"
                                                 f"{did_you_mean(baseline, known)}")
        if _models_entry(config, baseline).get("distill") is not None:
            raise ConfigError(f"{key}.baseline", f"the baseline '{baseline}' is itself distilled: it must be the "
                                                 "student trained alone")
    if folds_of(entry, config) > 1:
        raise ConfigError(f"models.{name}.training.folds", "a distilled student cannot be trained in folds (its "
                                                           "teacher's logits are attached to whole splits)")
    # a teacher trained in folds teaches with its first fold's run (trained on the other folds of train+val)
    teacher_run = run_name(teacher, teacher_entry["seeds"], 0, folds_of(teacher_entry, config), 0)
    return Distillation(teacher=teacher, teacher_run=teacher_run,
                        temperature=float(block["temperature"]), alpha=float(block["alpha"]), baseline=baseline)
