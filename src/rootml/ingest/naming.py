"""Branch naming conventions of the collections rootml finds by name: NanoAOD (`Muon_pt`), the CMS HEP tutorial
ntuples (`Muon_Px`), Delphes (`Muon/Muon.PT`) and EDM4hep/podio (`ReconstructedParticles/...momentum.x`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping

# Leaf suffixes tried, in order, for each field of a collection's elements.
FIELD_LEAVES: dict[str, tuple[str, ...]] = {
    "px": ("px", "Px", "momentum.x"), "py": ("py", "Py", "momentum.y"), "pz": ("pz", "Pz", "momentum.z"),
    "energy": ("energy", "E"), "pt": ("pt", "PT", "Pt", "ET"), "eta": ("eta", "Eta"), "phi": ("phi", "Phi"),
    "mass": ("mass", "Mass"), "charge": ("charge", "Charge"), "pid": ("pdgId", "PID", "PDG"),
}
KINEMATIC_FIELDS: tuple[str, ...] = ("px", "py", "pz", "energy", "pt", "eta", "phi", "mass")
# Per-row jet columns found in the row collection, beyond its kinematics.
JET_LEAVES: dict[str, tuple[str, ...]] = {
    **{f"jet_{name}": FIELD_LEAVES[name] for name in KINEMATIC_FIELDS},
    "jet_nparticles": ("nConstituents",), "jet_sdmass": ("msoftdrop",),
    "jet_tau1": ("tau1",), "jet_tau2": ("tau2",), "jet_tau3": ("tau3",), "jet_tau4": ("tau4",),
}


def leaf_branch(collection: str, leaf: str) -> tuple[str, str]:
    """The two spellings of a collection's leaf: flat (`Muon_pt`) and split-object (`Muon/Muon.PT`)."""
    return f"{collection}_{leaf}", f"{collection}/{collection}.{leaf}"


def find_leaf(collection: str, leaves: tuple[str, ...], branches: Collection[str]) -> str | None:
    """The first branch of `collection` with one of `leaves` (either spelling), or None."""
    return next((b for leaf in leaves for b in leaf_branch(collection, leaf) if b in branches), None)


def collection_fields(
    collection: str, branches: Collection[str], fields: Mapping[str, tuple[str, ...]] = FIELD_LEAVES,
) -> dict[str, str]:
    """Field -> branch of every field of `fields` that `collection` has in `branches`."""
    found = {name: find_leaf(collection, leaves, branches) for name, leaves in fields.items()}
    return {name: branch for name, branch in found.items() if branch is not None}


def podio_collection_id(name: str) -> int:
    """The ID podio gives collection `name` (since podio 0.17): the 32-bit MurmurHash3 (x86, seed 0) of its name."""
    data = name.encode()
    mask, h = 0xFFFFFFFF, 0
    tail = len(data) - len(data) % 4
    for i in range(0, len(data), 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * 0xCC9E2D51) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * 0x1B873593) & mask
        h ^= k
        if i < tail:
            h = ((h << 13) | (h >> 19)) & mask
            h = (h * 5 + 0xE6546B64) & mask
    h ^= len(data)
    for shift, factor in ((16, 0x85EBCA6B), (13, 0xC2B2AE35)):
        h = ((h ^ (h >> shift)) * factor) & mask
    return h ^ (h >> 16)
