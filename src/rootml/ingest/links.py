"""Constituents of each jet found through an index link table (PFNano) or Delphes TRefArray references.

Both resolve to one flat gather over the whole step (global jet and candidate indices built from
per-event offsets), then `ak.unflatten` by the per-jet counts: no Python loop over events or jets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import awkward as ak
import numpy as np
import vector

from rootml.errors import InputError
from rootml.ingest.spec import RefCollection

# Leaves tried, in order, for each constituent field of a Delphes collection (class Candidate's streamers).
DELPHES_LEAVES: dict[str, tuple[str, ...]] = {
    "part_pt": ("PT", "ET"), "part_eta": ("Eta",), "part_phi": ("Phi",), "part_energy": ("E",), "part_mass": ("Mass",),
    "part_pid": ("PID",), "part_charge": ("Charge",),
}
# Collections without a PID leaf: the PDG ids CMS particle flow uses for photons and neutral hadrons.
DELPHES_CONSTANTS: dict[str, dict[str, float]] = {
    "EFlowPhoton": {"part_pid": 22, "part_charge": 0},
    "EFlowNeutralHadron": {"part_pid": 130, "part_charge": 0},
}
REF_FIELDS: tuple[str, ...] = ("part_px", "part_py", "part_pz", "part_energy", "part_pid", "part_charge")


def _offsets(counts: np.ndarray) -> np.ndarray:
    """Start of each event's block in the flattened arrays."""
    return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def link_constituents(
    jet_counts: np.ndarray, jet_index: ak.Array, candidate_index: ak.Array, values: Mapping[str, ak.Array],
    per_link: frozenset[str], *, file: str, sources: Mapping[str, str],
) -> dict[str, ak.Array]:
    """Per-jet jagged columns from a link table (jet_index, candidate_index per link, per event).

    `values` are per-candidate columns (gathered through candidate_index) or, for names in
    `per_link`, per-link columns (such as JetPFCands_pt); constituents keep the table's order.
    """
    link_counts = np.asarray(ak.num(jet_index, axis=1))
    event = np.repeat(np.arange(len(link_counts)), link_counts)
    jets = np.asarray(ak.flatten(jet_index, axis=1), dtype=np.int64)
    candidates = np.asarray(ak.flatten(candidate_index, axis=1), dtype=np.int64)
    bad = (jets < 0) | (jets >= jet_counts[event])
    if bad.any():
        raise InputError(f"jet index {jets[bad][0]} out of range in event {event[bad][0]} of the step", file=file,
                         branch=sources["jet_index"])
    candidate_names = [name for name in values if name not in per_link]
    if candidate_names:
        candidate_counts = np.asarray(ak.num(values[candidate_names[0]], axis=1))
        for name in candidate_names[1:]:
            if not np.array_equal(np.asarray(ak.num(values[name], axis=1)), candidate_counts):
                raise InputError(f"has other per-event lengths than '{sources[candidate_names[0]]}'", file=file,
                                 branch=sources[name])
        bad = (candidates < 0) | (candidates >= candidate_counts[event])
        if bad.any():
            raise InputError(f"candidate index {candidates[bad][0]} out of range in event {event[bad][0]} of the step",
                             file=file, branch=sources["candidate_index"])
        candidates = candidates + _offsets(candidate_counts)[event]
    for name in per_link:
        if not np.array_equal(np.asarray(ak.num(values[name], axis=1)), link_counts):
            raise InputError("is not aligned with the link table", file=file, branch=sources[name])
    global_jet = jets + _offsets(jet_counts)[event]
    order = np.argsort(global_jet, kind="stable")
    per_jet = np.bincount(global_jet, minlength=int(jet_counts.sum()))
    gather = {name: candidates[order] for name in candidate_names} | {name: order for name in per_link}
    return {name: ak.unflatten(np.asarray(ak.flatten(values[name], axis=1))[gather[name]], per_jet) for name in values}


def delphes_fields(collection: RefCollection, has_branch: Callable[[str], bool], file: str) -> dict[str, str | float]:
    """Branch (or constant) for each constituent field of a Delphes collection: overrides, leaves, constants."""
    name = collection.name
    fields: dict[str, str | float] = dict(DELPHES_CONSTANTS.get(name, {}))
    for field, leaves in DELPHES_LEAVES.items():
        found = next((f"{name}/{name}.{leaf}" for leaf in leaves if has_branch(f"{name}/{name}.{leaf}")), None)
        if found is not None:
            fields[field] = found
    for field, value in collection.fields.items():
        fields[field] = value if not isinstance(value, str) or "/" in value else f"{name}/{name}.{value}"
    for field in ("part_pt", "part_eta", "part_phi"):
        if field not in fields:
            leaves = "/".join(DELPHES_LEAVES[field])
            raise InputError(
                f"collection '{name}' has no {leaves} leaf for {field}", file=file, branch=f"{name}/{name}.{leaves}"
            )
    return fields


def _collection_vectors(uid: ak.Array, fields: Mapping[str, ak.Array | float]) -> dict[str, np.ndarray]:
    """One collection's flat uid, four-momentum, pid and charge (massless when it has no mass or energy)."""
    flat_uid = np.asarray(ak.flatten(uid, axis=1), dtype=np.int64)

    def flat(name: str) -> np.ndarray:
        """Flat values of a field, or its constant repeated (0 when the collection lacks it)."""
        value = fields.get(name, 0.0)
        if isinstance(value, ak.Array):
            return np.asarray(ak.flatten(value, axis=1), dtype=np.float64)
        return np.full(len(flat_uid), float(value))

    fourth = ("E", flat("part_energy")) if "part_energy" in fields else ("mass", flat("part_mass"))
    p4 = vector.array({"pt": flat("part_pt"), "eta": flat("part_eta"), "phi": flat("part_phi"), fourth[0]: fourth[1]})
    return {
        "uid": flat_uid, "part_px": p4.px, "part_py": p4.py, "part_pz": p4.pz, "part_energy": p4.E,
        "part_pid": flat("part_pid"), "part_charge": flat("part_charge"),
    }


def resolve_refs(
    refs: ak.Array, pools: Sequence[tuple[ak.Array, Mapping[str, ak.Array | float]]], *, file: str, branch: str,
) -> dict[str, ak.Array]:
    """Per-jet constituents from Delphes refs (events x jets x unique ids) into the pooled collections."""
    n_events = len(refs)
    flats = [_collection_vectors(uid, fields) for uid, fields in pools]
    events = [np.repeat(np.arange(n_events), np.asarray(ak.num(uid, axis=1))) for uid, _ in pools]
    # unique ids are unique within an event: (event, uid) packed into one int64 key for a sorted search
    keys = np.concatenate([(event << 32) | flat["uid"] for event, flat in zip(events, flats)])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    per_jet = np.asarray(ak.flatten(ak.num(refs, axis=2), axis=1))
    ref_event = np.repeat(np.repeat(np.arange(n_events), np.asarray(ak.num(refs, axis=1))), per_jet)
    wanted = (ref_event.astype(np.int64) << 32) | np.asarray(ak.flatten(refs, axis=None), dtype=np.int64)
    position = np.minimum(np.searchsorted(sorted_keys, wanted), max(len(sorted_keys) - 1, 0))
    found = sorted_keys[position] == wanted if len(sorted_keys) else np.zeros(len(wanted), dtype=bool)
    if not found.all():
        missing = wanted[~found][0]
        raise InputError(
            f"reference to unique id {missing & 0xFFFFFFFF} in event {missing >> 32} of the step is in none of the "
            "configured collections", file=file, branch=branch,
        )
    index = order[position]
    return {
        name: ak.unflatten(np.concatenate([flat[name] for flat in flats])[index].astype(
            np.int32 if name == "part_pid" else np.float32), per_jet)
        for name in REF_FIELDS
    }
