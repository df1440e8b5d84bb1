"""Sets of each row gathered from per-event collections: an index link table (PFNano), Delphes TRefArray references
or a podio one-to-many relation (EDM4hep).

Each resolves to one flat gather over the whole step (global row and element indices built from per-event offsets),
then `ak.unflatten` by the per-row counts: no Python loop over events or rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import awkward as ak
import numpy as np
import vector

from rootml.errors import InputError

# Delphes' fUniqueID: the object number in the low 24 bits, the index of the writing process in the high 8.
OBJECT_NUMBER_MASK = 0xFFFFFF
# The index NanoAOD link tables hold for "no element" (e.g. a secondary vertex outside the SV collection).
NO_INDEX = -1
# What Delphes refs give of each element: its four-momentum, PDG id and charge.
REF_OUTPUT: tuple[str, ...] = ("px", "py", "pz", "energy", "pid", "charge")


@dataclass(frozen=True)
class Relation:
    """The branches of a podio one-to-many relation and the ID of the collection it must point into."""

    begin: str
    end: str
    index: str
    collection_id: str | None
    target: str
    target_id: int


def offsets(counts: np.ndarray) -> np.ndarray:
    """Start of each block of `counts` in the flattened arrays."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def per_event_counts(values: Mapping[str, ak.Array], sources: Mapping[str, str], file: str) -> np.ndarray:
    """Elements per event of a collection's fields, which must agree (InputError naming the branch otherwise)."""
    names = list(values)
    counts = np.asarray(ak.num(values[names[0]], axis=1))
    for name in names[1:]:
        if not np.array_equal(np.asarray(ak.num(values[name], axis=1)), counts):
            raise InputError(f"has other per-event lengths than '{sources[names[0]]}'", file=file,
                             branch=sources[name])
    return counts


def _take(values: ak.Array, index: np.ndarray, counts: np.ndarray) -> ak.Array:
    """Per-row lists: the flattened per-event `values` taken at the global `index`, `counts` per row."""
    return ak.unflatten(np.asarray(ak.flatten(values, axis=1))[index], counts)


def link_rows(
    row_counts: np.ndarray, row_index: ak.Array, element_index: ak.Array, values: Mapping[str, ak.Array],
    per_link: frozenset[str], *, file: str, sources: Mapping[str, str], link: tuple[str, str],
) -> dict[str, ak.Array]:
    """Per-row lists from a link table (row index and element index of each link, per event).

    `values` are per-element columns (gathered through the element index) or, for names in `per_link`,
    per-link columns (such as JetPFCands_pt); elements keep the table's order, and a link with index
    NO_INDEX (-1: none) is left out. `link` names the two index branches, `sources` the branch of each value.
    """
    link_counts = np.asarray(ak.num(row_index, axis=1))
    rows = np.asarray(ak.flatten(row_index, axis=1), dtype=np.int64)
    elements = np.asarray(ak.flatten(element_index, axis=1), dtype=np.int64)
    links = np.flatnonzero((rows != NO_INDEX) & (elements != NO_INDEX))
    event = np.repeat(np.arange(len(link_counts)), link_counts)[links]
    rows, elements = rows[links], elements[links]
    bad = (rows < 0) | (rows >= row_counts[event])
    if bad.any():
        raise InputError(f"jet index {rows[bad][0]} out of range in event {event[bad][0]} of the step", file=file,
                         branch=link[0])
    element_names = [name for name in values if name not in per_link]
    if element_names:
        element_counts = per_event_counts({n: values[n] for n in element_names}, sources, file)
        bad = (elements < 0) | (elements >= element_counts[event])
        if bad.any():
            raise InputError(f"candidate index {elements[bad][0]} out of range in event {event[bad][0]} of the step",
                             file=file, branch=link[1])
        elements = elements + offsets(element_counts)[event]
    for name in per_link:
        if not np.array_equal(np.asarray(ak.num(values[name], axis=1)), link_counts):
            raise InputError("is not aligned with the link table", file=file, branch=sources[name])
    global_row = rows + offsets(row_counts)[event]
    order = np.argsort(global_row, kind="stable")
    per_row = np.bincount(global_row, minlength=int(row_counts.sum()))
    gather = {name: links[order] if name in per_link else elements[order] for name in values}
    return {name: _take(v, gather[name], per_row) for name, v in values.items()}


def relation_rows(
    row_counts: np.ndarray, relation: Relation, arrays: Mapping[str, ak.Array], values: Mapping[str, ak.Array], *,
    file: str, sources: Mapping[str, str],
) -> dict[str, ak.Array]:
    """Per-row lists through a podio one-to-many relation: row r of an event owns the relation entries
    [begin, end) of the event, each an index into the target collection, whose podio ID its collectionID must be
    when the file records it. `arrays` holds the relation's branches, `values` the target's fields."""
    begin, end, index = (arrays[name] for name in (relation.begin, relation.end, relation.index))
    if not np.array_equal(np.asarray(ak.num(begin, axis=1)), row_counts):
        raise InputError("has other per-event lengths than the rows", file=file, branch=relation.begin)
    link_counts = np.asarray(ak.num(index, axis=1))
    event = np.repeat(np.arange(len(row_counts)), row_counts)
    first = np.asarray(ak.flatten(begin, axis=1), dtype=np.int64)
    stop = np.asarray(ak.flatten(end, axis=1), dtype=np.int64)
    bad = (first < 0) | (stop < first) | (stop > link_counts[event])
    if bad.any():
        raise InputError(f"range [{first[bad][0]}, {stop[bad][0]}) beyond the {link_counts[event[bad][0]]} entries "
                         f"of the relation in event {event[bad][0]} of the step", file=file, branch=relation.end)
    counts = stop - first
    position = np.repeat(first + offsets(link_counts)[event] - offsets(counts), counts) + np.arange(counts.sum())
    link_event = np.repeat(event, counts)
    if relation.collection_id is not None:
        ids = np.asarray(ak.flatten(arrays[relation.collection_id], axis=1))[position]
        bad = ids != relation.target_id
        if bad.any():
            raise InputError(f"points into collection ID {ids[bad][0]}, not {relation.target_id} of collection "
                             f"'{relation.target}' (event {link_event[bad][0]} of the step)", file=file,
                             branch=relation.collection_id)
    elements = np.asarray(ak.flatten(index, axis=1), dtype=np.int64)[position]
    element_counts = per_event_counts(values, sources, file)
    bad = (elements < 0) | (elements >= element_counts[link_event])
    if bad.any():
        raise InputError(f"index {elements[bad][0]} out of range of the {element_counts[link_event[bad][0]]} "
                         f"elements of collection '{relation.target}' in event {link_event[bad][0]} of the step",
                         file=file, branch=relation.index)
    elements = elements + offsets(element_counts)[link_event]
    return {name: _take(v, elements, counts) for name, v in values.items()}


def _pool(uid: ak.Array, fields: Mapping[str, ak.Array | float]) -> dict[str, np.ndarray]:
    """One collection's flat object numbers, four-momentum, pid and charge (massless without mass or energy)."""
    flat_uid = np.asarray(ak.flatten(uid, axis=1), dtype=np.int64) & OBJECT_NUMBER_MASK

    def flat(name: str) -> np.ndarray:
        """Flat values of a field, or its constant repeated (0 when the collection lacks it)."""
        value = fields.get(name, 0.0)
        if isinstance(value, ak.Array):
            return np.asarray(ak.flatten(value, axis=1), dtype=np.float64)
        return np.full(len(flat_uid), float(value))

    fourth = ("E", flat("energy")) if "energy" in fields else ("mass", flat("mass"))
    p4 = vector.array({"pt": flat("pt"), "eta": flat("eta"), "phi": flat("phi"), fourth[0]: fourth[1]})
    return {
        "uid": flat_uid, "px": p4.px, "py": p4.py, "pz": p4.pz, "energy": p4.E, "pid": flat("pid"),
        "charge": flat("charge"),
    }


def resolve_refs(
    refs: ak.Array, pools: Sequence[tuple[ak.Array, Mapping[str, ak.Array | float]]], *, file: str, branch: str,
) -> dict[str, ak.Array]:
    """Per-row lists from Delphes refs (events x rows x TRefArray) into the pooled collections, matched on the
    object number (low 24 bits of each fUniqueID: the high 8 bits are the index of the writing process)."""
    if "refs" not in ak.fields(refs):
        raise InputError("is not a TRefArray (Delphes references)", file=file, branch=branch)
    refs = refs["refs"]
    n_events = len(refs)
    flats = [_pool(uid, fields) for uid, fields in pools]
    events = [np.repeat(np.arange(n_events), np.asarray(ak.num(uid, axis=1))) for uid, _ in pools]
    # object numbers are unique within an event: (event, number) packed into one int64 key for a sorted search
    keys = np.concatenate([(event << 32) | flat["uid"] for event, flat in zip(events, flats)])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    per_row = np.asarray(ak.flatten(ak.num(refs, axis=2), axis=1))
    ref_event = np.repeat(np.repeat(np.arange(n_events), np.asarray(ak.num(refs, axis=1))), per_row)
    number = np.asarray(ak.flatten(refs, axis=None), dtype=np.int64) & OBJECT_NUMBER_MASK
    wanted = (ref_event.astype(np.int64) << 32) | number
    position = np.minimum(np.searchsorted(sorted_keys, wanted), max(len(sorted_keys) - 1, 0))
    found = sorted_keys[position] == wanted if len(sorted_keys) else np.zeros(len(wanted), dtype=bool)
    if not found.all():
        missing = wanted[~found][0]
        raise InputError(
            f"reference to object number {missing & OBJECT_NUMBER_MASK} in event {missing >> 32} of the step is in "
            "none of the configured collections", file=file, branch=branch,
        )
    index = order[position]
    return {
        name: ak.unflatten(np.concatenate([flat[name] for flat in flats])[index].astype(
            np.int32 if name == "pid" else np.float32), per_row)
        for name in REF_OUTPUT
    }
