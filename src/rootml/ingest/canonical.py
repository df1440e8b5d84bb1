"""Complete the canonical jet columns and every set's columns from whatever a source provides, with `vector`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
import vector

from rootml.columns import JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS, PARTICLE_COLUMNS, PARTICLE_FLAG_COLUMNS
from rootml.errors import ConfigError, InputError
from rootml.ingest.naming import KINEMATIC_FIELDS
from rootml.particle_types import charge_from_pid, particle_flags

JET_INPUTS: tuple[str, ...] = tuple(f"jet_{k}" for k in KINEMATIC_FIELDS)
PARTICLE_INPUTS: tuple[str, ...] = tuple(f"part_{k}" for k in KINEMATIC_FIELDS)
# Per-row names the completion reads or writes: every other mapped column is written as it is.
JET_NAMES: frozenset[str] = frozenset({*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS, *JET_INPUTS})
# The preset set of jet constituents: its kinematic inputs become px/py/pz/energy, plus charge, pid and flags.
PARTICLE_SET = "part"
PARTICLE_FIELDS: tuple[str, ...] = tuple(name.removeprefix("part_") for name in PARTICLE_COLUMNS)
FLAG_FIELDS: tuple[str, ...] = tuple(name.removeprefix("part_") for name in PARTICLE_FLAG_COLUMNS)
# Field of a set -> attribute of its vector: the completed four-momentum of any set with one.
FOUR_MOMENTUM: tuple[tuple[str, str], ...] = (("px", "px"), ("py", "py"), ("pz", "pz"), ("energy", "E"))

Array = np.ndarray | ak.Array


def check_finite(columns: Mapping[str, Array], sources: Mapping[str, str], file: str) -> None:
    """Raise InputError naming the branch and file when a floating-point column holds NaN or inf."""
    for name, values in columns.items():
        flat = np.asarray(ak.flatten(values, axis=None)) if isinstance(values, ak.Array) else np.asarray(values)
        if flat.dtype.kind == "f" and not np.isfinite(flat).all():
            bad = flat[~np.isfinite(flat)][0]
            raise InputError(f"{bad} value in column '{name}'", file=file, branch=sources.get(name, name))


def complete(
    columns: Mapping[str, Array], sets: Mapping[str, Mapping[str, ak.Array]], *, sources: Mapping[str, str],
    file: str, key: str,
) -> dict[str, Array]:
    """The canonical jet columns (when the row has jet kinematics), the substructure present, and every set's
    columns `<set>_<field>` completed (`part` the preset, any other set with four-momenta to px/py/pz/energy and,
    relative to the row's axis, deta/dphi)."""
    elements = {name: _Elements(name, fields, sources, file) for name, fields in sets.items()}
    part = elements.get(PARTICLE_SET)
    jets = _jet_vector(columns, part, key)
    out: dict[str, Array] = {}
    if jets is not None:
        out |= {
            "jet_pt": _given_or(columns, "jet_pt", lambda: jets.pt),
            "jet_eta": _given_or(columns, "jet_eta", lambda: jets.eta),
            "jet_phi": _given_or(columns, "jet_phi", lambda: jets.phi),
            "jet_energy": _given_or(columns, "jet_energy", lambda: jets.E),
            "jet_mass": _given_or(columns, "jet_mass", lambda: jets.mass),
        }
        nparticles = part.counts if part is not None else columns.get("jet_nparticles", np.zeros(len(jets)))
        out["jet_nparticles"] = np.asarray(nparticles, dtype=np.int32)
    out |= {name: np.asarray(columns[name], dtype=np.float32) for name in JET_SUBSTRUCTURE_COLUMNS if name in columns}
    for name, set_elements in elements.items():
        out |= set_elements.particle_columns(jets) if name == PARTICLE_SET else set_elements.columns(jets)
    given = {*columns, *(f"{name}_{f}" for name, fields in sets.items() for f in fields)}
    derived = {name: values for name, values in out.items() if name not in given}
    check_finite(derived, {name: f"{name} (derived)" for name in derived}, file)
    return out


def _given_or(columns: Mapping[str, Array], name: str, derive: Any) -> np.ndarray:
    """The given column as float32, else the derived one."""
    return np.asarray(columns[name] if name in columns else derive(), dtype=np.float32)


def _jet_vector(columns: Mapping[str, Array], part: _Elements | None, key: str) -> Any:
    """The rows' four-vectors from px/py/pz/E, pt/eta/phi with mass or energy, or the sum of set `part`; None for
    rows without any jet kinematics."""
    if all(f"jet_{k}" in columns for k in ("px", "py", "pz", "energy")):
        return vector.array({attr: np.asarray(columns[f"jet_{name}"]) for name, attr in FOUR_MOMENTUM})
    if all(f"jet_{k}" in columns for k in ("pt", "eta", "phi")) and ("jet_mass" in columns or "jet_energy" in columns):
        fourth = ("mass", "jet_mass") if "jet_mass" in columns else ("E", "jet_energy")
        return vector.array({
            "pt": np.asarray(columns["jet_pt"]), "eta": np.asarray(columns["jet_eta"]),
            "phi": np.asarray(columns["jet_phi"]), fourth[0]: np.asarray(columns[fourth[1]]),
        })
    if part is not None:
        return part.sum()
    if not any(name in columns for name in JET_INPUTS):
        return None
    raise ConfigError(
        f"{key}.branches",
        "no jet four-momentum: map jet_px/jet_py/jet_pz/jet_energy, or jet_pt/jet_eta/jet_phi with jet_mass or "
        f"jet_energy, or give set part (found {sorted(n for n in columns if n.startswith('jet_'))})",
    )


class _Elements:
    """One set's fields as flat numpy columns plus per-row counts (vector's numpy backend is faster than jagged)."""

    def __init__(self, name: str, fields: Mapping[str, ak.Array], sources: Mapping[str, str], file: str) -> None:
        """Keep the set's fields, checking they all have the same length in every row."""
        self.name, self.fields, self.file = name, fields, file
        given = list(fields)
        self.counts = np.asarray(ak.num(fields[given[0]], axis=1))
        for field in given[1:]:
            if not np.array_equal(np.asarray(ak.num(fields[field], axis=1)), self.counts):
                first = sources.get(f"{name}_{given[0]}", given[0])
                raise InputError(f"set '{name}': field '{field}' has other per-row lengths than '{first}'", file=file,
                                 branch=sources.get(f"{name}_{field}", field))
        needed = {*KINEMATIC_FIELDS, "pid", "charge"}
        self.flat = {f: np.asarray(ak.flatten(fields[f], axis=1)) for f in given if f in needed}

    @functools.cached_property
    def vectors(self) -> Any:
        """Flat four-vectors from px/py/pz/E or pt/eta/phi with energy, mass or neither (massless); None without."""
        flat = self.flat
        if all(k in flat for k in ("px", "py", "pz", "energy")):
            return vector.array({attr: flat[name] for name, attr in FOUR_MOMENTUM})
        if all(k in flat for k in ("pt", "eta", "phi")):
            massless = np.zeros_like(flat["pt"])
            fourth = ("E", flat["energy"]) if "energy" in flat else ("mass", flat.get("mass", massless))
            return vector.array({"pt": flat["pt"], "eta": flat["eta"], "phi": flat["phi"], fourth[0]: fourth[1]})
        return None

    def sum(self) -> Any:
        """Per-row four-vector sum of the elements."""
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        sums = {}
        for name in ("px", "py", "pz", "E"):
            values = np.asarray(getattr(self._particle_vectors(), name), dtype=np.float64)
            summed = np.add.reduceat(values, starts) if len(values) else np.zeros(len(starts))
            sums[name] = np.where(self.counts > 0, summed, 0.0)
        return vector.array(sums)

    def _particle_vectors(self) -> Any:
        """The four-vectors of set `part`, which must have them."""
        if self.vectors is None:
            raise InputError(f"set '{self.name}' needs fields px/py/pz/energy or pt/eta/phi, got {sorted(self.fields)}",
                             file=self.file)
        return self.vectors

    def jagged(self, flat: np.ndarray, dtype: type = np.float32) -> ak.Array:
        """One flat per-element array back to a jagged per-row array."""
        return ak.unflatten(np.asarray(flat, dtype=dtype), self.counts)

    def _momentum(self, jets: Any) -> dict[str, ak.Array]:
        """px/py/pz/energy (given ones cast, else derived) and, with the row's axis, deta/dphi to it."""
        vectors = self._particle_vectors() if self.name == PARTICLE_SET else self.vectors
        out = {
            field: self._given(field, np.float32) if field in self.fields else self.jagged(getattr(vectors, attr))
            for field, attr in FOUR_MOMENTUM
        }
        if jets is None:
            return out
        if "deta" not in self.fields or "dphi" not in self.fields:
            axis = jets[np.repeat(np.arange(len(self.counts)), self.counts)]
        for field, method in (("deta", "deltaeta"), ("dphi", "deltaphi")):
            out[field] = (
                self._given(field, np.float32) if field in self.fields else self.jagged(getattr(vectors, method)(axis))
            )
        return out

    def _given(self, field: str, dtype: type) -> ak.Array:
        """A given field as `dtype` (no copy when it already is)."""
        values = self.fields[field]
        same = ak.flatten(values, axis=None).layout.dtype == np.dtype(dtype)
        return values if same else ak.values_astype(values, dtype)

    def columns(self, jets: Any) -> dict[str, ak.Array]:
        """Every field as `<set>_<field>`, with px/py/pz/energy (and deta/dphi to the row's axis) for four-momenta."""
        out = dict(self.fields)
        if self.vectors is not None:
            out |= self._momentum(jets)
        return {f"{self.name}_{field}": values for field, values in out.items()}

    def particle_columns(self, jets: Any) -> dict[str, ak.Array]:
        """The preset `part` columns (PARTICLE_COLUMNS: given ones cast, the rest derived), then its other fields."""
        out = self._momentum(jets)
        n = int(self.counts.sum())
        pid = self.flat.get("pid")
        if "charge" in self.fields:
            charge = self.flat["charge"]
            out["charge"] = self._given("charge", np.float32)
        else:
            charge = charge_from_pid(pid) if pid is not None else np.zeros(n, dtype=np.float32)
            out["charge"] = self.jagged(charge)
        out["pid"] = self._given("pid", np.int32) if pid is not None else self.jagged(np.zeros(n), np.int32)
        missing_flags = [field for field in FLAG_FIELDS if field not in self.fields]
        flags = particle_flags(pid, charge) if pid is not None and missing_flags else {}
        for field, column in zip(FLAG_FIELDS, PARTICLE_FLAG_COLUMNS, strict=True):
            out[field] = (
                self._given(field, np.float32) if field in self.fields else self.jagged(flags.get(column, np.zeros(n)))
            )
        others = {f: v for f, v in self.fields.items() if f not in PARTICLE_FIELDS and f not in KINEMATIC_FIELDS}
        return {f"part_{field}": values for field, values in ({f: out[f] for f in PARTICLE_FIELDS} | others).items()}
