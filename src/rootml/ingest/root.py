"""Read a TTree in bounded steps with uproot into per-jet rows (collections flattened, constituents linked)."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot

from rootml.columns import BOOKKEEPING_COLUMNS, JET_COLUMNS, PARTICLE_COLUMNS
from rootml.errors import ConfigError, InputError, did_you_mean
from rootml.ingest.canonical import CANONICAL_NAMES, JET_INPUTS, PARTICLE_INPUTS
from rootml.ingest.expressions import Expression
from rootml.ingest.links import delphes_fields, link_constituents, resolve_refs
from rootml.ingest.rows import RowBatch, as_rows
from rootml.ingest.spec import SampleSpec

# Branch suffixes of a jet collection, by naming convention: NanoAOD (FatJet_pt), the CMS HEP tutorial
# ntuples (Jet_Px) and Delphes (Jet/Jet.PT); used for canonical columns the config does not map.
COLLECTION_SUFFIXES: dict[str, tuple[str, ...]] = {
    "jet_pt": ("pt", "PT", "Pt"), "jet_eta": ("eta", "Eta"), "jet_phi": ("phi", "Phi"), "jet_mass": ("mass", "Mass"),
    "jet_energy": ("energy", "E"), "jet_px": ("px", "Px"), "jet_py": ("py", "Py"), "jet_pz": ("pz", "Pz"),
    "jet_nparticles": ("nConstituents",), "jet_sdmass": ("msoftdrop",),
    "jet_tau1": ("tau1",), "jet_tau2": ("tau2",), "jet_tau3": ("tau3",), "jet_tau4": ("tau4",),
}
# Columns that exist after completion whether or not they are read, so expressions may use them.
DERIVED_NAMES: frozenset[str] = frozenset({*JET_COLUMNS, *PARTICLE_COLUMNS, *BOOKKEEPING_COLUMNS} - {"event_id"})
# baskets decompress in two threads (zlib/lz4/zstd release the GIL) while the parquet writer
# thread compresses the previous step: the two overlap instead of queueing on one core
_DECOMPRESSION = uproot.ThreadPoolExecutor(max_workers=2)
_READ_ERRORS = (OSError, ValueError, EOFError, zlib.error, uproot.deserialization.DeserializationError)


@dataclass
class ReadPlan:
    """What to read from the tree: per-row columns, link-table or Delphes-ref constituents, and their sources.

    `rows` and `candidates` map output columns to a branch name or the text of a mapped expression
    (parsed in `expressions`, evaluated by rootml on the branches it names); `origin` names the config
    key that needs each branch.
    """

    rows: dict[str, str] = field(default_factory=dict)
    expressions: dict[str, Expression] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    aux: set[str] = field(default_factory=set)
    candidates: dict[str, str] = field(default_factory=dict)
    per_link: frozenset[str] = frozenset()
    link: tuple[str, str] | None = None
    refs: str | None = None
    pools: list[tuple[str, dict[str, str | float]]] = field(default_factory=list)

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
        wanted = [
            *self.rows.values(),
            *self.candidates.values(),
            *(self.link or ()),
            *([self.refs] if self.refs else []),
        ]
        for uid, fields in self.pools:
            wanted += [uid, *(v for v in fields.values() if isinstance(v, str))]
        named = (sorted(self.expressions[w].names) if w in self.expressions else [w] for w in wanted)
        return list(dict.fromkeys(branch for branches in named for branch in branches))


def read_root(path: str | Path, spec: SampleSpec) -> tuple[int, Iterator[RowBatch]]:
    """Open `path`, check the tree and plan the reading (errors before any output); return entries and steps."""
    file = str(path)
    if not Path(path).is_file():
        raise InputError("input file not found", file=file)
    with _reading(file):
        root = uproot.open(path)
    try:
        tree = root[spec.tree]
    except uproot.KeyInFileError:
        raise InputError(_missing_tree(spec.tree, root.keys(cycle=False)), file=file) from None
    except _READ_ERRORS as err:
        raise InputError(f"cannot read the file (corrupt or truncated?): {err}", file=file) from None
    if not isinstance(tree, uproot.TTree):
        kind = getattr(tree, "classname", type(tree).__name__)
        raise InputError(f"'{spec.tree}' is a {kind}, not a TTree (RNTuples are not read)", file=file)
    if tree.num_entries == 0:
        raise InputError(f"TTree '{spec.tree}' has no entries", file=file)
    branches = frozenset(tree.keys(recursive=True, full_paths=True)) | frozenset(
        tree.keys(recursive=True, full_paths=False)
    )
    plan = plan_reading(branches, spec, file)
    return tree.num_entries, _steps(root, tree, plan, spec, file)


def _missing_tree(tree: str, keys: list[str]) -> str:
    """Why `tree` is not in a file with `keys`: nothing readable at all (damaged), or other keys (the nearest)."""
    if not keys:
        return f"the file holds no objects: damaged or truncated, or not a ROOT file with TTree '{tree}'"
    return f"no TTree '{tree}' (the file has {keys}){did_you_mean(tree, keys)}"


def plan_reading(branches: frozenset[str], spec: SampleSpec, file: str) -> ReadPlan:
    """Resolve the config (mapping, collection conventions, constituents, expression names) against the branch names."""
    key = f"samples.{spec.name}"
    plan = ReadPlan()
    for name in sorted(CANONICAL_NAMES):
        if name in branches:
            plan.rows[name] = plan.read(name, f"{key}.branches")
    if spec.collection is not None:
        for name, suffixes in COLLECTION_SUFFIXES.items():
            found = next(
                (
                    b
                    for s in suffixes
                    for b in (f"{spec.collection}_{s}", f"{spec.collection}/{spec.collection}.{s}")
                    if b in branches
                ),
                None,
            )
            if found is not None and name not in spec.branches:
                plan.rows[name] = plan.read(found, f"{key}.collection")
    for name, expression in spec.branches.items():
        plan.rows[name] = plan.map(expression)
    constituents = spec.constituents
    if constituents is not None:
        ckey = f"{key}.constituents"
        if constituents.kind != "jagged" and spec.collection is None:
            raise ConfigError(
                f"{key}.collection", "constituents through a link table or refs need the jet 'collection'"
            )
        target = plan.rows if constituents.kind == "jagged" else plan.candidates
        for name, expression in constituents.branches.items():
            target[name] = plan.map(expression)
        if constituents.kind == "link":
            plan.link = (plan.read(constituents.jet_index, f"{ckey}.jet_index"),
                         plan.read(constituents.candidate_index, f"{ckey}.candidate_index"))
            prefix = constituents.jet_index.rsplit("_", 1)[0] + "_"
            plan.per_link = frozenset(
                n for n, e in constituents.branches.items() if all(b.startswith(prefix) for b in e.names)
            )
        if constituents.kind == "refs":
            plan.refs = plan.read(constituents.refs, f"{ckey}.refs")
            for c in constituents.collections:
                uid, fields = f"{c.name}/{c.name}.fUniqueID", delphes_fields(c, branches.__contains__, file)
                plan.pools.append((uid, fields))
                for branch in (uid, *(v for v in fields.values() if isinstance(v, str))):
                    plan.read(branch, f"{ckey}.collections.{c.name}")
    if plan.link is None and plan.refs is None and not set(plan.rows) & {*JET_INPUTS, *PARTICLE_INPUTS}:
        raise ConfigError(
            f"{key}.branches",
            "no jet columns: the tree has no JetClass-style jet_*/part_* branches; set "
            "'collection' (e.g. FatJet) or map jet_pt/jet_eta/jet_phi/jet_mass (or jet_px/...) to branches",
        )
    expressions = [e for e in (spec.selection, spec.weight, spec.event_id, *spec.labels.values()) if e is not None]
    for expression in expressions:
        for name in sorted(expression.names - set(plan.rows) - DERIVED_NAMES):
            if name not in branches:
                message = f"not found in TTree '{spec.tree}' (used by {expression.key}){did_you_mean(name, branches)}"
                raise InputError(message, file=file, branch=name)
            plan.rows[name] = plan.read(name, expression.key)
            plan.aux.add(name)
    _check_branches(branches, plan, file)
    return plan


def _check_branches(branches: frozenset[str], plan: ReadPlan, file: str) -> None:
    """Every branch to read must exist (uproot gets branch names only, never an expression to evaluate)."""
    for branch in plan.sources():
        if branch not in branches:
            raise InputError(f"branch not found (needed by {plan.origin[branch]}){did_you_mean(branch, branches)}",
                             file=file, branch=branch)


def _steps(root: Any, tree: Any, plan: ReadPlan, spec: SampleSpec, file: str) -> Iterator[RowBatch]:
    """Yield one RowBatch per uproot step: uproot reads the branches, rootml evaluates the mapped expressions."""
    iterator = tree.iterate(plan.sources(), step_size=spec.step_size, library="ak", how=dict, report=True,
                            decompression_executor=_DECOMPRESSION)
    with root:
        while True:
            with _reading(file):
                step = next(iterator, None)
            if step is None:
                return
            arrays, report = step
            arrays |= {text: expression.evaluate(arrays) for text, expression in plan.expressions.items()}
            start, stop = report.tree_entry_start, report.tree_entry_stop
            yield _rows(arrays, plan, spec, start, stop - start, file)


@contextlib.contextmanager
def _reading(file: str) -> Iterator[None]:
    """Turn uproot's errors while opening or reading into InputError naming the file (and branch)."""
    try:
        yield
    except uproot.KeyInFileError as err:
        raise InputError("branch not found", file=file, branch=str(err.key)) from None
    except _READ_ERRORS as err:
        raise InputError(f"cannot read the file (corrupt or truncated?): {err}", file=file) from None


def _rows(arrays: Mapping[str, ak.Array], plan: ReadPlan, spec: SampleSpec, start: int, n: int, file: str) -> RowBatch:
    """Per-jet rows of one step: flatten the collection, attach linked constituents."""
    sources = {**plan.rows, **plan.candidates}
    columns = {name: arrays[source] for name, source in plan.rows.items()}
    if spec.collection is None:
        for name in (*JET_INPUTS, *JET_COLUMNS):
            if name in columns and columns[name].ndim > 1:
                raise InputError("holds a list per entry: set the sample's 'collection' to flatten it to jets",
                                 file=file, branch=sources[name])
        counts = np.ones(n, dtype=np.int64)
        columns = {name: as_rows(values) for name, values in columns.items()}
    else:
        counts = _collection_counts(columns, plan, spec, file)
        columns = {
            name: _flatten(values, counts, spec.collection, sources[name], file) for name, values in columns.items()
        }
    if plan.link is not None:
        linked = link_constituents(
            counts, arrays[plan.link[0]], arrays[plan.link[1]], {n: arrays[s] for n, s in plan.candidates.items()},
            plan.per_link, file=file, sources={**sources, "jet_index": plan.link[0], "candidate_index": plan.link[1]},
        )
        columns.update(linked)
    if plan.refs is not None:
        pools = [
            (arrays[uid], {k: arrays[v] if isinstance(v, str) else v for k, v in fields.items()})
            for uid, fields in plan.pools
        ]
        columns.update(resolve_refs(arrays[plan.refs]["refs"], pools, file=file, branch=plan.refs))
        sources |= {name: plan.refs for name in columns if name.startswith("part_") and name not in sources}
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = int(counts.sum())
    return RowBatch(
        columns=columns,
        sources=sources,
        aux=frozenset(plan.aux),
        entry=np.repeat(np.arange(start, start + n, dtype=np.int64), counts),
        jet_index=(np.arange(total) - np.repeat(offsets, counts)).astype(np.int32),
        entries=n,
    )


def _collection_counts(columns: Mapping[str, ak.Array], plan: ReadPlan, spec: SampleSpec, file: str) -> np.ndarray:
    """Jets per event, from the first mapped jet kinematic column (which must be a list per event)."""
    name = next((n for n in (*JET_INPUTS, *JET_COLUMNS) if n in columns), None)
    if name is None:
        raise ConfigError(
            f"samples.{spec.name}.branches",
            f"collection '{spec.collection}' set but no jet column (jet_pt, jet_px, ...) is mapped or found",
        )
    if columns[name].ndim < 2:
        raise InputError(f"is not a list per event, so it cannot be the jets of collection '{spec.collection}'",
                         file=file, branch=plan.rows[name])
    return np.asarray(ak.num(columns[name], axis=1), dtype=np.int64)


def _flatten(values: ak.Array, counts: np.ndarray, collection: str, source: str, file: str) -> Any:
    """One row per jet: per-event values repeated over the jets, per-jet lists flattened."""
    if values.ndim == 1:
        return np.repeat(as_rows(values), counts)
    if not np.array_equal(np.asarray(ak.num(values, axis=1)), counts):
        raise InputError(
            f"has other per-event lengths than the jets of collection '{collection}'", file=file, branch=source
        )
    return as_rows(ak.flatten(values, axis=1))
