"""What to read from one sample's files, built from its config block (checked, with key paths in errors)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rootml.errors import ConfigError
from rootml.ingest.expressions import BRANCH_NAME, Expression
from rootml.settings import resolve_block

CONSTITUENT_KEYS: frozenset[str] = frozenset({"branches", "jet_index", "candidate_index", "refs", "collections"})
DEFAULT_ROOT_STEP = "20 MB"
DEFAULT_HDF5_STEP = 20_000
_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*[kMG]?B\s*$")


@dataclass(frozen=True)
class RefCollection:
    """A Delphes collection that `Jet.Constituents` references point into, with leaf overrides."""

    name: str
    fields: Mapping[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class ConstituentSpec:
    """How each jet's constituents are found: per-row jagged branches, an index link table or Delphes refs."""

    branches: Mapping[str, Expression] = field(default_factory=dict)
    jet_index: str | None = None
    candidate_index: str | None = None
    refs: str | None = None
    collections: tuple[RefCollection, ...] = ()

    @property
    def kind(self) -> str:
        """'link' (index table), 'refs' (Delphes TRefArray) or 'jagged' (branches already per jet)."""
        if self.jet_index is not None:
            return "link"
        return "refs" if self.refs is not None else "jagged"


@dataclass(frozen=True)
class SampleSpec:
    """One sample's ingestion settings; see `from_config` for the config keys."""

    name: str
    format: str
    tree: str
    step_size: int | str
    collection: str | None = None
    branches: Mapping[str, Expression] = field(default_factory=dict)
    constituents: ConstituentSpec | None = None
    selection: Expression | None = None
    weight: Expression | None = None
    label: int | None = None
    labels: Mapping[int, Expression] = field(default_factory=dict)
    event_id: Expression | None = None

    @classmethod
    def from_config(cls, name: str, cfg: Mapping[str, Any], classes: Sequence[str]) -> SampleSpec:
        """Build the spec of sample `name` from its config block (checked against the schema, its defaults filled in);
        ConfigError names the bad key."""
        key = f"samples.{name}"
        cfg = resolve_block("$defs/sample", cfg, key)
        fmt = cfg["format"]
        label, labels = _labels(key, cfg, classes)
        return cls(
            name=name,
            format=fmt,
            tree=_string(f"{key}.tree", cfg["tree"]),
            collection=None if cfg.get("collection") is None else _string(f"{key}.collection", cfg["collection"]),
            branches=_source_map(f"{key}.branches", cfg.get("branches", {})),
            constituents=(
                None if cfg.get("constituents") is None else _constituents(f"{key}.constituents", cfg["constituents"])
            ),
            selection=_optional_expression(cfg, "selection", key),
            weight=_optional_expression(cfg, "weight", key),
            label=label,
            labels=labels,
            event_id=_optional_expression(cfg, "event_id", key),
            step_size=_step_size(f"{key}.step_size", cfg.get("step_size"), fmt),
        )


def _string(key: str, value: object) -> str:
    """`value` if it is a non-empty string, else ConfigError."""
    if not isinstance(value, str) or not value:
        raise ConfigError(key, f"expected a non-empty string, got {value!r}")
    return value


def _branch(key: str, value: object) -> str:
    """`value` if it is a plain branch name: keys that name a branch take no expression."""
    name = _string(key, value)
    if not BRANCH_NAME.fullmatch(name):
        raise ConfigError(key, f"expected a branch name, got {name!r} (this key takes no expression)")
    return name


def _source_map(key: str, value: object) -> dict[str, Expression]:
    """A mapping of output names to plain branch names or safe expressions over branches, parsed."""
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a mapping of column name -> branch or expression, got {value!r}")
    sources = {}
    for out, source in value.items():
        if not isinstance(out, str) or not out.isidentifier():
            raise ConfigError(f"{key}.{out}", "output column names must be identifiers")
        sources[out] = Expression.parse_source(_string(f"{key}.{out}", source), f"{key}.{out}")
        if not sources[out].names:
            raise ConfigError(f"{key}.{out}", f"expression {source!r} reads no branch: a column needs one")
    return sources


def _optional_expression(cfg: Mapping[str, Any], name: str, key: str) -> Expression | None:
    """The parsed expression under `name`, or None when absent."""
    return None if cfg.get(name) is None else Expression.parse(cfg[name], f"{key}.{name}")


def _labels(key: str, cfg: Mapping[str, Any], classes: Sequence[str]) -> tuple[int | None, dict[int, Expression]]:
    """The constant class index (`label`) or the class index -> expression map (`labels`)."""
    if ("label" in cfg) == ("labels" in cfg):
        raise ConfigError(key, "give exactly one of 'label' (one class) or 'labels' (class -> expression)")
    if "label" in cfg:
        if cfg["label"] not in classes:
            raise ConfigError(f"{key}.label", f"class {cfg['label']!r} is not one of classes {list(classes)}")
        return list(classes).index(cfg["label"]), {}
    if not isinstance(cfg["labels"], Mapping) or not cfg["labels"]:
        raise ConfigError(f"{key}.labels", "expected a non-empty mapping of class -> boolean expression")
    labels = {}
    for cls, text in cfg["labels"].items():
        if cls not in classes:
            raise ConfigError(f"{key}.labels.{cls}", f"class {cls!r} is not one of classes {list(classes)}")
        labels[list(classes).index(cls)] = Expression.parse(text, f"{key}.labels.{cls}")
    return None, labels


def _constituents(key: str, cfg: object) -> ConstituentSpec:
    """Parse the `constituents` block: `branches` alone, `jet_index`+`candidate_index`, or `refs`+`collections`."""
    if not isinstance(cfg, Mapping):
        raise ConfigError(key, f"expected a mapping, got {cfg!r}")
    unknown = sorted(set(cfg) - CONSTITUENT_KEYS)
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown key; expected one of {sorted(CONSTITUENT_KEYS)}")
    branches = _source_map(f"{key}.branches", cfg.get("branches", {}))
    if ("jet_index" in cfg) != ("candidate_index" in cfg):
        raise ConfigError(key, "an index link table needs both 'jet_index' and 'candidate_index'")
    if "jet_index" in cfg and "refs" in cfg:
        raise ConfigError(key, "give either an index link table (jet_index, candidate_index) or 'refs', not both")
    if ("refs" in cfg) != ("collections" in cfg):
        raise ConfigError(key, "Delphes references need both 'refs' and 'collections'")
    if "refs" in cfg:
        if branches:
            raise ConfigError(f"{key}.branches", "with 'refs', set leaves per collection under 'collections'")
        return ConstituentSpec(refs=_branch(f"{key}.refs", cfg["refs"]),
                               collections=_collections(f"{key}.collections", cfg["collections"]))
    if "jet_index" in cfg:
        if not branches:
            raise ConfigError(f"{key}.branches", "map the candidates' branches (e.g. part_pt: PFCands_pt)")
        return ConstituentSpec(
            branches=branches,
            jet_index=_branch(f"{key}.jet_index", cfg["jet_index"]),
            candidate_index=_branch(f"{key}.candidate_index", cfg["candidate_index"]),
        )
    if not branches:
        raise ConfigError(key, "give 'branches', an index link table (jet_index, candidate_index) or 'refs'")
    return ConstituentSpec(branches=branches)


def _collections(key: str, cfg: object) -> tuple[RefCollection, ...]:
    """Delphes collections: a list of names, or a mapping name -> {part_* field: leaf name or constant}."""
    if isinstance(cfg, Sequence) and not isinstance(cfg, str) and cfg:
        return tuple(RefCollection(_branch(key, name)) for name in cfg)
    if isinstance(cfg, Mapping) and cfg:
        collections = []
        for name, fields in cfg.items():
            fields = fields or {}
            if not isinstance(fields, Mapping) or not all(_leaf_or_number(v) for v in fields.values()):
                raise ConfigError(
                    f"{key}.{name}", f"expected a mapping part_* field -> leaf name or number, got {fields!r}"
                )
            collections.append(RefCollection(_branch(f"{key}.{name}", name), dict(fields)))
        return tuple(collections)
    raise ConfigError(key, f"expected a non-empty list of collection names or a mapping, got {cfg!r}")


def _leaf_or_number(value: object) -> bool:
    """Whether a Delphes collection override is a leaf (branch) name or a constant number."""
    if isinstance(value, str):
        return BRANCH_NAME.fullmatch(value) is not None
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _step_size(key: str, value: object, fmt: str) -> int | str:
    """Entries per step (int) or, for ROOT, a memory size such as '100 MB'."""
    if value is None:
        return DEFAULT_ROOT_STEP if fmt == "root" else DEFAULT_HDF5_STEP
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if fmt == "root" and isinstance(value, str) and _MEMORY_SIZE.match(value):
        return value
    expected = "a positive integer or a memory size such as '100 MB'" if fmt == "root" else "a positive number of jets"
    raise ConfigError(key, f"expected {expected}, got {value!r}")
