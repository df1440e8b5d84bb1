"""JetClass-style output: jet, constituent and label branches, written as a ROOT TTree with uproot."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from rootml.atomic import atomic_output
from rootml.columns import PARTICLE_COLUMNS
from rootml.features.substructure import substructure_columns
from rootml.generate.momenta import momenta, stack
from rootml.particle_types import charge_from_pid, particle_flags

TREE = "tree"
PARTICLES = "part"  # record name: its fields become branches part_<field>, counted by `npart`
CELLS = "cell"  # with a detector: the calorimeter cells of each jet, branches cell_<field> counted by `ncell`


def jet_branches(
    p4: np.ndarray, constituents: ak.Array, *, label: str, classes: Sequence[str], jet_radius: float
) -> dict[str, np.ndarray | ak.Array]:
    """Output branches for jets with (n, 4) momenta and [jet][k] constituents (px, py, pz, E, pid), pT-sorted."""
    jet = momenta(p4)
    counts = ak.to_numpy(ak.num(constituents))
    flat = ak.flatten(constituents)
    pid = ak.to_numpy(flat.pid).astype(np.int32)
    particle = momenta(stack(*(ak.to_numpy(flat[c]) for c in ("px", "py", "pz", "E"))))
    axis = momenta(np.repeat(p4, counts, axis=0))
    charge = charge_from_pid(pid)
    particle_columns = {
        "part_px": particle.px, "part_py": particle.py, "part_pz": particle.pz, "part_energy": particle.E,
        "part_deta": particle.eta - axis.eta, "part_dphi": particle.deltaphi(axis), "part_charge": charge,
        "part_pid": pid, **particle_flags(pid, charge),
    }
    jagged = {
        name.removeprefix(f"{PARTICLES}_"):
            ak.unflatten(np.asarray(particle_columns[name], dtype=np.int32 if name == "part_pid" else np.float32),
                         counts)
        for name in PARTICLE_COLUMNS
    }
    branches: dict[str, np.ndarray | ak.Array] = {
        "jet_pt": jet.pt, "jet_eta": jet.eta, "jet_phi": jet.phi, "jet_energy": jet.E,
        # a massless one-particle jet can have a tiny negative m^2 from rounding
        "jet_mass": np.sqrt(np.clip(jet.mass2, 0.0, None)),
        "jet_nparticles": counts,
        **substructure_columns(constituents.px, constituents.py, constituents.pz, constituents.E, jet_radius),
        **{f"label_{name}": np.full(len(p4), name == label) for name in classes},
    }
    branches = {name: np.asarray(values, dtype=np.float32) for name, values in branches.items()}
    branches[PARTICLES] = ak.zip(jagged)
    return branches


def detector_branches(gen_p4: np.ndarray, cells: ak.Array) -> dict[str, np.ndarray | ak.Array]:
    """The branches a detector adds: the generator-level jet (zeros when none) and the cells of each jet."""
    gen = momenta(gen_p4)
    branches: dict[str, np.ndarray | ak.Array] = {
        name: np.asarray(values, dtype=np.float32) for name, values in (
            ("gen_jet_pt", gen.pt), ("gen_jet_eta", np.where(gen.pt > 0, gen.eta, 0.0)), ("gen_jet_phi", gen.phi),
            ("gen_jet_mass", np.sqrt(np.clip(gen.mass2, 0.0, None))))
    }
    branches[CELLS] = ak.zip({field: ak.values_astype(cells[field], np.int32 if field == "depth" else np.float32)
                              for field in cells.fields})
    return branches


def write_jets(path: str | Path, branches: dict[str, np.ndarray | ak.Array]) -> None:
    """Write `branches` as the TTree `tree` of a new ROOT file at `path` (atomically)."""
    with atomic_output(path) as tmp, uproot.recreate(tmp) as file:
        # uproot >= 5.7 writes an RNTuple for `file[name] = data`; mktree writes a TTree
        file.mktree(TREE, branches)
