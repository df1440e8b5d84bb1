"""Ingestion throughput: rootml's `ingest_file` against bare `uproot.iterate` over the same branches.

Run: .venv/bin/python benchmarks/ingest.py [--jets 100000] [--particles 50] [--repeat 3]
Writes a JetClass-style file (TTree `tree`, jet_* scalars, jagged part_*, one-hot label_*) into a
temporary folder first, then times both on it, on the real NanoAOD file of ../shared/data, and on the
PFNano file as a TTree and as an RNTuple (AK8 jets with their PF candidates through the link table;
the peer reads the same RNTuple with uproot).
The peer only reads (decompresses and builds awkward arrays); ingest_file also validates, completes
the canonical columns, labels, hashes event ids and writes parquet. Best of --repeat runs each,
alternating the two; prints jets/s of both and the ratio (goal >= 0.9).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import awkward as ak
import numpy as np
import uproot
import vector

from rootml.ingest import SampleSpec, ingest_file
from rootml.ingest.plan import plan_reading
from rootml.ingest.root import branch_names
from rootml.particle_types import charge_from_pid, particle_flags

CLASSES = ["g", "q", "W", "Z", "t"]
PFNANO = {
    "tree": "Events", "collection": "FatJet", "label": "t", "event_id": "event",
    "sets": {"part": {"jet_index": "FatJetPFCands_jetIdx", "candidate_index": "FatJetPFCands_pFCandsIdx",
                      "branches": {"pt": "PFCands_pt", "eta": "PFCands_eta", "phi": "PFCands_phi",
                                   "mass": "PFCands_mass", "pid": "PFCands_pdgId", "charge": "PFCands_charge"}}},
}
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WRITE_CHUNK = 10_000


def jetclass_chunk(rng: np.random.Generator, n_jets: int, mean_particles: int) -> dict:
    """One chunk of JetClass-style jets: pT-sorted constituents around the jet axis; the jet is their sum."""
    counts = np.clip(rng.poisson(mean_particles, n_jets), 1, None)
    n = int(counts.sum())
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    axis_eta = np.repeat(rng.uniform(-2, 2, n_jets), counts)
    axis_phi = np.repeat(rng.uniform(-np.pi, np.pi, n_jets), counts)
    pt = rng.exponential(10.0, n) + 0.5
    p = vector.array({"pt": pt, "eta": axis_eta + rng.normal(0, 0.2, n), "phi": axis_phi + rng.normal(0, 0.2, n),
                      "mass": np.full(n, 0.13957)})
    jet = vector.array({k: np.add.reduceat(getattr(p, k), starts) for k in ("px", "py", "pz", "E")})
    along = jet[np.repeat(np.arange(n_jets), counts)]
    pid = rng.choice([211, -211, 22, 130, 11, -11, 13, -13, 321, -321, 2212], n)
    charge = charge_from_pid(pid)
    flags = {k.removeprefix("part_"): v for k, v in particle_flags(pid, charge).items()}
    part = {"px": p.px, "py": p.py, "pz": p.pz, "energy": p.E, "deta": p.eta - along.eta, "dphi": p.deltaphi(along),
            "charge": charge, "pid": pid, **flags}
    label = rng.integers(0, len(CLASSES), n_jets)
    columns = {
        "jet_pt": jet.pt,
        "jet_eta": jet.eta,
        "jet_phi": jet.phi,
        "jet_energy": jet.E,
        "jet_mass": jet.mass,
        "jet_nparticles": counts,
        **{f"jet_{k}": rng.uniform(0, 1, n_jets) for k in ("sdmass", "tau1", "tau2", "tau3", "tau4")},
        **{f"label_{c}": label == i for i, c in enumerate(CLASSES)},
    }
    columns = {k: np.asarray(v, dtype=np.float32) for k, v in columns.items()}
    columns["part"] = ak.zip({k: ak.unflatten(np.asarray(v, dtype=np.int32 if k == "pid" else np.float32), counts)
                              for k, v in part.items()})
    return columns


def write_jetclass(path: Path, n_jets: int, mean_particles: int, seed: int = 1) -> Path:
    """Write the JetClass-style TTree chunk by chunk (bounded memory)."""
    rng = np.random.default_rng(seed)
    with uproot.recreate(path) as f:
        for start in range(0, n_jets, WRITE_CHUNK):
            chunk = jetclass_chunk(rng, min(WRITE_CHUNK, n_jets - start), mean_particles)
            if start == 0:
                f.mktree("tree", {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in chunk.items()})
            f["tree"].extend(chunk)
    return path


def best_time(run: Callable[[], object], repeat: int) -> float:
    """Fastest wall time of `repeat` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def compare(label: str, path: Path, cfg: dict, out: Path, repeat: int) -> float:
    """Time ingest_file and uproot.iterate over the same branches of `path`; print both and return the ratio."""
    spec = SampleSpec.from_config("bench", cfg, CLASSES)
    sources = plan_reading(branch_names(uproot.open(path)[spec.tree]), spec, str(path)).sources()
    n_jets = 0

    def peer() -> None:
        """Read every step of the same branches with uproot, as awkward arrays."""
        for _ in uproot.iterate(f"{path}:{spec.tree}", sources, step_size=spec.step_size, library="ak", how=dict):
            pass

    def ours() -> None:
        """The whole ingest of the file to parquet."""
        nonlocal n_jets
        n_jets = int(ingest_file(path, out, spec=spec, file_index=0, classes=CLASSES, progress=False)["jets"])

    ours()  # warm the page cache and imports for both
    t_peer, t_ours = [], []
    for _ in range(repeat):
        t_peer.append(best_time(peer, 1))
        t_ours.append(best_time(ours, 1))
    peer_rate, our_rate = n_jets / min(t_peer), n_jets / min(t_ours)
    print(f"{label}: {n_jets} rows, {len(sources)} branches")
    print(f"  uproot.iterate : {peer_rate:12,.0f} rows/s  ({min(t_peer):.3f} s)")
    print(f"  ingest_file    : {our_rate:12,.0f} rows/s  ({min(t_ours):.3f} s)")
    print(f"  ratio          : {our_rate / peer_rate:.2f}  (goal >= 0.9)")
    return our_rate / peer_rate


def main() -> None:
    """Write the JetClass-style file, then compare on it, on the NanoAOD file and on the PFNano TTree and RNTuple."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=100_000)
    parser.add_argument("--particles", type=int, default=50, help="mean constituents per jet")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        jetclass = write_jetclass(folder / "jetclass.root", args.jets, args.particles)
        size = jetclass.stat().st_size / 1e6
        seconds = time.perf_counter() - start
        print(f"wrote {jetclass.name}: {args.jets} jets x ~{args.particles} constituents, {size:.0f} MB "
              f"in {seconds:.1f} s")
        labels = {c: f"label_{c} == 1" for c in CLASSES}
        compare("JetClass-style file", jetclass, {"labels": labels}, folder / "jetclass.parquet", args.repeat)
        nano = {"tree": "Events", "collection": "Jet", "event_id": "event", "selection": "jet_pt > 30",
                "labels": {"q": "Jet_hadronFlavour == 0", "t": "Jet_hadronFlavour == 5"}}
        compare("NanoAOD ttbar (Jet)", SHARED_DATA / "nanoAOD_2015_CMS_Open_Data_ttbar.root", nano,
                folder / "nano.parquet", max(args.repeat, 5))
        for label, name in (("PFNano TTree (FatJet + PF candidates)", "pfnano.root"),
                            ("PFNano RNTuple (FatJet + PF candidates)", "pfnano_rntuple.root")):
            compare(label, SHARED_DATA / name, PFNANO, folder / "pfnano.parquet", args.repeat)


if __name__ == "__main__":
    main()
