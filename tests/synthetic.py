"""Synthetic jets for tests and benchmarks: ingested chunks (canonical columns, as the ingest stage writes them), event
rows with a set of muons, and bare constituent four-momenta for the substructure features.

Jets of massless particles spread around a random axis, with a class-dependent pT spectrum, width and
multiplicity, so splits, reweighting, normalization and images have something to act on. Generating
them takes milliseconds where Pythia takes minutes; physics studies use the generate stage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import vector

from rootml.ingest.writer import write_parquet
from rootml.particle_types import particle_flags
from rootml.seeds import stable_event_ids

# (pid, charge) of the particle species drawn, with their probabilities: pions, photons, neutral hadrons, leptons
_SPECIES = np.array([[211, 1], [-211, -1], [22, 0], [130, 0], [11, -1], [-13, 1]])
_SPECIES_P = np.array([0.3, 0.3, 0.25, 0.1, 0.03, 0.02])


def synthetic_jets(n_jets: int, label: int, seed: int, *, namespace: str = "synthetic",
                   pt_range: tuple[float, float] = (500.0, 700.0), eta_max: float = 2.0,
                   mean_particles: float = 30.0) -> dict[str, np.ndarray | ak.Array]:
    """Canonical jet, particle and bookkeeping columns of `n_jets` synthetic jets of class `label`."""
    rng = np.random.default_rng(seed)
    # class-dependent pT spectrum (a Beta shape over the window): something for the kinematic reweighting to flatten
    pt = pt_range[0] + (pt_range[1] - pt_range[0]) * rng.beta(1.0 + label, 2.0, n_jets)
    axis_eta = rng.uniform(-eta_max, eta_max, n_jets)
    axis_phi = rng.uniform(-np.pi, np.pi, n_jets)
    counts = 1 + rng.poisson(mean_particles * (1.0 + 0.2 * label), n_jets)
    total = int(counts.sum())
    jet_of = np.repeat(np.arange(n_jets), counts)
    fractions = rng.exponential(1.0, total)
    fractions /= np.bincount(jet_of, fractions)[jet_of]
    width = 0.05 + 0.04 * label
    p4 = vector.array({
        "pt": pt[jet_of] * fractions, "eta": axis_eta[jet_of] + rng.normal(0.0, width, total),
        "phi": axis_phi[jet_of] + rng.normal(0.0, width, total), "mass": np.zeros(total),
    })
    jet = vector.array({c: np.bincount(jet_of, getattr(p4, c), minlength=n_jets) for c in ("px", "py", "pz", "E")})
    species = _SPECIES[rng.choice(len(_SPECIES), total, p=_SPECIES_P)]
    pid, charge = species[:, 0], species[:, 1].astype(np.float32)

    def jagged(flat: np.ndarray) -> ak.Array:
        """One value per particle, as float32 lists per jet."""
        return ak.unflatten(np.asarray(flat, dtype=np.float32), counts)

    dphi = (p4.phi - jet.phi[jet_of] + np.pi) % (2 * np.pi) - np.pi
    mass = np.asarray(jet.mass)
    tau1 = rng.uniform(0.05, 0.3, n_jets)
    return {
        "jet_pt": jet.pt.astype(np.float32), "jet_eta": jet.eta.astype(np.float32),
        "jet_phi": jet.phi.astype(np.float32), "jet_energy": jet.E.astype(np.float32),
        "jet_mass": mass.astype(np.float32), "jet_nparticles": counts.astype(np.float32),
        "jet_sdmass": (mass * rng.uniform(0.5, 1.0, n_jets)).astype(np.float32),
        **{f"jet_tau{n}": (tau1 * rng.uniform(0.3, 0.9, n_jets) ** (n - 1)).astype(np.float32) for n in range(1, 5)},
        "part_px": jagged(p4.px), "part_py": jagged(p4.py), "part_pz": jagged(p4.pz), "part_energy": jagged(p4.E),
        "part_deta": jagged(p4.eta - jet.eta[jet_of]), "part_dphi": jagged(dphi), "part_charge": jagged(charge),
        "part_pid": ak.unflatten(pid.astype(np.int32), counts),
        **{name: jagged(flag) for name, flag in particle_flags(pid, charge).items()},
        "label": np.full(n_jets, label, dtype=np.int64), "weight": np.ones(n_jets, dtype=np.float32),
        "event_id": stable_event_ids(f"{namespace}/{seed}", np.arange(n_jets)),
        "jet_index": np.zeros(n_jets, dtype=np.int32),
    }


def synthetic_events(n_events: int, label: int, seed: int) -> dict[str, np.ndarray | ak.Array]:
    """Event rows without jet columns: `met`, `n_muons` and a set `muons` (px, py, pz, energy, charge) whose
    multiplicity and pT depend on the class, plus the bookkeeping columns."""
    rng = np.random.default_rng(seed)
    counts = 1 + rng.poisson(1.0 + label, n_events)
    total = int(counts.sum())
    p4 = vector.array({"pt": rng.exponential(30.0 * (1 + label), total) + 5.0, "eta": rng.uniform(-2.4, 2.4, total),
                       "phi": rng.uniform(-np.pi, np.pi, total), "mass": np.full(total, 0.105)})

    def jagged(flat: np.ndarray) -> ak.Array:
        """One value per muon, as float32 lists per event."""
        return ak.unflatten(np.asarray(flat, dtype=np.float32), counts)

    return {
        "met": rng.exponential(40.0 * (1 + label), n_events).astype(np.float32),
        "n_muons": counts.astype(np.int32),
        "muons_px": jagged(p4.px), "muons_py": jagged(p4.py), "muons_pz": jagged(p4.pz), "muons_energy": jagged(p4.E),
        "muons_charge": jagged(rng.choice([-1.0, 1.0], total)),
        "label": np.full(n_events, label, dtype=np.int64), "weight": np.ones(n_events, dtype=np.float32),
        "event_id": stable_event_ids(f"events/{seed}", np.arange(n_events)),
        "jet_index": np.zeros(n_events, dtype=np.int32),
    }


def write_synthetic_chunk(path: str | Path, n_jets: int, label: int, seed: int, *, rows_per_group: int = 2000,
                          **kwargs: Any) -> Path:
    """Write `n_jets` synthetic jets as an ingested parquet file, one row group per `rows_per_group` jets."""
    groups = (synthetic_jets(min(rows_per_group, n_jets - start), label, seed * 1_000_003 + start, **kwargs)
              for start in range(0, n_jets, rows_per_group))
    write_parquet(path, groups, metadata={"rootml.sample": f"synthetic_{label}"})
    return Path(path)


def random_jets(n_jets: int, mean_multiplicity: float, seed: int) -> dict[str, ak.Array]:
    """Jets of Poisson-many massless constituents with exponential pT, spread ~0.2 around eta = phi = 0."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(mean_multiplicity, n_jets) + 1
    n = int(counts.sum())
    pt, eta, phi = rng.exponential(10.0, n), rng.normal(0, 0.2, n), rng.normal(0, 0.2, n)
    flat = {"px": pt * np.cos(phi), "py": pt * np.sin(phi), "pz": pt * np.sinh(eta), "energy": pt * np.cosh(eta)}
    return {k: ak.unflatten(v, counts) for k, v in flat.items()}
