"""What the ingested rows of a run hold, known from the config before any job runs (docs/contracts.md): the per-row
columns and the sets of each sample, the fields of a set, the built-in features computed from them, and the columns
the preprocess stage carries along. Light enough for the Snakefile (no numpy, no awkward)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rootml.columns import JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS, PARTICLE_COLUMNS

PART = "part"  # the preset set: the particles of a jet
# Built-in per-row features, computed from set `part` when asked for (rootml.features.highlevel).
JET_BUILTINS: tuple[str, ...] = (
    "jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4", "jet_tau21",
    "jet_tau32", "jet_c2_b1", "jet_c2_b2", "jet_d2_b1", "jet_d2_b2", "jet_nparticles", "jet_ptd", "jet_girth",
)
# Built-in per-element features <set>_<suffix> of a set with four-momenta (rootml.features.sets).
SET_BUILTINS: tuple[str, ...] = ("deta", "dphi", "pt", "logpt", "loge", "logptrel", "logerel", "deltaR")
FOUR_MOMENTUM: tuple[str, ...] = ("px", "py", "pz", "energy")
# A set mapping any of these fields is completed to FOUR_MOMENTUM by the ingest stage.
KINEMATIC_FIELDS: tuple[str, ...] = (*FOUR_MOMENTUM, "pt", "eta", "phi", "mass")
DEFAULT_OBSERVERS: tuple[str, ...] = ("jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy")
# Input formats whose rows are jets with set `part` (besides the generated samples).
JET_FORMATS: tuple[str, ...] = ("hls4ml", "toptagging")
# Sources of a set whose fields only the input file tells (Delphes references, podio relations, event collections).
OPEN_SOURCES: tuple[str, ...] = ("refs", "relation", "collection")


def _jet_preset(sample: Mapping[str, Any]) -> bool:
    """Whether the sample's rows are JetClass-like jets: generated, or an hls4ml or top-tagging file."""
    return "generate" in sample or sample.get("format", "root") in JET_FORMATS


def sample_sets(sample: Mapping[str, Any]) -> list[str]:
    """The sets a sample's rows have: `part` for the jet presets, else the names under its `sets`."""
    return [PART] if _jet_preset(sample) else list(sample.get("sets") or {})


def _has_jet_kinematics(sample: Mapping[str, Any]) -> bool:
    """Whether the ingested rows have the canonical jet columns: jets, collection elements, or rows with set part."""
    return _jet_preset(sample) or "collection" in sample or PART in sample_sets(sample)


def sample_columns(sample: Mapping[str, Any], certain: bool = False) -> set[str]:
    """The per-row scalar columns of a sample (built-ins included); `certain` leaves out the substructure columns
    that a collection's rows have only when the input file does."""
    prefixes = tuple(f"{name}_" for name in sample_sets(sample))
    columns = {name for name in sample.get("branches") or {} if not name.startswith(prefixes)}
    if _has_jet_kinematics(sample):
        columns.update(JET_COLUMNS)
        if "generate" in sample or not certain:
            columns.update(JET_SUBSTRUCTURE_COLUMNS)
    if PART in sample_sets(sample):
        columns.update(JET_BUILTINS)
    return columns


def row_columns(config: Mapping[str, Any], certain: bool = False) -> list[str]:
    """The per-row columns every sample has (sample_columns), canonical and built-in names first."""
    common = set.intersection(*(sample_columns(s, certain) for s in config["samples"].values()))
    known = [*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS, *JET_BUILTINS]
    return [*(name for name in dict.fromkeys(known) if name in common), *sorted(common - set(known))]


def samples_without(config: Mapping[str, Any], column: str) -> list[str]:
    """The samples whose rows lack a per-row column."""
    return [name for name, sample in config["samples"].items() if column not in sample_columns(sample)]


def set_fields(sample: Mapping[str, Any], name: str) -> frozenset[str] | None:
    """The list columns <name>_<field> of a sample's set (four-momentum completion included), or None when only
    the input files tell (an hls4ml or top-tagging file, a Delphes, podio or per-event collection source)."""
    if "generate" in sample:
        return frozenset(PARTICLE_COLUMNS)
    if _jet_preset(sample):
        return None
    spec = sample["sets"][name] or {}
    if any(key in spec for key in OPEN_SOURCES):
        return None
    fields = {key if key.startswith(f"{name}_") else f"{name}_{key}" for key in spec.get("branches") or {}}
    if any(f"{name}_{field}" in fields for field in KINEMATIC_FIELDS):
        fields.update(f"{name}_{field}" for field in FOUR_MOMENTUM)
    if name == PART:
        fields.update(PARTICLE_COLUMNS)  # part keeps its completion (deta, dphi, charge, pid, flags)
    return frozenset(fields)


def set_feature_names(config: Mapping[str, Any], name: str) -> tuple[list[str], bool]:
    """(the per-element features of set `name` every sample has: built-ins when all have four-momenta, then the
    raw fields; whether some sample may have more fields than its config tells)."""
    per_sample = [set_fields(sample, name) for sample in config["samples"].values()]
    known = [fields for fields in per_sample if fields is not None]
    raw = set.intersection(*map(set, known)) if known else set()
    open_fields = len(known) < len(per_sample)
    momenta = all(f"{name}_{field}" in fields for fields in known for field in FOUR_MOMENTUM)
    builtins = [f"{name}_{suffix}" for suffix in SET_BUILTINS] if momenta else []
    return [*builtins, *sorted(raw - set(builtins))], open_fields


def observer_columns(config: Mapping[str, Any]) -> list[str]:
    """features.observers, or (null) those of DEFAULT_OBSERVERS every sample surely has."""
    observers = config["features"]["observers"]
    if observers is not None:
        return list(observers)
    certain = row_columns(config, certain=True)
    return [name for name in DEFAULT_OBSERVERS if name in certain]


def reweighting_variables(config: Mapping[str, Any]) -> list[str]:
    """The columns the reweighting bins in: preprocess.reweighting.variables, none with method none."""
    settings = config["preprocess"]["reweighting"]
    return [] if settings["method"] == "none" else list(settings["variables"])


def carried_columns(config: Mapping[str, Any]) -> list[str]:
    """Raw per-row columns a preprocessed chunk carries: the observers, then the reweighting variables not among
    them."""
    observers = observer_columns(config)
    return [*observers, *(name for name in reweighting_variables(config) if name not in observers)]


def image_source(images: Mapping[str, Any], sets: Mapping[str, Any]) -> dict[str, Any] | None:
    """The set the images are made of, its features on the two axes, the one summed per pixel, and the one that
    splits the charged and neutral channels (None without them); None when there are no images (represent.images.set
    null and no set `part` among `sets`)."""
    name = images["set"] if images["set"] is not None else PART if PART in sets else None
    if name is None:
        return None
    return {"set": name, "coordinates": list(images["coordinates"] or [f"{name}_deta", f"{name}_dphi"]),
            "weight": images["weight"] or f"{name}_pt",
            "charge": f"{name}_charge" if set(images["channels"]) - {"total"} else None}
