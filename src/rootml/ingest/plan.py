"""What to read from a TTree or RNTuple for one sample: the config resolved against the file's branch names."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from rootml.columns import BOOKKEEPING_COLUMNS, JET_COLUMNS, PARTICLE_COLUMNS
from rootml.errors import ConfigError, InputError, did_you_mean
from rootml.ingest.canonical import JET_NAMES, PARTICLE_INPUTS, PARTICLE_SET
from rootml.ingest.expressions import Expression
from rootml.ingest.links import Relation
from rootml.ingest.naming import FIELD_LEAVES, JET_LEAVES, collection_fields, find_leaf, podio_collection_id
from rootml.ingest.spec import SampleSpec, SetSpec

# Columns that exist after completion whether or not they are read, so expressions may use them.
DERIVED_NAMES: frozenset[str] = frozenset({*JET_COLUMNS, *PARTICLE_COLUMNS, *BOOKKEEPING_COLUMNS} - {"event_id"})
# Fields of the elements Delphes refs point into (class Candidate), required ones first.
REF_FIELDS: tuple[str, ...] = ("pt", "eta", "phi", "energy", "mass", "pid", "charge")
# Delphes collections without a PID leaf: the PDG ids CMS particle flow uses for photons and neutral hadrons.
REF_CONSTANTS: dict[str, dict[str, float]] = {
    "EFlowPhoton": {"pid": 22, "charge": 0}, "EFlowNeutralHadron": {"pid": 130, "charge": 0},
}


@dataclass
class SetPlan:
    """How one set is read in a step: field -> value name (a branch, or the text of a mapped expression) and the
    branches of its source (link table, Delphes refs with the collections they point into, podio relation)."""

    spec: SetSpec
    fields: dict[str, str] = field(default_factory=dict)
    link: tuple[str, str] | None = None
    per_link: frozenset[str] = frozenset()
    refs: str | None = None
    pools: list[tuple[str, dict[str, str | float]]] = field(default_factory=list)
    relation: Relation | None = None

    def source(self, field: str) -> str:
        """The branch (or expression) behind a field: its mapped value, else the refs branch it comes through."""
        return self.fields.get(field, self.refs or "")

    def branches(self) -> list[str]:
        """The source's own branches (values of the fields aside)."""
        named = [*(self.link or ()), *([self.refs] if self.refs else [])]
        for uid, fields in self.pools:
            named += [uid, *(v for v in fields.values() if isinstance(v, str))]
        if self.relation is not None:
            r = self.relation
            named += [r.begin, r.end, r.index, *([r.collection_id] if r.collection_id else [])]
        return named


@dataclass
class ReadPlan:
    """What to read: per-row columns, the sets, and for each branch the config key that needs it.

    `rows` and set fields map names to a branch name or the text of a mapped expression (parsed in
    `expressions`, evaluated by rootml on the branches it names); `aux` are columns only expressions use.
    """

    rows: dict[str, str] = field(default_factory=dict)
    sets: dict[str, SetPlan] = field(default_factory=dict)
    expressions: dict[str, Expression] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    aux: set[str] = field(default_factory=set)

    def read(self, branch: str, key: str) -> str:
        """Note that config key `key` needs `branch` (the first key is the one errors name); return the branch."""
        self.origin.setdefault(branch, key)
        return branch

    def map(self, expression: Expression) -> str:
        """Note a mapped branch or expression and the branches it reads; return the name of its values in a step."""
        for branch in sorted(expression.names):
            self.read(branch, expression.key)
        if not expression.is_branch:
            self.expressions[expression.text] = expression
        return expression.text

    def sources(self) -> list[str]:
        """Every branch the plan reads (an expression: the branches it names), once each, in a stable order."""
        wanted = [*self.rows.values()]
        for plan in self.sets.values():
            wanted += [*plan.fields.values(), *plan.branches()]
        named = (sorted(self.expressions[w].names) if w in self.expressions else [w] for w in wanted)
        return list(dict.fromkeys(branch for branches in named for branch in branches))


def plan_reading(branches: frozenset[str], spec: SampleSpec, file: str) -> ReadPlan:
    """Resolve the config (mapping, naming conventions, sets, expression names) against the branch names."""
    key = f"samples.{spec.name}"
    plan = ReadPlan()
    for name in sorted(JET_NAMES):
        if name in branches:
            plan.rows[name] = plan.read(name, f"{key}.branches")
    if spec.collection is not None:
        for name, branch in collection_fields(spec.collection, branches, JET_LEAVES).items():
            if name not in spec.branches:
                plan.rows[name] = plan.read(branch, f"{key}.collection")
    for name, expression in spec.branches.items():
        plan.rows[name] = plan.map(expression)
    for name, set_spec in spec.sets.items():
        plan.sets[name] = _plan_set(plan, set_spec, branches, file)
    jetclass = {n.removeprefix("part_"): n for n in (*PARTICLE_COLUMNS, *PARTICLE_INPUTS) if n in branches}
    if PARTICLE_SET not in plan.sets and jetclass:
        implicit = SetSpec(name=PARTICLE_SET, key=f"{key}.branches", kind="jagged")
        plan.sets[PARTICLE_SET] = SetPlan(implicit, {f: plan.read(b, implicit.key) for f, b in jetclass.items()})
    if not plan.rows and not plan.sets:
        raise ConfigError(
            f"{key}.branches",
            "nothing to read: the tree has no JetClass-style jet_*/part_* branches; set 'collection' (e.g. FatJet) "
            "for a row per element, or map columns under 'branches' (e.g. met: MET_pt) or sets under 'sets'",
        )
    _plan_expression_names(plan, spec, branches, file)
    for branch in plan.sources():
        if branch not in branches:
            raise InputError(f"branch not found (needed by {plan.origin[branch]}){did_you_mean(branch, branches)}",
                             file=file, branch=branch)
    return plan


def _plan_expression_names(plan: ReadPlan, spec: SampleSpec, branches: Collection[str], file: str) -> None:
    """Read the branches that selection, weight, event id and labels name beyond the columns and the sets."""
    derived = {*DERIVED_NAMES, *plan.rows}
    prefixes = tuple(f"{name}_" for name in plan.sets)
    expressions = [e for e in (spec.selection, spec.weight, spec.event_id, *spec.labels.values()) if e is not None]
    for expression in expressions:
        for name in sorted(expression.names - derived):
            if name.startswith(prefixes) and name not in branches:
                continue  # a set's column: a list per row, refused when evaluated
            if name not in branches:
                message = f"not found in '{spec.tree}' (used by {expression.key}){did_you_mean(name, branches)}"
                raise InputError(message, file=file, branch=name)
            plan.rows[name] = plan.read(name, expression.key)
            plan.aux.add(name)


def _plan_set(plan: ReadPlan, spec: SetSpec, branches: Collection[str], file: str) -> SetPlan:
    """The fields and source branches of one configured set."""
    set_plan = SetPlan(spec)
    if spec.kind == "collection":
        set_plan.fields = _collection_fields(plan, spec.collection, {}, branches, f"{spec.key}.collection")
    elif spec.kind == "link":
        set_plan.link = (plan.read(spec.jet_index, f"{spec.key}.jet_index"),
                         plan.read(spec.candidate_index, f"{spec.key}.candidate_index"))
        prefix = spec.jet_index.rsplit("_", 1)[0] + "_"
        set_plan.per_link = frozenset(
            name for name, e in spec.branches.items() if all(b.startswith(prefix) for b in e.names)
        )
    elif spec.kind == "refs":
        set_plan.refs = plan.read(spec.refs, f"{spec.key}.refs")
        for collection in spec.collections:
            uid = f"{collection.name}/{collection.name}.fUniqueID"
            fields = REF_CONSTANTS.get(collection.name, {}) | _collection_fields(
                plan, collection.name, collection.fields, branches, f"{spec.key}.collections",
                {name: FIELD_LEAVES[name] for name in REF_FIELDS},
            )
            missing = [name for name in REF_FIELDS[:3] if name not in fields]
            if missing:
                leaves = "/".join(FIELD_LEAVES[missing[0]])
                raise InputError(f"collection '{collection.name}' has no {leaves} leaf for field {missing[0]}",
                                 file=file, branch=f"{collection.name}/{collection.name}.{leaves}")
            set_plan.pools.append((plan.read(uid, f"{spec.key}.collections.{collection.name}"), fields))
    elif spec.kind == "relation":
        set_plan.relation = _relation(plan, spec, branches)
        target = spec.collections[0]
        set_plan.fields = _collection_fields(plan, target.name, target.fields, branches, f"{spec.key}.collections")
    set_plan.fields.update({name: plan.map(expression) for name, expression in spec.branches.items()})
    if not set_plan.fields and not set_plan.pools:
        collection = spec.collection or spec.collections[0].name
        raise InputError(
            f"no branch of collection '{collection}' found by name ({collection}_pt, {collection}/{collection}.PT, "
            f"...; needed by {spec.key}): map its fields under {spec.key}.branches"
            f"{did_you_mean(f'{collection}_pt', branches)}", file=file,
        )
    return set_plan


def _collection_fields(
    plan: ReadPlan, collection: str, overrides: Mapping[str, str | float], branches: Collection[str], key: str,
    leaves: Mapping[str, tuple[str, ...]] = FIELD_LEAVES,
) -> dict[str, str | float]:
    """Field -> branch (or constant override) of a collection's elements: found by name, then the overrides."""
    fields: dict[str, str | float] = {
        name: plan.read(branch, key) for name, branch in collection_fields(collection, branches, leaves).items()
    }
    for name, value in overrides.items():
        if isinstance(value, str) and "/" not in value:
            value = find_leaf(collection, (value,), branches) or f"{collection}/{collection}.{value}"
        fields[name] = plan.read(value, f"{key}.{collection}.{name}") if isinstance(value, str) else value
    return fields


def _relation(plan: ReadPlan, spec: SetSpec, branches: Collection[str]) -> Relation:
    """The begin/end ranges, ObjectID index and collection ID branches of a podio relation `<collection>.<name>`."""
    owner, name = spec.relation
    link = f"_{owner}_{name}/_{owner}_{name}"
    key = f"{spec.key}.relation"
    collection_id = f"{link}.collectionID"
    return Relation(
        begin=plan.read(f"{owner}/{owner}.{name}_begin", key), end=plan.read(f"{owner}/{owner}.{name}_end", key),
        index=plan.read(f"{link}.index", key),
        collection_id=plan.read(collection_id, key) if collection_id in branches else None,
        target=spec.collections[0].name, target_id=podio_collection_id(spec.collections[0].name),
    )
