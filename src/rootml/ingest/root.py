"""Read a TTree or an RNTuple in bounded steps with uproot into rows (a collection flattened, sets gathered)."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import uproot
from uproot.behaviors.RNTuple import RNTuple

from rootml.columns import JET_COLUMNS
from rootml.errors import ConfigError, InputError, did_you_mean
from rootml.ingest.canonical import JET_INPUTS
from rootml.ingest.links import link_rows, relation_rows, resolve_refs
from rootml.ingest.plan import ReadPlan, SetPlan, plan_reading
from rootml.ingest.rows import RowBatch, as_rows
from rootml.ingest.spec import SampleSpec

# baskets (RNTuple pages) decompress in two threads (zlib/lz4/zstd release the GIL) while the parquet
# writer thread compresses the previous step: the two overlap instead of queueing on one core
_DECOMPRESSION = uproot.ThreadPoolExecutor(max_workers=2)
_READ_ERRORS = (OSError, ValueError, EOFError, zlib.error, uproot.deserialization.DeserializationError)


def read_root(path: str | Path, spec: SampleSpec) -> tuple[int, Iterator[RowBatch]]:
    """Open `path`, check the TTree or RNTuple and plan the reading (errors before any output); return entries and
    steps."""
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
    if not isinstance(tree, uproot.TTree | RNTuple):
        kind = getattr(tree, "classname", type(tree).__name__)
        raise InputError(f"'{spec.tree}' is a {kind}, not a TTree or an RNTuple", file=file)
    if tree.num_entries == 0:
        raise InputError(f"'{spec.tree}' has no entries", file=file)
    plan = plan_reading(branch_names(tree), spec, file)
    return tree.num_entries, _steps(root, tree, plan, spec, file)


def branch_names(tree: Any) -> frozenset[str]:
    """Every branch name of a TTree, full (`Jet/Jet.PT`) and short (`Jet.PT`); every field name of an RNTuple (its
    full paths, `_collection3.FatJet_pt`, are of no use to a config and cost uproot seconds in a wide RNTuple)."""
    spellings = (True, False) if isinstance(tree, uproot.TTree) else (False,)
    return frozenset(name for full in spellings for name in tree.keys(recursive=True, full_paths=full))


def _missing_tree(tree: str, keys: list[str]) -> str:
    """Why `tree` is not in a file with `keys`: nothing readable at all (damaged), or other keys (the nearest)."""
    if not keys:
        return f"the file holds no objects: damaged or truncated, or not a ROOT file with TTree '{tree}'"
    return f"no TTree or RNTuple '{tree}' (the file has {keys}){did_you_mean(tree, keys)}"


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
    """The rows of one step: the collection's elements flattened (or one per event), each set a list per row."""
    sources = dict(plan.rows)
    columns = {name: arrays[source] for name, source in plan.rows.items()}
    if spec.collection is None:
        for name in (*JET_INPUTS, *JET_COLUMNS):
            if name in columns and columns[name].ndim > 1:
                raise InputError(f"holds a list per entry, but {name} is one value per row: set the sample's "
                                 "'collection' for a row per element", file=file, branch=sources[name])
        counts = np.ones(n, dtype=np.int64)
        columns = {name: as_rows(values) for name, values in columns.items()}
    else:
        counts = _collection_counts(columns, plan, spec, file)
        columns = {
            name: _flatten(values, counts, spec.collection, sources[name], file) for name, values in columns.items()
        }
    sets = {}
    for name, set_plan in plan.sets.items():
        sets[name] = _set_rows(arrays, set_plan, counts, spec.collection, file)
        sources |= {f"{name}_{field}": set_plan.source(field) for field in sets[name]}
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    total = int(counts.sum())
    return RowBatch(
        columns=columns,
        sets=sets,
        sources=sources,
        aux=frozenset(plan.aux),
        entry=np.repeat(np.arange(start, start + n, dtype=np.int64), counts),
        jet_index=(np.arange(total) - np.repeat(offsets, counts)).astype(np.int32),
        entries=n,
    )


def _set_rows(
    arrays: Mapping[str, ak.Array], plan: SetPlan, counts: np.ndarray, collection: str | None, file: str,
) -> dict[str, ak.Array]:
    """One set's fields as one list per row, by the set's source."""
    spec = plan.spec
    values = {field: arrays[source] for field, source in plan.fields.items()}
    sources = dict(plan.fields)
    if spec.kind == "jagged":
        if collection is not None:
            values = {f: _flatten(v, counts, collection, sources[f], file) for f, v in values.items()}
        for field, value in values.items():
            _require_lists(value, "row", spec.key, sources[field], file)
        return values
    for field, value in values.items():
        _require_lists(value, "event", spec.key, sources[field], file)
    if spec.kind in ("link", "relation"):
        for branch in plan.branches():
            _require_lists(arrays[branch], "event", spec.key, branch, file)
    if spec.kind == "link":
        return link_rows(counts, arrays[plan.link[0]], arrays[plan.link[1]], values, plan.per_link, file=file,
                         sources=sources, link=plan.link)
    if spec.kind == "relation":
        return relation_rows(counts, plan.relation, arrays, values, file=file, sources=sources)
    if spec.kind == "refs":
        pools = [
            (arrays[uid], {k: arrays[v] if isinstance(v, str) else v for k, v in fields.items()})
            for uid, fields in plan.pools
        ]
        return resolve_refs(arrays[plan.refs], pools, file=file, branch=plan.refs)
    return values


def _require_lists(values: Any, per: str, key: str, branch: str, file: str) -> None:
    """InputError unless `values` hold a list per `per` (row or event): a set field or index that is one value."""
    if not isinstance(values, ak.Array) or values.ndim < 2:
        raise InputError(f"holds one value per {per}, not a list (needed by {key})", file=file, branch=branch)


def _collection_counts(columns: Mapping[str, ak.Array], plan: ReadPlan, spec: SampleSpec, file: str) -> np.ndarray:
    """Rows per event, from the first mapped jet kinematic column (which must be a list per event)."""
    name = next((n for n in (*JET_INPUTS, *JET_COLUMNS) if n in columns), None)
    if name is None:
        raise ConfigError(
            f"samples.{spec.name}.branches",
            f"collection '{spec.collection}' set but no jet column (jet_pt, jet_px, ...) is mapped or found",
        )
    if columns[name].ndim < 2:
        raise InputError(f"is not a list per event, so it cannot be the rows of collection '{spec.collection}'",
                         file=file, branch=plan.rows[name])
    return np.asarray(ak.num(columns[name], axis=1), dtype=np.int64)


def _flatten(values: ak.Array, counts: np.ndarray, collection: str, source: str, file: str) -> Any:
    """One row per element: per-event values repeated over the elements, per-element lists flattened."""
    if values.ndim == 1:
        return np.repeat(as_rows(values), counts)
    if not np.array_equal(np.asarray(ak.num(values, axis=1)), counts):
        raise InputError(
            f"has other per-event lengths than the rows of collection '{collection}'", file=file, branch=source
        )
    return as_rows(ak.flatten(values, axis=1))
