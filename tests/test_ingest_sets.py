"""Sets of each row (several per row, from every source), event rows, free columns, branch("...") and RNTuples, on
the real files of ../shared/data."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import uproot
import vector

from rootml.columns import BOOKKEEPING_COLUMNS, JET_COLUMNS, JET_SUBSTRUCTURE_COLUMNS, PARTICLE_COLUMNS
from test_ingest_root import DELPHES, PFCANDS, PFNANO_FATJET, constituent_sums, ingest

EDM4HEP = "p8_ee_WW_ecm240_edm4hep.root"
RELATION = "_Jet_particles/_Jet_particles.index"
# Config snippets for the real files (also the examples in the docs).
PFNANO_TWO_SETS = {  # AK8 jets with their PF candidates and their secondary vertices, both through link tables
    **PFNANO_FATJET,
    "sets": {
        "part": PFNANO_FATJET["sets"]["part"],
        "sv": {"jet_index": "FatJetSVs_jetIdx", "candidate_index": "FatJetSVs_sVIdx",
               "branches": {"pt": "SV_pt", "eta": "SV_eta", "phi": "SV_phi", "mass": "SV_mass",
                            "dxysig": "SV_dxySig", "ptrel": "FatJetSVs_ptrel"}},
    },
}
EDM4HEP_JETS = {  # FCC-ee jets with their reconstructed particles through the podio relation Jet.particles
    "tree": "events", "collection": "Jet", "label": "q",
    "sets": {"part": {"relation": "Jet.particles", "collections": ["ReconstructedParticles"]}},
}
NANO_EVENTS = {  # one row per dimuon event: MET and counts as columns, the muons and electrons as sets
    "tree": "Events", "label": "q", "event_id": "event",
    "branches": {"met": "MET_pt", "met_phi": "MET_phi", "n_muons": "nMuon"},
    "sets": {"muons": {"collection": "Muon", "branches": {"iso": "Muon_pfRelIso04_all", "tight": "Muon_tightId"}},
             "electrons": {"collection": "Electron"}},
}
HZZ_EVENTS = {  # the tutorial ntuple's events: jets and muons of each event (Jet_Px, Muon_Px, ...) as two sets
    "tree": "events", "label": "q", "weight": "EventWeight",
    "branches": {"met_px": "MET_px", "met_py": "MET_py", "n_jets": "NJet"},
    "sets": {"jets": {"collection": "Jet", "branches": {"btag": "Jet_btag"}}, "muons": {"collection": "Muon"}},
}
DELPHES_EVENTS = {  # Delphes events: tracks and photons (Track/Track.PT, ...) as sets, the jet count as a column
    "tree": "Delphes", "label": "q", "branches": {"n_jets": "Jet_size"},
    "sets": {"tracks": {"collection": "Track"}, "photons": {"collection": "EFlowPhoton"}},
}


def branches(path: Path, tree: str, names: list[str]) -> dict[str, ak.Array]:
    """Arrays of `names` read straight with uproot."""
    return uproot.open(path)[tree].arrays(names, how=dict)


def flat(values: ak.Array) -> np.ndarray:
    """All values of a (jagged) column as one numpy array."""
    return ak.to_numpy(ak.flatten(values, axis=None))


def test_two_sets_per_jet_through_link_tables(tmp_path: Path, shared_data: Path) -> None:
    """PFNano AK8 jets get their PF candidates (set part) and secondary vertices (set sv) in the same row; the SVs are
    completed to four-momenta and to (deta, dphi) from the jet axis, the per-link FatJetSVs_ptrel kept per link."""
    jets, stats = ingest(tmp_path, shared_data / "pfnano.root", PFNANO_TWO_SETS)
    events = branches(shared_data / "pfnano.root", "Events",
                      ["nFatJet", "FatJetSVs_jetIdx", "FatJetSVs_sVIdx", "FatJetSVs_ptrel", "SV_pt", "SV_eta"])
    assert stats["written"] == len(jets) == ak.sum(events["nFatJet"]) == 24
    sv_fields = ("pt", "eta", "phi", "mass", "dxysig", "ptrel", "px", "py", "pz", "energy", "deta", "dphi")
    columns = [*JET_COLUMNS, *JET_SUBSTRUCTURE_COLUMNS, *PARTICLE_COLUMNS, *(f"sv_{f}" for f in sv_fields)]
    assert jets.fields == [*columns, *BOOKKEEPING_COLUMNS]
    stored = events["FatJetSVs_sVIdx"] >= 0  # -1: the vertex is not in the SV collection, the link is left out
    jet_of_link, sv_of_link = events["FatJetSVs_jetIdx"][stored], events["FatJetSVs_sVIdx"][stored]
    per_jet = np.concatenate([np.bincount(idx, minlength=n) for idx, n in
                              zip(ak.to_list(jet_of_link), ak.to_list(events["nFatJet"]))])
    np.testing.assert_array_equal(ak.to_numpy(ak.num(jets.sv_pt)), per_jet)
    assert per_jet.sum() == 32 and ak.all(ak.num(jets.part_px) == jets.jet_nparticles)
    order = ak.argsort(jet_of_link, stable=True)
    np.testing.assert_array_equal(flat(jets.sv_pt), flat(events["SV_pt"][sv_of_link[order]]))
    np.testing.assert_array_equal(flat(jets.sv_ptrel), flat(events["FatJetSVs_ptrel"][stored][order]))
    sv_pt = flat(jets.sv_pt)
    np.testing.assert_allclose(flat(np.hypot(jets.sv_px, jets.sv_py)), sv_pt, rtol=1e-5)
    np.testing.assert_allclose(flat(jets.sv_deta), flat(jets.sv_eta - jets.jet_eta), atol=1e-5)
    assert flat(abs(jets.sv_dphi)).max() < 0.8  # inside the AK8 cone
    assert str(pq.read_schema(tmp_path / "out" / "s.parquet").field("sv_px").type) == "list<element: float not null>"


def test_edm4hep_jets_through_the_podio_relation(tmp_path: Path, shared_data: Path) -> None:
    """Jet.particles_begin/_end ranges into _Jet_particles.index give each FCC-ee jet its reconstructed particles
    (found by their EDM4hep names momentum.x, energy, PDG, charge): they sum exactly to the jet."""
    jets, stats = ingest(tmp_path, shared_data / EDM4HEP, EDM4HEP_JETS)
    events = branches(shared_data / EDM4HEP, "events", [
        "Jet/Jet.particles_begin", "Jet/Jet.particles_end", "Jet/Jet.energy", RELATION,
        "ReconstructedParticles/ReconstructedParticles.charge",
    ])
    assert stats["written"] == len(jets) == 26
    size = events["Jet/Jet.particles_end"] - events["Jet/Jet.particles_begin"]
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_nparticles), flat(size))
    np.testing.assert_array_equal(ak.to_numpy(jets.jet_energy), flat(events["Jet/Jet.energy"]))
    sums = constituent_sums(jets)
    np.testing.assert_allclose(sums.E, ak.to_numpy(jets.jet_energy), rtol=1e-5)
    np.testing.assert_allclose(sums.pt, ak.to_numpy(jets.jet_pt), rtol=1e-4)
    np.testing.assert_allclose(sums.mass, ak.to_numpy(jets.jet_mass), rtol=1e-3, atol=1e-2)
    assert set(flat(jets.part_pid)) == {0, 22, 130} and ak.sum(jets.part_isPhoton) > 0
    ranges = zip(flat(events["Jet/Jet.particles_begin"]), flat(events["Jet/Jet.particles_end"]), strict=True)
    event = np.repeat(np.arange(10), ak.to_numpy(ak.num(size)))
    charges = events["ReconstructedParticles/ReconstructedParticles.charge"]
    charge = [ak.to_numpy(charges[e][events[RELATION][e][b:s]]) for e, (b, s) in zip(event, ranges, strict=True)]
    np.testing.assert_array_equal(flat(jets.part_charge), np.concatenate(charge))


def test_event_rows_with_per_event_collections(tmp_path: Path, shared_data: Path) -> None:
    """Without `collection` a row is an event: MET and counts are columns, the event's muons and electrons are sets
    (NanoAOD Muon_pt, ... found by name, extra fields mapped); no jet columns, no axis to take deta/dphi from."""
    rows, stats = ingest(tmp_path, shared_data / "nano_dimuon.root", NANO_EVENTS)
    events = branches(shared_data / "nano_dimuon.root", "Events",
                      ["MET_pt", "nMuon", "Muon_pt", "Muon_eta", "Muon_phi", "Muon_mass", "Muon_tightId",
                       "Electron_pt"])
    assert stats["entries"] == stats["written"] == len(rows) == 40
    fields = ("pt", "eta", "phi", "mass", "charge", "pid")
    assert rows.fields == [
        *(f"muons_{f}" for f in (*fields, "iso", "tight", "px", "py", "pz", "energy")),
        *(f"electrons_{f}" for f in (*fields, "px", "py", "pz", "energy")), "met", "met_phi", "n_muons",
        *BOOKKEEPING_COLUMNS,
    ]
    np.testing.assert_array_equal(ak.to_numpy(rows.met), ak.to_numpy(events["MET_pt"]))
    np.testing.assert_array_equal(ak.to_numpy(rows.n_muons), ak.to_numpy(events["nMuon"]))
    assert ak.array_equal(rows.muons_pt, events["Muon_pt"]) and ak.array_equal(rows.muons_tight, events["Muon_tightId"])
    np.testing.assert_array_equal(ak.to_numpy(ak.num(rows.electrons_pt)), ak.to_numpy(ak.num(events["Electron_pt"])))
    muons = vector.zip({"pt": events["Muon_pt"], "eta": events["Muon_eta"], "phi": events["Muon_phi"],
                        "mass": events["Muon_mass"]})
    np.testing.assert_allclose(flat(rows.muons_pz), flat(muons.pz), rtol=1e-5)
    assert ak.all(rows.jet_index == 0)


def test_event_rows_of_the_tutorial_ntuple_with_two_sets_and_a_weight(tmp_path: Path, shared_data: Path) -> None:
    """HZZ events: the jets (Jet_Px/Py/Pz/E) and muons (+ Muon_Charge) of each event as sets, weighted per event."""
    rows, _ = ingest(tmp_path, shared_data / "uproot-HZZ.root", HZZ_EVENTS)
    events = branches(shared_data / "uproot-HZZ.root", "events", ["Jet_Px", "Jet_E", "Muon_Charge", "EventWeight"])
    assert len(rows) == 2421 and not any(name.startswith("jet_") and name != "jet_index" for name in rows.fields)
    assert [f for f in rows.fields if f.startswith("jets_")] == [f"jets_{f}" for f in ("px", "py", "pz", "energy",
                                                                                        "btag")]
    assert ak.array_equal(rows.jets_px, events["Jet_Px"]) and ak.array_equal(rows.jets_energy, events["Jet_E"])
    assert ak.array_equal(rows.muons_charge, events["Muon_Charge"])
    np.testing.assert_array_equal(ak.to_numpy(rows.weight), ak.to_numpy(events["EventWeight"]))


def test_event_rows_of_delphes_collections(tmp_path: Path, shared_data: Path) -> None:
    """Delphes events: Track/Track.PT, ... and EFlowPhoton/EFlowPhoton.ET, ... found by name, the counter Jet_size
    a column."""
    path = shared_data / "uproot-issue513.root"
    rows, _ = ingest(tmp_path, path, DELPHES_EVENTS)
    tree = uproot.open(path)["Delphes"]
    assert ak.array_equal(rows.tracks_pt, tree["Track/Track.PT"].array())
    assert ak.array_equal(rows.photons_pt, tree["EFlowPhoton/EFlowPhoton.ET"].array())
    np.testing.assert_array_equal(ak.to_numpy(rows.n_jets), ak.to_numpy(tree["Jet_size"].array()))
    # tracks have PT/Eta/Phi without a mass: completed as massless
    np.testing.assert_allclose(flat(rows.tracks_energy), flat(tree["Track/Track.PT"].array() * np.cosh(
        tree["Track/Track.Eta"].array())), rtol=1e-5)


def test_event_rows_with_scalar_jet_kinematics(tmp_path: Path, shared_data: Path) -> None:
    """Zmumu's dimuon events mapped to scalar jet kinematics (the muon pair's sum) get the canonical jet columns."""
    cfg = {"tree": "events", "label": "q", "branches": {
        "jet_px": "px1 + px2", "jet_py": "py1 + py2", "jet_pz": "pz1 + pz2", "jet_energy": "E1 + E2",
        "charge": "Q1 + Q2", "mass": "M"}}
    rows, _ = ingest(tmp_path, shared_data / "uproot-Zmumu.root", cfg)
    assert rows.fields == [*JET_COLUMNS, "charge", "mass", *BOOKKEEPING_COLUMNS]
    np.testing.assert_allclose(ak.to_numpy(rows.jet_mass), ak.to_numpy(rows.mass), rtol=1e-3, atol=1e-2)
    assert ak.all(rows.jet_nparticles == 0)


def test_delphes_free_columns_and_labels_read_dotted_leaves(tmp_path: Path, shared_data: Path) -> None:
    """Columns of any name from a dotted leaf (`Jet.BTag`) or an expression over branch("..."); labels and the
    selection use branch("Jet.Flavor") too."""
    cfg = {**DELPHES, "label": None, "labels": {"b": 'branch("Jet.Flavor") == 5', "q": 'branch("Jet.Flavor") != 5'},
           "selection": 'branch("Jet/Jet.PT") > 20',
           "branches": {"flavor": 'branch("Jet.Flavor")', "btag": "Jet.BTag",
                        "pt_over_mass": 'branch("Jet/Jet.PT") / maximum(branch("Jet.Mass"), 1)'}}
    del cfg["label"]
    jets, stats = ingest(tmp_path, shared_data / "uproot-issue513.root", cfg)
    tree = uproot.open(shared_data / "uproot-issue513.root")["Delphes"]
    flavor, pt, mass = (flat(tree[f"Jet/Jet.{leaf}"].array()) for leaf in ("Flavor", "PT", "Mass"))
    keep = pt > 20
    assert stats["jets"] == 60 and stats["rejected"] == (~keep).sum() and len(jets) == keep.sum()
    assert jets.fields[-7:] == ["flavor", "btag", "pt_over_mass", *BOOKKEEPING_COLUMNS]
    np.testing.assert_array_equal(ak.to_numpy(jets.flavor), flavor[keep])
    np.testing.assert_array_equal(ak.to_numpy(jets.label), np.where(flavor[keep] == 5, 2, 1))
    np.testing.assert_allclose(ak.to_numpy(jets.pt_over_mass), (pt / np.maximum(mass, 1))[keep], rtol=1e-6)


def test_delphes_refs_match_the_object_number(tmp_path: Path, shared_data: Path, monkeypatch) -> None:
    """A Delphes file whose fUniqueID values carry a process index in the high byte (0x01, as files from other
    set-ups do; the refs hold only the object number) gives the same rows as the file as it is.

    uproot cannot write a TRefArray (nor any list of lists into a TTree), so the copy is made in memory: the
    arrays uproot reads get the high byte before rootml sees them.
    """
    path = shared_data / "uproot-issue513.root"
    plain, _ = ingest(tmp_path, path, DELPHES, out="plain")
    iterate = uproot.behaviors.TBranch.HasBranches.iterate
    shifted_branches = []

    def with_process_index(self, *args, **kwargs):
        """uproot's iterate, each fUniqueID with 0x01000000 added."""
        for arrays, report in iterate(self, *args, **kwargs):
            for name in [n for n in arrays if n.endswith(".fUniqueID")]:
                arrays[name] = arrays[name] | 0x01000000
                shifted_branches.append(name)
            yield arrays, report

    monkeypatch.setattr(uproot.behaviors.TBranch.HasBranches, "iterate", with_process_index)
    shifted, _ = ingest(tmp_path, path, DELPHES, out="shifted")
    assert sorted(set(shifted_branches)) == [f"{c}/{c}.fUniqueID" for c in ("EFlowNeutralHadron", "EFlowPhoton",
                                                                             "EFlowTrack")]
    assert len(plain) == 60 and ak.array_equal(plain, shifted)


def test_rntuple_ingests_like_the_ttree(tmp_path: Path, shared_data: Path) -> None:
    """pfnano_rntuple.root (an RNTuple) and pfnano.root (a TTree) of the same content give identical rows with the
    same config: AK8 jets with PF candidates through the link table, read in steps of 3 events."""
    tables = {}
    for kind, source in (("ttree", "pfnano.root"), ("rntuple", "pfnano_rntuple.root")):
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "pfnano.root").symlink_to(shared_data / source)  # one file name: the same event ids
        ingest(folder, folder / "pfnano.root", {**PFNANO_FATJET, "step_size": 3})
        tables[kind] = pq.read_table(folder / "out" / "s.parquet")
    assert uproot.open(shared_data / "pfnano_rntuple.root")["Events"].classname == "ROOT::RNTuple"
    assert tables["rntuple"].num_rows == 24 and tables["rntuple"].column_names == tables["ttree"].column_names
    assert tables["rntuple"].equals(tables["ttree"], check_metadata=True)
    assert pq.ParquetFile(tmp_path / "rntuple" / "out" / "s.parquet").num_row_groups == 4


def test_pfcands_of_an_event_as_an_event_set(tmp_path: Path, shared_data: Path) -> None:
    """Set part of event rows (all PF candidates of the event): the jet columns are their sum, deta/dphi relative
    to it."""
    cfg = {"tree": "Events", "label": "q", "sets": {"part": {"collection": "PFCands", "branches": dict(PFCANDS)}}}
    rows, _ = ingest(tmp_path, shared_data / "pfnano.root", cfg)
    events = branches(shared_data / "pfnano.root", "Events", ["nPFCands"])
    np.testing.assert_array_equal(ak.to_numpy(rows.jet_nparticles), ak.to_numpy(events["nPFCands"]))
    sums = constituent_sums(rows)
    np.testing.assert_allclose(sums.pt, ak.to_numpy(rows.jet_pt), rtol=1e-4)
    eta = np.arcsinh(rows.part_pz / np.hypot(rows.part_px, rows.part_py))
    np.testing.assert_allclose(flat(rows.part_deta), flat(eta - rows.jet_eta), atol=1e-4)
