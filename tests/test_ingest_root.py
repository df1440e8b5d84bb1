"""Ingestion of ROOT files: JetClass-style files we write, and real NanoAOD, PFNano, Delphes and tutorial files."""

from __future__ import annotations

import shutil
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest
import uproot
import vector

from rootml.columns import BOOKKEEPING_COLUMNS, JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS, PARTICLE_COLUMNS
from rootml.ingest import SampleSpec, ingest_file
from rootml.seeds import stable_event_ids

CLASSES = ["g", "q", "b", "t"]
ONE_HOT = {"g": "label_g == 1", "q": "label_q == 1"}
PFCANDS = {
    "pt": "PFCands_pt", "eta": "PFCands_eta", "phi": "PFCands_phi", "mass": "PFCands_mass", "pid": "PFCands_pdgId",
    "charge": "PFCands_charge",
}
# Config snippets for the real files (also the examples in the docs).
HZZ = {"files": ["uproot-HZZ.root"], "tree": "events", "collection": "Jet", "label": "q",
       "weight": "EventWeight", "branches": {"jet_btag": "Jet_btag"}}
NANO_FATJET = {"tree": "Events", "collection": "FatJet", "label": "t", "selection": "jet_pt > 200", "event_id": "event"}
NANO_JET = {
    "tree": "Events",
    "collection": "Jet",
    "event_id": "event",
    "selection": "jet_pt > 30 and abs(jet_eta) < 2.4",
    "labels": {"b": "Jet_hadronFlavour == 5", "q": "Jet_hadronFlavour == 0"},
}
PFNANO_JET = {
    "tree": "Events", "collection": "Jet", "label": "q", "event_id": "event",
    "branches": {"jet_pt": "Jet_pt * (1 - Jet_rawFactor)", "jet_mass": "Jet_mass * (1 - Jet_rawFactor)"},
    "sets": {"part": {"jet_index": "JetPFCands_jetIdx", "candidate_index": "JetPFCands_pFCandsIdx",
                      "branches": {**PFCANDS, "puppiWeight": "PFCands_puppiWeight"}}},
}
PFNANO_FATJET = {  # AK8 PUPPI jets: constituents enter with their PUPPI weight
    "tree": "Events", "collection": "FatJet", "label": "t", "event_id": "event",
    "branches": {"jet_pt": "FatJet_pt * (1 - FatJet_rawFactor)", "jet_mass": "FatJet_mass * (1 - FatJet_rawFactor)"},
    "sets": {"part": {"jet_index": "FatJetPFCands_jetIdx", "candidate_index": "FatJetPFCands_pFCandsIdx",
                      "branches": {**PFCANDS, "pt": "PFCands_pt * PFCands_puppiWeight",
                                   "mass": "PFCands_mass * PFCands_puppiWeight"}}},
}
DELPHES = {
    "tree": "Delphes",
    "collection": "Jet",
    "label": "q",
    "sets": {
        "part": {"refs": "Jet/Jet.Constituents", "collections": ["EFlowTrack", "EFlowPhoton", "EFlowNeutralHadron"]},
    },
}


def jetclass_arrays(n_jets: int, seed: int) -> dict[str, np.ndarray | ak.Array]:
    """JetClass-style columns: jets that are the sum of random constituents, one-hot g/q labels."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 25, n_jets)
    n = int(counts.sum())
    axis_eta, axis_phi = np.repeat(rng.uniform(-2, 2, n_jets), counts), np.repeat(rng.uniform(-3, 3, n_jets), counts)
    p = vector.array({"pt": rng.exponential(20.0, n) + 1.0, "eta": axis_eta + rng.normal(0, 0.3, n),
                      "phi": axis_phi + rng.normal(0, 0.3, n), "mass": np.zeros(n)})
    jets = vector.array(
        {k: np.add.reduceat(getattr(p, k), np.r_[0, np.cumsum(counts)[:-1]]) for k in ("px", "py", "pz", "E")}
    )
    pid = rng.choice([211, -211, 22, 130, 11, -13, 321], n)
    along = jets[np.repeat(np.arange(n_jets), counts)]
    charge = np.select([np.isin(pid, [211, 321, -13]), np.isin(pid, [-211, 11])], [1.0, -1.0], 0.0)
    flat = {
        "px": p.px,
        "py": p.py,
        "pz": p.pz,
        "energy": p.E,
        "deta": p.eta - along.eta,
        "dphi": p.deltaphi(along),
        "charge": charge,
        "pid": pid,
        "isChargedHadron": np.isin(pid, [211, -211, 321]),
        "isNeutralHadron": pid == 130,
        "isPhoton": pid == 22,
        "isElectron": np.abs(pid) == 11,
        "isMuon": np.abs(pid) == 13,
    }
    label = rng.integers(0, 2, n_jets)
    columns: dict = {
        "jet_pt": jets.pt,
        "jet_eta": jets.eta,
        "jet_phi": jets.phi,
        "jet_energy": jets.E,
        "jet_mass": jets.mass,
        "jet_nparticles": counts,
        **{f"jet_{k}": rng.uniform(0, 1, n_jets) for k in ("sdmass", "tau1", "tau2", "tau3", "tau4")},
        "label_g": label == 0,
        "label_q": label == 1,
    }
    columns = {k: np.asarray(v, dtype=np.float32) for k, v in columns.items()}
    columns["part"] = ak.zip(
        {k: ak.unflatten(np.asarray(v, dtype=np.int32 if k == "pid" else np.float32), counts) for k, v in flat.items()}
    )
    return columns


def write_tree(path: Path, columns: dict, tree: str = "tree") -> Path:
    """Write columns as a TTree (a record of jagged fields becomes <name>_<field> branches with one counter)."""
    with uproot.recreate(path) as f:
        f.mktree(tree, {k: v.type if isinstance(v, ak.Array) else v.dtype for k, v in columns.items()})
        f[tree].extend(columns)
    return path


def ingest(tmp_path: Path, source: Path, cfg: dict, name: str = "s", out: str | None = None) -> tuple[ak.Array, dict]:
    """Ingest `source` as sample `name` into tmp_path/out/<out or name>.parquet; return its content and the stats."""
    out = tmp_path / "out" / f"{out or name}.parquet"
    stats = ingest_file(source, out, spec=SampleSpec.from_config(name, cfg, CLASSES), file_index=0, classes=CLASSES,
                        progress=False)
    return ak.from_parquet(out), stats


def constituent_sums(jets: ak.Array) -> object:
    """Four-vector sum of each jet's written constituents."""
    return vector.array({k: ak.to_numpy(ak.sum(jets[f"part_{c}"], axis=1)) for k, c in
                         (("px", "px"), ("py", "py"), ("pz", "pz"), ("E", "energy"))})


def test_jetclass_file_needs_no_mapping(tmp_path: Path) -> None:
    """A JetClass-style file round-trips without a branch mapping; label_* branches only feed the labels."""
    written = jetclass_arrays(300, seed=1)
    source = write_tree(tmp_path / "jets.root", written)
    jets, stats = ingest(tmp_path, source, {"labels": ONE_HOT}, name="jc")
    assert jets.fields == [*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS, *PARTICLE_COLUMNS, *BOOKKEEPING_COLUMNS]
    assert stats["jets"] == stats["written"] == stats["entries"] == 300
    for name in (*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS):
        np.testing.assert_array_equal(ak.to_numpy(jets[name]), written[name])
    for name in PARTICLE_COLUMNS:
        assert ak.all(jets[name] == written["part"][name.removeprefix("part_")])
    np.testing.assert_array_equal(ak.to_numpy(jets.label), np.where(written["label_g"] == 1, 0, 1))
    np.testing.assert_array_equal(ak.to_numpy(jets.event_id), stable_event_ids("jc/jets.root", np.arange(300)))
    schema = pq.read_schema(tmp_path / "out" / "jc.parquet")
    assert {schema.field(n).type.__str__() for n in ("jet_pt", "weight")} == {"float"}
    assert [str(schema.field(n).type) for n in ("jet_nparticles", "label", "jet_index", "event_id")] == [
        "int32",
        "int32",
        "int32",
        "int64",
    ]
    assert str(schema.field("part_pid").type) == "list<element: int32 not null>"
    assert schema.metadata[b"rootml.classes"] == b'["g", "q", "b", "t"]'


def test_event_ids_follow_sample_and_file_name_not_directory(tmp_path: Path) -> None:
    """Moving a file keeps its event ids; another file name or sample gives other ids."""
    source = write_tree(tmp_path / "jets.root", jetclass_arrays(20, seed=2))
    moved = tmp_path / "elsewhere" / "jets.root"
    moved.parent.mkdir()
    shutil.copy(source, moved)
    renamed = tmp_path / "jets2.root"
    shutil.copy(source, renamed)
    ids = [ak.to_numpy(ingest(tmp_path, path, {"label": "g"}, name=name)[0].event_id)
           for path, name in ((source, "a"), (moved, "b"), (moved, "a"), (renamed, "a"))]
    np.testing.assert_array_equal(ids[0], ids[2])
    assert len(set(ids[0]) & set(ids[1])) == 0 and len(set(ids[0]) & set(ids[3])) == 0


def test_small_steps_stream_row_groups_with_the_same_content(tmp_path: Path) -> None:
    """step_size bounds each read: 300 entries in steps of 64 give 5 row groups and identical rows."""
    source = write_tree(tmp_path / "jets.root", jetclass_arrays(300, seed=3))
    whole, _ = ingest(tmp_path, source, {"label": "g"}, out="whole")
    stepped, stats = ingest(tmp_path, source, {"label": "g", "step_size": 64}, out="stepped")
    assert pq.ParquetFile(tmp_path / "out" / "stepped.parquet").num_row_groups == 5
    assert pq.ParquetFile(tmp_path / "out" / "whole.parquet").num_row_groups == 1
    assert ak.array_equal(whole, stepped) and stats["entries"] == 300


def test_rntuple_written_by_uproot_reads_like_the_ttree(tmp_path: Path) -> None:
    """uproot's `file[name] = dict` writes an RNTuple: the same JetClass-style columns give the same rows as a TTree."""
    written = jetclass_arrays(100, seed=9)
    columns = {k: v for k, v in written.items() if k != "part"} | {
        f"part_{field}": written["part"][field] for field in written["part"].fields
    }
    tables = {}
    for kind in ("ttree", "rntuple"):
        path = tmp_path / kind / "jets.root"
        path.parent.mkdir()
        if kind == "ttree":
            write_tree(path, written)
        else:
            with uproot.recreate(path) as f:
                f["tree"] = columns
        ingest(path.parent, path, {"labels": ONE_HOT, "step_size": 30})
        tables[kind] = pq.read_table(path.parent / "out" / "s.parquet")
    assert uproot.open(tmp_path / "rntuple" / "jets.root")["tree"].classname == "ROOT::RNTuple"
    assert tables["rntuple"].num_rows == 100 and tables["rntuple"].equals(tables["ttree"], check_metadata=True)


def test_missing_particle_columns_are_derived(tmp_path: Path) -> None:
    """From px/py/pz/E and pid alone: deta/dphi to the jet axis, charge from pid, type flags, jet mass and count."""
    full = jetclass_arrays(200, seed=4)
    part = full["part"]
    source = write_tree(
        tmp_path / "jets.root",
        {
            "jet_pt": full["jet_pt"],
            "jet_eta": full["jet_eta"],
            "jet_phi": full["jet_phi"],
            "jet_energy": full["jet_energy"],
            "part": ak.zip({k: part[k] for k in ("px", "py", "pz", "energy", "pid")}),
        },
    )
    jets, _ = ingest(tmp_path, source, {"label": "q"})
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), full["jet_mass"], rtol=2e-3, atol=5e-2)
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_nparticles), full["jet_nparticles"])
    for name in ("deta", "dphi"):
        np.testing.assert_allclose(
            ak.to_numpy(ak.flatten(jets[f"part_{name}"])), ak.to_numpy(ak.flatten(part[name])), atol=2e-4
        )
    for name in ("charge", "isChargedHadron", "isNeutralHadron", "isPhoton", "isElectron", "isMuon"):
        assert ak.all(jets[f"part_{name}"] == part[name]), name


def test_hzz_jets_flattened_one_row_per_jet(tmp_path: Path, shared_data: Path) -> None:
    """Jet_Px/Py/Pz/E lists become one row per jet with event-level weight repeated, no particle columns."""
    jets, stats = ingest(tmp_path, shared_data / "uproot-HZZ.root", HZZ)
    events = uproot.open(shared_data / "uproot-HZZ.root")["events"].arrays(
        ["NJet", "Jet_Px", "Jet_Py", "Jet_Pz", "Jet_E", "EventWeight"]
    )
    assert stats["entries"] == 2421 and stats["written"] == len(jets) == ak.sum(events.NJet) == 2773
    assert "part_px" not in jets.fields and "jet_btag" in jets.fields
    np.testing.assert_allclose(
        ak.to_numpy(jets.jet_pt), ak.to_numpy(ak.flatten(np.hypot(events.Jet_Px, events.Jet_Py))), rtol=1e-6
    )
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_index), ak.to_numpy(ak.flatten(ak.local_index(events.Jet_Px))))
    np.testing.assert_array_equal(
        ak.to_numpy(jets.weight), np.repeat(ak.to_numpy(events.EventWeight), ak.to_numpy(events.NJet))
    )
    entry = np.repeat(np.arange(2421), ak.to_numpy(events.NJet))
    np.testing.assert_array_equal(ak.to_numpy(jets.event_id), stable_event_ids("s/uproot-HZZ.root", entry))
    mass2 = ak.to_numpy(ak.flatten(events.Jet_E**2 - events.Jet_Px**2 - events.Jet_Py**2 - events.Jet_Pz**2))
    np.testing.assert_allclose(ak.to_numpy(jets.jet_mass), np.sqrt(np.clip(mass2, 0, None)), rtol=1e-3, atol=2e-2)


def test_nanoaod_fatjets_and_jets_with_selection_labels_and_event_ids(tmp_path: Path, shared_data: Path) -> None:
    """NanoAOD collections by naming convention; selection, per-jet labels and `event` as the event id."""
    path = shared_data / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
    events = uproot.open(path)["Events"].arrays(
        ["event", "Jet_pt", "Jet_eta", "Jet_hadronFlavour", "FatJet_pt", "FatJet_tau2"]
    )
    fat, _ = ingest(tmp_path, path, NANO_FATJET, name="fat")
    passing = events.FatJet_pt > 200
    np.testing.assert_array_equal(ak.to_numpy(fat.jet_pt), ak.to_numpy(ak.flatten(events.FatJet_pt[passing])))
    np.testing.assert_array_equal(ak.to_numpy(fat.jet_tau2), ak.to_numpy(ak.flatten(events.FatJet_tau2[passing])))
    assert set(ak.to_numpy(fat.label)) == {3}
    jets, stats = ingest(tmp_path, path, NANO_JET, name="jet")
    flavour = ak.flatten(events.Jet_hadronFlavour)
    kinematic = ak.flatten((events.Jet_pt > 30) & (abs(events.Jet_eta) < 2.4))
    keep = ak.to_numpy(kinematic & ((flavour == 5) | (flavour == 0)))
    assert stats["jets"] == ak.sum(ak.num(events.Jet_pt)) and len(jets) == keep.sum() > 50
    assert stats["unlabelled"] == ak.sum(~((flavour == 5) | (flavour == 0)))
    np.testing.assert_array_equal(ak.to_numpy(jets.label), np.where(ak.to_numpy(flavour)[keep] == 5, 2, 1))
    event = np.repeat(ak.to_numpy(events.event), ak.to_numpy(ak.num(events.Jet_pt)))[keep]
    np.testing.assert_array_equal(
        ak.to_numpy(jets.event_id), stable_event_ids("jet/nanoAOD_2015_CMS_Open_Data_ttbar.root", event)
    )


@pytest.mark.parametrize(("cfg", "collection", "quantiles"), [
    (PFNANO_JET, "Jet", (0.998, 1.003)), (PFNANO_FATJET, "FatJet", (0.997, 1.001)),
], ids=["ak4", "ak8-puppi"])
def test_pfnano_constituents_through_link_table_sum_to_the_jet(
    tmp_path: Path, shared_data: Path, cfg: dict, collection: str, quantiles: tuple[float, float],
) -> None:
    """PFCands linked by (jetIdx, pFCandsIdx): each jet's constituent sum matches its raw four-momentum."""
    jets, stats = ingest(tmp_path, shared_data / "pfnano.root", cfg)
    events = uproot.open(shared_data / "pfnano.root")["Events"].arrays(
        [f"n{collection}", f"{collection}PFCands_jetIdx"]
    )
    assert stats["written"] == ak.sum(events[f"n{collection}"]) == len(jets)
    links_per_jet = [
        np.bincount(idx, minlength=n)
        for idx, n in zip(ak.to_list(events[f"{collection}PFCands_jetIdx"]), ak.to_list(events[f"n{collection}"]))
    ]
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_nparticles), np.concatenate(links_per_jet))
    sums = constituent_sums(jets)
    ratio = sums.pt / ak.to_numpy(jets.jet_pt)
    assert quantiles[0] < ratio.min() and ratio.max() < quantiles[1]
    assert np.abs(sums.eta - ak.to_numpy(jets.jet_eta)).max() < 1e-3
    assert np.median(np.abs(sums.mass / ak.to_numpy(jets.jet_mass) - 1)) < 2e-3
    assert ak.all(ak.num(jets.part_deta) == jets.jet_nparticles)
    assert ak.sum(jets.part_isPhoton) > 0 and ak.sum(jets.part_isChargedHadron) > ak.sum(jets.part_isNeutralHadron) > 0


def test_pfnano_link_table_columns_are_taken_per_link(tmp_path: Path, shared_data: Path) -> None:
    """A branch of the link table itself (JetPFCands_pt) is taken per link, equal to the gathered candidate pt."""
    part = PFNANO_JET["sets"]["part"]
    cfg = {**PFNANO_JET, "sets": {"part": {**part, "branches": {**PFCANDS, "linkpt": "JetPFCands_pt"}}}}
    jets, _ = ingest(tmp_path, shared_data / "pfnano.root", cfg)
    candidate_pt = np.hypot(ak.flatten(jets.part_px), ak.flatten(jets.part_py))
    np.testing.assert_allclose(ak.to_numpy(ak.flatten(jets.part_linkpt)), ak.to_numpy(candidate_pt), rtol=1e-5)


def test_delphes_constituents_through_refs_match_the_jets(tmp_path: Path, shared_data: Path) -> None:
    """Jet.Constituents unique ids resolve into EFlow*; the sums give the jet direction and, up to the JES factor,
    its p4."""
    jets, stats = ingest(tmp_path, shared_data / "uproot-issue513.root", DELPHES)
    refs = uproot.open(shared_data / "uproot-issue513.root")["Delphes"]["Jet/Jet.Constituents"].array()["refs"]
    assert stats["written"] == len(jets) == 60
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_nparticles), ak.to_numpy(ak.flatten(ak.num(refs, axis=2))))
    sums = constituent_sums(jets)
    assert np.abs(sums.eta - ak.to_numpy(jets.jet_eta)).max() < 1e-5
    assert (
        np.abs(
            sums.deltaphi(
                vector.array(
                    {
                        "pt": ak.to_numpy(jets.jet_pt),
                        "eta": ak.to_numpy(jets.jet_eta),
                        "phi": ak.to_numpy(jets.jet_phi),
                        "mass": ak.to_numpy(jets.jet_mass),
                    }
                )
            )
        ).max()
        < 1e-5
    )
    scale = ak.to_numpy(jets.jet_pt) / sums.pt  # Delphes' jet energy scale multiplies the whole four-vector
    assert 1.0 < scale.min() and scale.max() < 1.15
    np.testing.assert_allclose(ak.to_numpy(jets.jet_energy) / sums.E, scale, rtol=1e-3)
    n_photons = sum(
        len(x)
        for x in ak.to_list(
            uproot.open(shared_data / "uproot-issue513.root")["Delphes"]["EFlowPhoton/EFlowPhoton.ET"].array()
        )
    )
    assert 0 < ak.sum(jets.part_isPhoton) <= n_photons
    assert ak.all((jets.part_charge != 0) == (jets.part_isChargedHadron + jets.part_isElectron + jets.part_isMuon > 0))


def test_branch_expressions_evaluate_on_jagged_branches(tmp_path: Path, shared_data: Path) -> None:
    """Mapped expressions are evaluated by rootml on the jagged branches read, before the jets are flattened."""
    mapped = {"jet_pt": "sqrt(Jet_Px**2 + Jet_Py**2)", "jet_abspx": "where(Jet_Px > 0, Jet_Px, -Jet_Px)"}
    cfg = {**HZZ, "branches": mapped}
    jets, _ = ingest(tmp_path, shared_data / "uproot-HZZ.root", cfg)
    events = uproot.open(shared_data / "uproot-HZZ.root")["events"].arrays(["Jet_Px", "Jet_Py"])
    pt = ak.to_numpy(ak.flatten(np.hypot(events.Jet_Px, events.Jet_Py)))
    np.testing.assert_allclose(ak.to_numpy(jets.jet_pt), pt, rtol=1e-6)
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_abspx), ak.to_numpy(ak.flatten(abs(events.Jet_Px))))


def test_delphes_branch_names_are_read_directly(tmp_path: Path, shared_data: Path) -> None:
    """Delphes-style names (`Jet.BTag`, `Jet/Jet.Flavor`) are branch names, not expressions."""
    cfg = {**DELPHES, "branches": {"jet_btag": "Jet.BTag", "jet_flavor": "Jet/Jet.Flavor"}}
    jets, _ = ingest(tmp_path, shared_data / "uproot-issue513.root", cfg)
    tree = uproot.open(shared_data / "uproot-issue513.root")["Delphes"]
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_btag), ak.to_numpy(ak.flatten(tree["Jet/Jet.BTag"].array())))
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_flavor), ak.to_numpy(ak.flatten(tree["Jet/Jet.Flavor"].array())))
