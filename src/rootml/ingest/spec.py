"""What to read from one sample's files, built from its config block (checked, with key paths in errors)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rootml.errors import ConfigError
from rootml.ingest.expressions import BRANCH_NAME, Expression
from rootml.settings import resolve_block

SET_SOURCES: dict[str, tuple[str, ...]] = {
    "link": ("jet_index", "candidate_index"), "refs": ("refs", "collections"), "relation": ("relation", "collections"),
    "collection": ("collection",),
}
RESERVED_SET_NAMES: frozenset[str] = frozenset({"jet"})
DEFAULT_ROOT_STEP = "20 MB"
DEFAULT_HDF5_STEP = 20_000
_MEMORY_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*[kMG]?B\s*$")
# The keys that choose a set's source (a link table by either of its two keys).
_SOURCE_OF_KEY: dict[str, str] = {
    "jet_index": "link", "candidate_index": "link", "refs": "refs", "relation": "relation", "collection": "collection",
}
_RELATION = re.compile(r"^([A-Za-z_]\w*)\.([A-Za-z_]\w*)$")


@dataclass(frozen=True)
class RefCollection:
    """A collection that references point into (Delphes refs, a podio relation), with field -> leaf overrides."""

    name: str
    fields: Mapping[str, str | float] = field(default_factory=dict)


@dataclass(frozen=True)
class SetSpec:
    """One set of each row (`samples.<s>.sets.<name>`): its fields and the source that makes them lists per row.

    `kind` is 'jagged' (the branches are already one list per row), 'link' (an index link table),
    'refs' (Delphes TRefArray), 'relation' (a podio one-to-many relation) or 'collection' (an event's own
    per-event collection, for event rows).
    """

    name: str
    key: str
    kind: str
    branches: Mapping[str, Expression] = field(default_factory=dict)
    jet_index: str | None = None
    candidate_index: str | None = None
    refs: str | None = None
    relation: tuple[str, str] | None = None
    collection: str | None = None
    collections: tuple[RefCollection, ...] = ()


@dataclass(frozen=True)
class SampleSpec:
    """One sample's ingestion settings; see `from_config` for the config keys."""

    name: str
    format: str
    tree: str
    step_size: int | str
    collection: str | None = None
    branches: Mapping[str, Expression] = field(default_factory=dict)
    sets: Mapping[str, SetSpec] = field(default_factory=dict)
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
        if "constituents" in cfg:
            raise ConfigError(f"{key}.constituents", "replaced by 'sets: {part: ...}', its fields named without the "
                                                     "part_ prefix (e.g. branches: {pt: PFCands_pt})")
        cfg = resolve_block("$defs/sample", cfg, key)
        fmt = cfg["format"]
        label, labels = _labels(key, cfg, classes)
        collection = None if cfg.get("collection") is None else _string(f"{key}.collection", cfg["collection"])
        sets = {s: _set(key, s, value, collection) for s, value in cfg.get("sets", {}).items()}
        branches = _source_map(f"{key}.branches", cfg.get("branches", {}))
        _check_column_names(f"{key}.branches", branches, sets)
        return cls(
            name=name,
            format=fmt,
            tree=_string(f"{key}.tree", cfg["tree"]),
            collection=collection,
            branches=branches,
            sets=sets,
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


def _set(sample_key: str, name: str, cfg: object, rows: str | None) -> SetSpec:
    """Parse set `name` of a sample with rows `rows` (a collection, None for events): `branches` alone, or with one
    source (link table, refs, relation or per-event collection)."""
    key = f"{sample_key}.sets.{name}"
    if name in RESERVED_SET_NAMES or not name.isidentifier():
        raise ConfigError(key, f"a set name must be an identifier other than {sorted(RESERVED_SET_NAMES)} "
                               "(its columns are <set>_<field>)")
    if not isinstance(cfg, Mapping):
        raise ConfigError(key, f"expected a mapping, got {cfg!r}")
    kinds = sorted({_SOURCE_OF_KEY[k] for k in cfg if k in _SOURCE_OF_KEY})
    if len(kinds) > 1:
        raise ConfigError(key, f"give one source, not {' and '.join(SET_SOURCES[k][0] for k in kinds)}")
    kind = kinds[0] if kinds else "jagged"
    wanted = SET_SOURCES.get(kind, ())
    missing = [k for k in wanted if k not in cfg]
    if missing:
        raise ConfigError(key, f"a {kind} set needs {' and '.join(wanted)} (missing {' and '.join(missing)})")
    extra = sorted(set(cfg) - {"branches", *wanted})
    if extra:
        raise ConfigError(f"{key}.{extra[0]}", f"not a key of a {kind} set (it takes {['branches', *wanted]})")
    branches = _source_map(f"{key}.branches", cfg.get("branches", {}))
    if kind == "refs" and branches:
        raise ConfigError(f"{key}.branches", "with 'refs', set leaves per collection under 'collections'")
    if kind in ("jagged", "link") and not branches:
        raise ConfigError(f"{key}.branches", "map the set's fields to branches (e.g. pt: PFCands_pt)")
    if kind == "collection" and rows is not None:
        raise ConfigError(f"{key}.collection", f"an event's own collection is a set of event rows, but the rows are "
                                               f"the elements of collection '{rows}'")
    if kind in ("link", "refs", "relation") and rows is None:
        raise ConfigError(f"{sample_key}.collection",
                          f"set '{name}' through {SET_SOURCES[kind][0]} needs rows of a 'collection' (e.g. Jet)")
    spec = SetSpec(name=name, key=key, kind=kind, branches=branches)
    if kind == "link":
        return replace(spec, jet_index=_branch(f"{key}.jet_index", cfg["jet_index"]),
                       candidate_index=_branch(f"{key}.candidate_index", cfg["candidate_index"]))
    if kind == "refs":
        return replace(spec, refs=_branch(f"{key}.refs", cfg["refs"]),
                       collections=_collections(f"{key}.collections", cfg["collections"]))
    if kind == "relation":
        collections = _collections(f"{key}.collections", cfg["collections"], single=True)
        number = next((f for f, v in collections[0].fields.items() if not isinstance(v, str)), None)
        if number is not None:
            raise ConfigError(f"{key}.collections.{collections[0].name}.{number}",
                              "a relation's fields are leaves of its collection, not numbers")
        return replace(spec, relation=_relation(f"{key}.relation", cfg["relation"], rows), collections=collections)
    if kind == "collection":
        return replace(spec, collection=_branch(f"{key}.collection", cfg["collection"]))
    return spec


def _relation(key: str, value: object, rows: str | None) -> tuple[str, str]:
    """`<collection>.<relation>` of the row collection, split."""
    match = _RELATION.fullmatch(_string(key, value))
    if match is None:
        raise ConfigError(key, f"expected <collection>.<relation> (e.g. Jet.particles), got {value!r}")
    if match.group(1) != rows:
        raise ConfigError(key, f"a relation of collection '{match.group(1)}', but the rows are collection '{rows}'")
    return match.group(1), match.group(2)


def _check_column_names(key: str, branches: Mapping[str, Expression], sets: Mapping[str, SetSpec]) -> None:
    """A mapped column may not take the name of a set's column (<set>_<field>)."""
    for name in branches:
        owner = next((s for s in sets.values() if name in {f"{s.name}_{f}" for f in s.branches}), None)
        if owner is not None:
            raise ConfigError(f"{key}.{name}", f"is also a column of set '{owner.name}' ({owner.key}.branches)")


def _collections(key: str, cfg: object, *, single: bool = False) -> tuple[RefCollection, ...]:
    """Target collections: a list of names, or a mapping name -> {field: leaf name or constant}; `single`: one."""
    collections = []
    if isinstance(cfg, Sequence) and not isinstance(cfg, str) and cfg:
        collections = [RefCollection(_branch(key, name)) for name in cfg]
    elif isinstance(cfg, Mapping) and cfg:
        for name, fields in cfg.items():
            fields = fields or {}
            if not isinstance(fields, Mapping) or not all(_leaf_or_number(v) for v in fields.values()):
                raise ConfigError(f"{key}.{name}", f"expected a mapping field -> leaf name or number, got {fields!r}")
            collections.append(RefCollection(_branch(f"{key}.{name}", name), dict(fields)))
    else:
        raise ConfigError(key, f"expected a non-empty list of collection names or a mapping, got {cfg!r}")
    if single and len(collections) != 1:
        raise ConfigError(key, f"a relation points into one collection, got {[c.name for c in collections]}")
    return tuple(collections)


def _leaf_or_number(value: object) -> bool:
    """Whether a collection's field override is a leaf (branch) name or a constant number."""
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
