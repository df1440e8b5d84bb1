"""Complete the canonical jet and particle columns from whatever subset a source provides, with `vector`."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import awkward as ak
import numpy as np
import vector

from rootml.columns import JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS, PARTICLE_COLUMNS, PARTICLE_FLAG_COLUMNS
from rootml.errors import ConfigError, InputError
from rootml.particle_types import charge_from_pid, particle_flags

KINEMATICS: tuple[str, ...] = ("px", "py", "pz", "energy", "pt", "eta", "phi", "mass")
JET_INPUTS: tuple[str, ...] = tuple(f"jet_{k}" for k in KINEMATICS)
PARTICLE_INPUTS: tuple[str, ...] = tuple(f"part_{k}" for k in KINEMATICS)
CANONICAL_NAMES: frozenset[str] = frozenset(
    {*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS, *PARTICLE_COLUMNS, *JET_INPUTS, *PARTICLE_INPUTS}
)

Array = np.ndarray | ak.Array


def check_finite(columns: Mapping[str, Array], sources: Mapping[str, str], file: str) -> None:
    """Raise InputError naming the branch and file when a floating-point column holds NaN or inf."""
    for name, values in columns.items():
        flat = np.asarray(ak.flatten(values, axis=None)) if isinstance(values, ak.Array) else np.asarray(values)
        if flat.dtype.kind == "f" and not np.isfinite(flat).all():
            bad = flat[~np.isfinite(flat)][0]
            raise InputError(f"{bad} value in column '{name}'", file=file, branch=sources.get(name, name))


def canonical_columns(columns: Mapping[str, Array], *, file: str, key: str) -> dict[str, Array]:
    """Canonical jet columns (+ substructure present) and, with constituents, the particle columns."""
    has_particles = any(name in columns for name in PARTICLE_INPUTS)
    particles = _particles(columns, file) if has_particles else None
    jets = _jet_vector(columns, particles, key)
    out: dict[str, Array] = {
        "jet_pt": _given_or(columns, "jet_pt", lambda: jets.pt),
        "jet_eta": _given_or(columns, "jet_eta", lambda: jets.eta),
        "jet_phi": _given_or(columns, "jet_phi", lambda: jets.phi),
        "jet_energy": _given_or(columns, "jet_energy", lambda: jets.E),
        "jet_mass": _given_or(columns, "jet_mass", lambda: jets.mass),
    }
    if particles is not None:
        out["jet_nparticles"] = np.asarray(particles.counts, dtype=np.int32)
    else:
        n = len(out["jet_pt"])
        out["jet_nparticles"] = np.asarray(columns.get("jet_nparticles", np.zeros(n)), dtype=np.int32)
    out.update(
        {name: np.asarray(columns[name], dtype=np.float32) for name in JET_SUBSTRUCTURE_COLUMNS if name in columns}
    )
    if particles is not None:
        out.update(particles.canonical(columns, jets))
    _check_derived(out, columns, file)
    return out


def _given_or(columns: Mapping[str, Array], name: str, derive: Any) -> np.ndarray:
    """The given column as float32, else the derived one."""
    return np.asarray(columns[name] if name in columns else derive(), dtype=np.float32)


def _jet_vector(columns: Mapping[str, Array], particles: _Particles | None, key: str) -> Any:
    """The jets' four-vectors from px/py/pz/E, pt/eta/phi with mass or energy, or the constituent sum."""
    if all(f"jet_{k}" in columns for k in ("px", "py", "pz", "energy")):
        return vector.array(
            {k: np.asarray(columns[f"jet_{c}"]) for k, c in (("px", "px"), ("py", "py"), ("pz", "pz"), ("E", "energy"))}
        )
    if all(f"jet_{k}" in columns for k in ("pt", "eta", "phi")) and ("jet_mass" in columns or "jet_energy" in columns):
        fourth = ("mass", "jet_mass") if "jet_mass" in columns else ("E", "jet_energy")
        return vector.array({
            "pt": np.asarray(columns["jet_pt"]), "eta": np.asarray(columns["jet_eta"]),
            "phi": np.asarray(columns["jet_phi"]), fourth[0]: np.asarray(columns[fourth[1]]),
        })
    if particles is not None:
        return particles.sum()
    raise ConfigError(
        f"{key}.branches",
        "no jet four-momentum: map jet_px/jet_py/jet_pz/jet_energy, or jet_pt/jet_eta/jet_phi with jet_mass or "
        f"jet_energy, or give constituents (found {sorted(n for n in columns if n.startswith('jet_'))})",
    )


class _Particles:
    """Constituents as flat numpy columns plus per-jet counts (vector's numpy backend is faster than jagged)."""

    def __init__(self, flat: Mapping[str, np.ndarray], counts: np.ndarray, file: str) -> None:
        """Keep the flat given columns and the per-jet counts."""
        self.flat = flat
        self.counts = counts
        self.file = file

    @functools.cached_property
    def vectors(self) -> Any:
        """Flat four-vectors from px/py/pz/E or pt/eta/phi with energy, mass or neither (massless)."""
        flat = self.flat
        if all(f"part_{k}" in flat for k in ("px", "py", "pz", "energy")):
            return vector.array(
                {"px": flat["part_px"], "py": flat["part_py"], "pz": flat["part_pz"], "E": flat["part_energy"]}
            )
        if all(f"part_{k}" in flat for k in ("pt", "eta", "phi")):
            fourth = (
                ("E", flat["part_energy"])
                if "part_energy" in flat
                else ("mass", flat.get("part_mass", np.zeros_like(flat["part_pt"])))
            )
            return vector.array(
                {"pt": flat["part_pt"], "eta": flat["part_eta"], "phi": flat["part_phi"], fourth[0]: fourth[1]}
            )
        raise InputError(
            f"constituents need part_px/part_py/part_pz/part_energy or part_pt/part_eta/part_phi, got {sorted(flat)}",
            file=self.file,
        )

    def sum(self) -> Any:
        """Per-jet four-vector sum of the constituents."""
        starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        sums = {}
        for name in ("px", "py", "pz", "E"):
            values = np.asarray(getattr(self.vectors, name), dtype=np.float64)
            summed = np.add.reduceat(values, starts) if len(values) else np.zeros(len(starts))
            sums[name] = np.where(self.counts > 0, summed, 0.0)
        return vector.array(sums)

    def jagged(self, flat: np.ndarray, dtype: type = np.float32) -> ak.Array:
        """One flat per-particle array back to a jagged per-jet array."""
        return ak.unflatten(np.asarray(flat, dtype=dtype), self.counts)

    def canonical(self, columns: Mapping[str, Array], jets: Any) -> dict[str, ak.Array]:
        """The canonical particle columns: given ones cast, the rest derived."""
        out: dict[str, ak.Array] = {}
        for name, attr in (("part_px", "px"), ("part_py", "py"), ("part_pz", "pz"), ("part_energy", "E")):
            out[name] = (
                _cast(columns[name], np.float32) if name in columns else self.jagged(getattr(self.vectors, attr))
            )
        if "part_deta" not in columns or "part_dphi" not in columns:
            axis = jets[np.repeat(np.arange(len(self.counts)), self.counts)]
        out["part_deta"] = (
            _cast(columns["part_deta"], np.float32)
            if "part_deta" in columns
            else self.jagged(self.vectors.deltaeta(axis))
        )
        out["part_dphi"] = (
            _cast(columns["part_dphi"], np.float32)
            if "part_dphi" in columns
            else self.jagged(self.vectors.deltaphi(axis))
        )
        n = int(self.counts.sum())
        pid = self.flat.get("part_pid")
        if "part_charge" in columns:
            charge = self.flat["part_charge"]
            out["part_charge"] = _cast(columns["part_charge"], np.float32)
        else:
            charge = charge_from_pid(pid) if pid is not None else np.zeros(n, dtype=np.float32)
            out["part_charge"] = self.jagged(charge)
        out["part_pid"] = (
            _cast(columns["part_pid"], np.int32) if pid is not None else self.jagged(np.zeros(n), np.int32)
        )
        missing_flags = [name for name in PARTICLE_FLAG_COLUMNS if name not in columns]
        flags = particle_flags(pid, charge) if pid is not None and missing_flags else {}
        for name in PARTICLE_FLAG_COLUMNS:
            out[name] = (
                _cast(columns[name], np.float32) if name in columns else self.jagged(flags.get(name, np.zeros(n)))
            )
        return out


def _particles(columns: Mapping[str, Array], file: str) -> _Particles:
    """Flatten the particle columns needed for completion, checking all particle columns agree per jet."""
    given = [name for name in columns if name.startswith("part_")]
    counts = np.asarray(ak.num(columns[given[0]], axis=1))
    for name in given[1:]:
        if not np.array_equal(np.asarray(ak.num(columns[name], axis=1)), counts):
            raise InputError(
                f"particle column '{name}' has other per-jet lengths than '{given[0]}'", file=file, branch=name
            )
    needed = {*PARTICLE_INPUTS, "part_pid", "part_charge"}
    return _Particles(
        {name: np.asarray(ak.flatten(columns[name], axis=1)) for name in given if name in needed}, counts, file
    )


def _cast(values: Array, dtype: type) -> Array:
    """`values` as `dtype` (no copy when it already is)."""
    if isinstance(values, ak.Array):
        return (
            values if ak.flatten(values, axis=None).layout.dtype == np.dtype(dtype) else ak.values_astype(values, dtype)
        )
    return np.asarray(values, dtype=dtype)


def _check_derived(out: Mapping[str, Array], given: Mapping[str, Array], file: str) -> None:
    """NaN/inf in a derived column (e.g. eta of a zero-pT particle) names the column it was derived for."""
    derived = {name: values for name, values in out.items() if name not in given}
    check_finite(derived, {name: f"{name} (derived)" for name in derived}, file)
