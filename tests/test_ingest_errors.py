"""Bad input stops ingestion with a message naming the file, branch or config key, and leaves no output file."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from rootml.errors import ConfigError, InputError
from rootml.ingest import SampleSpec, ingest_file
from test_ingest_root import CLASSES, DELPHES, NANO_FATJET, ONE_HOT, PFNANO_JET, jetclass_arrays, write_tree
from test_ingest_sets import EDM4HEP, EDM4HEP_JETS, NANO_EVENTS, RELATION

NANO = "nanoAOD_2015_CMS_Open_Data_ttbar.root"


def fails(tmp_path: Path, source: Path, cfg: dict, error: type[Exception], *needles: str) -> None:
    """Ingesting must raise `error` mentioning every needle and leave nothing in the output folder."""
    out = tmp_path / "out" / "s.parquet"
    with pytest.raises(error) as info:
        ingest_file(
            source, out, spec=SampleSpec.from_config("s", cfg, CLASSES), file_index=0, classes=CLASSES, progress=False
        )
    for needle in needles:
        assert needle in str(info.value)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_missing_file(tmp_path: Path) -> None:
    """A file that does not exist is named."""
    fails(tmp_path, tmp_path / "nowhere.root", {"label": "g"}, InputError, "not found", "nowhere.root")


@pytest.mark.parametrize(("cfg", "needles"), [
    ({"branches": {"jet_pt": "FatJet_ptx"}}, ("FatJet_ptx", "samples.s.branches.jet_pt", NANO)),
    ({"branches": {"jet_pt": "FatJet_ptx * 2"}}, ("FatJet_ptx", NANO)),
    ({"selection": "FatJet_nope > 1"}, ("FatJet_nope", "samples.s.selection", NANO)),
    ({"tree": "Evts"}, ("Evts", NANO)),
], ids=["branch", "branch-in-expression", "branch-in-selection", "tree"])
def test_missing_branch_or_tree(tmp_path: Path, shared_data: Path, cfg: dict, needles: tuple[str, ...]) -> None:
    """A mapped or referenced branch (or the tree) that the file lacks is named with the file."""
    fails(tmp_path, shared_data / NANO, {**NANO_FATJET, **cfg}, InputError, *needles)


def test_truncated_file(tmp_path: Path, shared_data: Path) -> None:
    """A ROOT file cut to half its size is reported as unreadable, naming the file."""
    data = (shared_data / "uproot-HZZ.root").read_bytes()
    truncated = tmp_path / "half.root"
    truncated.write_bytes(data[: len(data) // 2])
    fails(
        tmp_path,
        truncated,
        {"tree": "events", "collection": "Jet", "label": "g"},
        InputError,
        "corrupt or truncated",
        "half.root",
    )


def test_not_a_root_file(tmp_path: Path) -> None:
    """Random bytes are not a ROOT file."""
    junk = tmp_path / "junk.root"
    junk.write_bytes(b"not a ROOT file" * 100)
    fails(tmp_path, junk, {"label": "g"}, InputError, "junk.root")


def test_empty_tree(tmp_path: Path) -> None:
    """A TTree without entries is refused."""
    path = tmp_path / "empty.root"
    with uproot.recreate(path) as f:
        f.mktree("tree", {"jet_pt": np.float32, "jet_eta": np.float32})
    fails(tmp_path, path, {"label": "g"}, InputError, "no entries", "empty.root")


def test_object_that_is_no_tree(tmp_path: Path) -> None:
    """A histogram under the tree's name is named as such instead of failing obscurely."""
    path = tmp_path / "histogram.root"
    with uproot.recreate(path) as f:
        f["tree"] = np.histogram(np.arange(10.0), bins=5)
    fails(tmp_path, path, {"label": "g"}, InputError, "TH1D", "not a TTree or an RNTuple", "histogram.root")


@pytest.mark.parametrize(("column", "bad"), [("jet_eta", np.inf), ("part_px", np.nan)])
def test_nan_or_inf_values(tmp_path: Path, column: str, bad: float) -> None:
    """A NaN or inf in a flat or jagged branch names the branch and file, even in a later step."""
    arrays = jetclass_arrays(100, seed=5)
    if column == "jet_eta":
        arrays["jet_eta"][90] = bad
    else:
        flat = ak.to_numpy(ak.flatten(arrays["part"]["px"])).copy()
        flat[-1] = bad
        arrays["part"] = ak.with_field(arrays["part"], ak.unflatten(flat, ak.num(arrays["part"])), "px")
    path = write_tree(tmp_path / "bad.root", arrays)
    fails(tmp_path, path, {"labels": ONE_HOT, "step_size": 30}, InputError, f"branch '{column}'", "bad.root", str(bad))


def test_link_index_out_of_range(tmp_path: Path) -> None:
    """A link table pointing past the jets of its event names the index branch."""
    path = tmp_path / "links.root"
    with uproot.recreate(path) as f:
        data = {
            "Jet_pt": ak.Array([[50.0, 40.0]]),
            "Jet_eta": ak.Array([[0.1, 0.2]]),
            "Jet_phi": ak.Array([[0.3, 0.4]]),
            "Jet_mass": ak.Array([[5.0, 4.0]]),
            "Cand_pt": ak.Array([[10.0, 5.0]]),
            "Cand_eta": ak.Array([[0.1, 0.2]]),
            "Cand_phi": ak.Array([[0.3, 0.4]]),
            "Link_jetIdx": ak.Array([[0, 2]]),
            "Link_candIdx": ak.Array([[0, 1]]),
        }
        f.mktree("Events", {k: v.type for k, v in data.items()})
        f["Events"].extend(data)
    cfg = {"tree": "Events", "collection": "Jet", "label": "g", "sets": {"part": {
        "jet_index": "Link_jetIdx", "candidate_index": "Link_candIdx",
        "branches": {"pt": "Cand_pt", "eta": "Cand_eta", "phi": "Cand_phi"}}}}
    fails(tmp_path, path, cfg, InputError, "jet index 2 out of range", "Link_jetIdx", "links.root")


def test_label_expressions_that_overlap(tmp_path: Path, shared_data: Path) -> None:
    """A jet matching two classes' expressions is an error naming both classes."""
    cfg = {**NANO_FATJET, "label": None, "labels": {"t": "jet_pt > 0", "b": "jet_pt > 250"}}
    del cfg["label"]
    fails(tmp_path, shared_data / NANO, cfg, InputError, "'t'", "'b'", NANO)


@pytest.mark.parametrize(("cfg", "key"), [
    ({"format": "csv", "label": "g"}, "samples.s.format"),
    ({"label": "w"}, "samples.s.label"),
    ({"labels": {"g": "label_g == 1", "zz": "label_q == 1"}}, "samples.s.labels.zz"),
    ({"label": "g", "labels": ONE_HOT}, "samples.s"),
    ({"label": "g", "selection": "jet_pt >"}, "samples.s.selection"),
    ({"label": "g", "weight": "jet_pt.__class__"}, "samples.s.weight"),
    ({"label": "g", "selection": "__import__('os')"}, "samples.s.selection"),
    ({"label": "g", "colection": "Jet"}, "samples.s.colection"),
    ({"label": "g", "step_size": "lots"}, "samples.s.step_size"),
    ({"label": "g", "format": "hls4ml", "step_size": "100 MB"}, "samples.s.step_size"),
    ({"label": "g", "sets": {"part": {"jet_index": "JetPFCands_jetIdx"}}}, "samples.s.sets.part"),
    ({"label": "g", "sets": {"part": {"refs": "Jet/Jet.Constituents"}}}, "samples.s.sets.part"),
    ({"label": "g", "branches": {"jet pt": "Jet_pt"}}, "samples.s.branches.jet pt"),
    ({"label": "g", "branches": {"jet_sdmass": "0"}}, "samples.s.branches.jet_sdmass"),
    ({"label": "g", "constituents": {"branches": {"part_pt": "x"}}}, "samples.s.constituents"),
    ({"label": "g", "sets": {"jet": {"branches": {"pt": "Jet_pt"}}}}, "samples.s.sets.jet"),
    ({"label": "g", "sets": {"m": {"collections": ["Muon"]}}}, "samples.s.sets.m.collections"),
    ({"label": "g", "collection": "Jet", "sets": {"m": {"collection": "Muon"}}}, "samples.s.sets.m.collection"),
    ({"label": "g", "collection": "Jet", "sets": {"part": {"refs": "Jet/Jet.Constituents", "collections": ["T"],
                                                          "relation": "Jet.particles"}}}, "samples.s.sets.part"),
    ({"label": "g", "collection": "FatJet", "sets": {"part": {"relation": "Jet.particles", "collections": ["R"]}}},
     "samples.s.sets.part.relation"),
    ({"label": "g", "collection": "Jet", "sets": {"part": {"relation": "Jet.particles", "collections": ["R", "P"]}}},
     "samples.s.sets.part.collections"),
    ({"label": "g", "sets": {"part": {"relation": "Jet.particles", "collections": ["R"]}}}, "samples.s.collection"),
    ({"label": "g", "branches": {"m_pt": "x"}, "sets": {"m": {"branches": {"pt": "Muon_pt"}}}},
     "samples.s.branches.m_pt"),
    ({"label": "g", "selection": "branch(Jet_pt) > 1"}, "samples.s.selection"),
    ({"label": "g", "collection": "Jet", "sets": {"part": {"relation": "Jet.particles",
                                                          "collections": {"R": {"pid": 211}}}}},
     "samples.s.sets.part.collections.R.pid"),
], ids=["format", "label", "labels", "label-and-labels", "syntax", "attribute", "call", "unknown-key", "step",
        "hdf5-step", "half-link", "refs-without-collections", "column-name", "constant-column", "old-constituents",
        "set-named-jet", "collections-alone", "event-collection-of-jet-rows", "two-sources", "relation-of-other-rows",
        "relation-into-two", "relation-of-event-rows", "column-of-a-set", "branch-of-a-name", "relation-constant"])
def test_wrong_config(cfg: dict, key: str) -> None:
    """Config mistakes are found when the spec is built, naming the key."""
    with pytest.raises(ConfigError) as info:
        SampleSpec.from_config("s", cfg, CLASSES)
    assert f"config key '{key}'" in str(info.value)


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"label": "g", "branches": {"jet_pt": "jet_pt *"}}, "samples.s.branches.jet_pt"),
        ({"label": "g", "selection": "unknown_column > 1 or jet_pt > 0"}, "samples.s.selection"),
        ({"label": "g", "weight": "part_px"}, "samples.s.weight"),
        (
            {
                "label": "g",
                "sets": {"part": {"jet_index": "a_jetIdx", "candidate_index": "a_idx", "branches": {"pt": "x"}}},
            },
            "samples.s.collection",
        ),
    ],
    ids=["mapping-syntax", "unknown-column", "weight-per-particle", "link-without-collection"],
)
def test_config_that_does_not_fit_the_file(tmp_path: Path, cfg: dict, key: str) -> None:
    """Mistakes only visible against the file's branches name the key (unknown names are missing branches)."""
    path = write_tree(tmp_path / "jets.root", jetclass_arrays(20, seed=6))
    error = InputError if key == "samples.s.selection" else ConfigError
    fails(tmp_path, path, cfg, error, key)


def test_error_after_first_step_leaves_no_partial_file(tmp_path: Path) -> None:
    """A failure in a late step removes what earlier steps had written (atomic output)."""
    arrays = jetclass_arrays(200, seed=7)
    arrays["jet_pt"][-1] = np.nan
    path = write_tree(tmp_path / "late.root", arrays)
    fails(tmp_path, path, {"label": "g", "step_size": 20}, InputError, "jet_pt", "late.root")


def test_jet_column_of_event_rows_is_one_value(tmp_path: Path, shared_data: Path) -> None:
    """A jet kinematic column of event rows mapped to a list per event names the branch and asks for 'collection'."""
    cfg = {"tree": "events", "label": "q", "branches": {"jet_px": "Jet_Px", "jet_py": "Jet_Py", "jet_pz": "Jet_Pz",
                                                        "jet_energy": "Jet_E"}}
    fails(tmp_path, shared_data / "uproot-HZZ.root", cfg, InputError, "holds a list per entry", "'collection'",
          "branch 'Jet_", "uproot-HZZ.root")


def test_tree_without_jetclass_branches_needs_a_collection_or_mapping(tmp_path: Path, shared_data: Path) -> None:
    """NanoAOD read without `collection` or `branches` maps nothing: the error says what to set."""
    fails(
        tmp_path, shared_data / NANO, {"tree": "Events", "label": "t"}, ConfigError, "samples.s.branches", "collection"
    )


PAYLOAD = "(x*1).__class__.__init__.__globals__['__builtins__']['__import__']('os').system('touch pwned') + x"


@pytest.mark.parametrize(("cfg", "key"), [
    ({"branches": {"jet_sdmass": PAYLOAD.replace("x", "jet_sdmass")}}, "samples.s.branches.jet_sdmass"),
    ({"sets": {"part": {"branches": {"px": PAYLOAD.replace("x", "part_px")}}}}, "samples.s.sets.part.branches.px"),
], ids=["branches", "sets"])
def test_branch_expression_cannot_run_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cfg: dict, key: str,
) -> None:
    """An expression mapped to a column goes through the safe parser: attribute access is refused, nothing runs."""
    path = write_tree(tmp_path / "jets.root", jetclass_arrays(20, seed=8))
    monkeypatch.chdir(tmp_path)
    fails(tmp_path, path, {"label": "g", **cfg}, ConfigError, key, "unsupported syntax")
    assert not (tmp_path / "pwned").exists()


def test_damaged_file_is_named_damaged(tmp_path: Path, shared_data: Path) -> None:
    """A damaged Delphes file (no objects readable) is reported as damaged, not as lacking the tree."""
    cfg = {"tree": "Delphes", "collection": "Jet", "label": "q"}
    fails(tmp_path, shared_data / "bad_delphes.root", cfg, InputError, "holds no objects", "damaged", "TTree 'Delphes'",
          "bad_delphes.root")


def test_missing_tree_suggests_the_nearest_key(tmp_path: Path, shared_data: Path) -> None:
    """A healthy file without the tree lists its keys and suggests the closest one."""
    fails(tmp_path, shared_data / NANO, {**NANO_FATJET, "tree": "Event"}, InputError, "no TTree or RNTuple 'Event'",
          "did you mean 'Events'", NANO)


@pytest.mark.parametrize(("cfg", "key"), [
    ({"selection": "jet_pt > 1e6"}, "samples.s.selection"),
    ({"label": None, "labels": {"t": "FatJet_pt < 0", "b": "FatJet_pt < -1"}}, "samples.s.labels"),
], ids=["selection", "labels"])
def test_no_jet_kept_names_the_key_and_writes_nothing(tmp_path: Path, shared_data: Path, cfg: dict, key: str) -> None:
    """A selection (or labels) that keeps no jet is an error naming the key and file; no empty parquet is left."""
    cfg = {k: v for k, v in {**NANO_FATJET, **cfg}.items() if v is not None}
    fails(tmp_path, shared_data / NANO, cfg, InputError, key, NANO)


def test_link_table_keys_take_branch_names_only(
    tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """jet_index/candidate_index (like refs) name a branch: an expression there is refused, nothing runs."""
    payload = PAYLOAD.replace("x", "JetPFCands_pFCandsIdx").replace("+", "* 0 +")
    cfg = {"tree": "Events", "collection": "Jet", "label": "q", "sets": {"part": {
        "jet_index": "JetPFCands_jetIdx", "candidate_index": payload,
        "branches": {"pt": "PFCands_pt", "eta": "PFCands_eta", "phi": "PFCands_phi"}}}}
    monkeypatch.chdir(tmp_path)
    key = "samples.s.sets.part.candidate_index"
    fails(tmp_path, shared_data / "pfnano.root", cfg, ConfigError, key, "branch name")
    assert not (tmp_path / "pwned").exists()


def edm4hep_copy(tmp_path: Path, shared_data: Path, *, shift: int, collection_id: bool) -> Path:
    """The jets, their relation and the reconstructed particles of the EDM4hep file rewritten by uproot, the first
    relation index moved by `shift`, with or without the relation's collectionID branch."""
    tree = uproot.open(shared_data / EDM4HEP)["events"]
    names = [n for n in tree.keys(full_paths=True) if n.startswith((
        "Jet/Jet.momentum", "Jet/Jet.energy", "Jet/Jet.particles_", "ReconstructedParticles/ReconstructedParticles.",
    )) and "[" not in n]
    names += [RELATION, *(["_Jet_particles/_Jet_particles.collectionID"] if collection_id else [])]
    arrays = tree.arrays(names, how=dict)
    index = ak.to_numpy(ak.flatten(arrays[RELATION])).copy()
    index[0] += shift
    arrays[RELATION] = ak.unflatten(index, ak.num(arrays[RELATION]))
    path = tmp_path / "edm4hep_bad.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {name: values.type.content for name, values in arrays.items()})
        f["events"].extend(arrays)
    return path


@pytest.mark.parametrize("collection_id", [True, False], ids=["with-collection-id", "index-only"])
def test_relation_index_out_of_range(tmp_path: Path, shared_data: Path, collection_id: bool) -> None:
    """An index of _Jet_particles past the reconstructed particles of its event names the index branch and file."""
    path = edm4hep_copy(tmp_path, shared_data, shift=1000, collection_id=collection_id)
    fails(tmp_path, path, EDM4HEP_JETS, InputError, "index 1007 out of range of the 20 elements", RELATION,
          "edm4hep_bad.root")


def test_relation_into_another_collection(tmp_path: Path, shared_data: Path) -> None:
    """The relation's collectionID is the podio ID of ReconstructedParticles: pointing it at the MC Particle
    collection (whose indices would be in range) is an error naming the collectionID branch."""
    cfg = {**EDM4HEP_JETS, "sets": {"part": {"relation": "Jet.particles", "collections": ["Particle"]}}}
    fails(tmp_path, shared_data / EDM4HEP, cfg, InputError, "collection ID 2071149774, not 921439302",
          "'Particle'", "_Jet_particles/_Jet_particles.collectionID", EDM4HEP)


@pytest.mark.parametrize(("source", "cfg", "needles"), [
    ("pfnano.root", {**PFNANO_JET, "sets": {"part": {**PFNANO_JET["sets"]["part"], "branches": {"pt": "PFCands_ptx"}}}},
     ("branch 'PFCands_ptx'", "samples.s.sets.part.branches.pt", "did you mean 'PFCands_pt'")),
    ("nano_dimuon.root", {**NANO_EVENTS, "sets": {"muons": {"collection": "Muon", "branches": {"met": "MET_pt"}}}},
     ("holds one value per event, not a list", "samples.s.sets.muons", "branch 'MET_pt'")),
    ("nano_dimuon.root", {**NANO_EVENTS, "sets": {"met": {"branches": {"pt": "MET_pt"}}}},
     ("holds one value per row, not a list", "samples.s.sets.met", "branch 'MET_pt'")),
    ("nano_dimuon.root", {**NANO_EVENTS, "sets": {"muons": {"collection": "Muon", "branches": {"ept": "Electron_pt"}}}},
     ("field 'ept' has other per-row lengths", "branch 'Electron_pt'")),
    ("nano_dimuon.root", {**NANO_EVENTS, "sets": {"muons": {"collection": "Muonz"}}},
     ("collection 'Muonz'", "samples.s.sets.muons", "did you mean 'Muon_pt'")),
    ("uproot-issue513.root", {**DELPHES, "sets": {"part": {"refs": "Jet/Jet.PT", "collections": ["EFlowTrack"]}}},
     ("is not a TRefArray", "branch 'Jet/Jet.PT'")),
], ids=["missing-branch", "scalar-field", "scalar-field-per-row", "unequal-lengths", "no-such-collection", "not-refs"])
def test_set_that_does_not_fit_the_file(tmp_path: Path, shared_data: Path, source: str, cfg: dict,
                                        needles: tuple[str, ...]) -> None:
    """A set whose branch is missing, holds one value instead of a list, disagrees in length, names no collection
    or is no TRefArray stops ingestion naming the branch or key and the file, with no output left."""
    fails(tmp_path, shared_data / source, cfg, InputError, *needles, source)
