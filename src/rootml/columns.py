"""Canonical column names shared by every stage (the JetClass naming); light enough for the Snakefile to import."""

from __future__ import annotations

JET_COLUMNS: tuple[str, ...] = (
    "jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_mass", "jet_nparticles",
)
JET_SUBSTRUCTURE_COLUMNS: tuple[str, ...] = (
    "jet_sdmass", "jet_tau1", "jet_tau2", "jet_tau3", "jet_tau4",
)
PARTICLE_FLAG_COLUMNS: tuple[str, ...] = (
    "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron", "part_isMuon",
)
PARTICLE_COLUMNS: tuple[str, ...] = (
    "part_px", "part_py", "part_pz", "part_energy", "part_deta", "part_dphi", "part_charge", "part_pid",
    *PARTICLE_FLAG_COLUMNS,
)
BOOKKEEPING_COLUMNS: tuple[str, ...] = ("label", "weight", "event_id", "jet_index")
