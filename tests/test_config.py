"""The config is validated before any job starts: schema errors and cross-key errors name the key."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from rootml.config import check_config, feature_sets, sample_chunks, sample_files
from rootml.errors import ConfigError
from rootml.features.available import observer_columns
from rootml.settings import validated

PART_PRESET = ["part_deta", "part_dphi", "part_logpt", "part_loge", "part_logptrel", "part_logerel", "part_deltaR",
               "part_charge", "part_isChargedHadron", "part_isNeutralHadron", "part_isPhoton", "part_isElectron",
               "part_isMuon"]
TINY = {
    "classes": ["a", "b"],
    "samples": {"x": {"label": "a", "generate": {"process": "gluon", "chunks": 3}},
                "y": {"label": "b", "generate": {"process": "wqq"}}},
}


def test_default_config_plans_every_stage(repo_root: Path, run_snakemake, tmp_path: Path) -> None:
    config = yaml.safe_load((repo_root / "config" / "config.yaml").read_text())
    result = run_snakemake(tmp_path, config, "--dry-run")
    assert result.returncode == 0, result.stdout
    n_chunks = sum(s["generate"]["chunks"] for s in config["samples"].values())
    assert re.search(rf"^generate\s+{n_chunks}$", result.stdout, re.MULTILINE)
    assert re.search(rf"^ingest\s+{n_chunks}$", result.stdout, re.MULTILINE)
    for rule in ("preprocess", "fit_preprocessing", "prepare", "train", "prune", "rank", "evaluate", "summary"):
        assert re.search(rf"^{rule}\s+\d+$", result.stdout, re.MULTILINE), rule


@pytest.mark.parametrize(
    ("mutate", "key", "expected"),
    [
        (lambda c: c["samples"]["x"]["generate"].update(chunk=2), "samples.x.generate.chunk",
         "unknown key; allowed keys: ['chunks', 'jets_per_chunk', 'process', 'simulate']; did you mean 'chunks'?"),
        (lambda c: c.update(sead=1), "sead", "did you mean 'seed'?"),
        (lambda c: c.update(seed="one"), "seed", "'one' is not of type 'integer'"),
        (lambda c: c["samples"]["x"]["generate"].update(process="higgs"), "samples.x.generate.process",
         "'higgs' is not one of"),
        (lambda c: c["samples"]["x"]["generate"].update(chunks=0), "samples.x.generate.chunks",
         "0 is less than the minimum of 1"),
        (lambda c: c.update(models={"pn": {"family": "particlenet", "hparams": {"k": 0}}}), "models.pn.hparams.k",
         "0 is less than the minimum of 1"),
        (lambda c: c.update(models={"pn": {"family": "particlenet", "hparams": {"kk": 3}}}), "models.pn.hparams.kk",
         "did you mean 'k'?"),
        (lambda c: c.update(models={"m": {"family": "resnet"}}), "models.m.family", "'resnet' is not one of"),
        (lambda c: c.update(models={"m": {"family": "mlp", "training": {"schedule": "linear"}}}),
         "models.m.training.schedule", "'linear' is not one of"),
        (lambda c: c.update(features={"highlevel": ["jet pt"]}), "features.highlevel.0", "does not match"),
        (lambda c: c.update(features={"constituents": ["part_deta"]}), "features.constituents",
         "unknown key; allowed keys: ['highlevel', 'observers', 'sets']"),
        (lambda c: c.update(features={"sets": {"images": {"features": ["images_x"]}}}), "features.sets.images",
         "not an allowed name"),
        (lambda c: c.update(features={"sets": {"muons": {"max_length": 4}}}), "features.sets.muons",
         "'features' is a required property"),
    ],
)
def test_schema_rejects_bad_config_naming_the_key(mutate, key: str, expected: str) -> None:
    config = copy.deepcopy(TINY)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        validated(config)
    assert err.value.key == key and expected in str(err.value)


def test_schema_fills_every_default_of_every_block() -> None:
    """Defaults of nested blocks, of model entries (in models.schema.json) and of hyper-parameters are filled in."""
    config = validated({**TINY, "models": {"m": {"family": "mlp", "hparams": {"hidden": [8]}}}})
    assert config["generate"]["pt_max"] == 700.0 and config["preprocess"]["normalization"]["method"] == "robust"
    assert config["models"]["m"]["seeds"] == 1 and config["models"]["m"]["task"] == "classification"
    assert config["models"]["m"]["hparams"] == {"hidden": [8], "dropout": 0.1, "batchnorm": False, "activation": "relu"}
    assert TINY["samples"]["x"] == {"label": "a", "generate": {"process": "gluon", "chunks": 3}}  # input untouched


def test_unknown_top_level_key_prints_the_key_and_the_nearest_one_not_the_schema(run_snakemake,
                                                                                  tmp_path: Path) -> None:
    result = run_snakemake(tmp_path, {**TINY, "smaples": {}}, "--dry-run")
    assert result.returncode != 0
    assert "config key 'smaples': unknown key; allowed keys: [" in result.stdout
    assert "did you mean 'samples'?" in result.stdout
    assert "additionalProperties" not in result.stdout and "$schema" not in result.stdout
    assert len(result.stdout.splitlines()) < 40
    assert not (tmp_path / "data").exists()


def test_cross_key_error_stops_the_workflow_naming_the_key(run_snakemake, tmp_path: Path) -> None:
    config = copy.deepcopy(TINY)
    config["samples"]["y"]["label"] = "c"
    result = run_snakemake(tmp_path, config, "--dry-run")
    assert result.returncode != 0
    assert "config key 'samples.y.label': class 'c' is not one of classes ['a', 'b']" in result.stdout


@pytest.mark.parametrize(
    ("mutate", "key", "expected"),
    [
        (lambda c: c["samples"]["x"].update(files=["*.root"]), "samples.x", "exactly one of 'generate'"),
        (lambda c: c["samples"]["x"].pop("label"), "samples.x", "exactly one of 'label'"),
        (lambda c: c.update(classes=["a", "a"]), "classes", "unique"),
        (lambda c: c["generate"].update(pt_min=800.0), "generate.pt_min", "below generate.pt_max"),
        (lambda c: c.update(classes=["a", "b", "c"]), "classes", "class 'c' has no jets"),
        (lambda c: c["preprocess"]["splits"].update(train=0.7), "preprocess.splits", "sum to 1"),
        (lambda c: c["features"].update(observers=["jet_pt", "jet_sdmas"]), "features.observers",
         "'jet_sdmas' is neither a column of the ingested data nor a built-in"),
        (lambda c: c["features"].update(highlevel=["jet_pt", "jet_tau5"]), "features.highlevel",
         "did you mean 'jet_tau4'?"),
        (lambda c: c["preprocess"]["reweighting"].update(variables=["jet_tau5"]), "preprocess.reweighting.variables",
         "'jet_tau5' is neither"),
        (lambda c: c["features"].update(sets={"part": {"features": ["part_logpt", "part_logtp"], "max_length": 8,
                                                       "coordinates": ["part_deta", "part_dphi"]}}),
         "features.sets.part.features", "'part_logtp' is not a feature of set 'part'"),
        (lambda c: c["features"].update(sets={"part": {"features": ["part_logpt"], "max_length": 8,
                                                       "coordinates": ["part_eta", "part_dphi"]}}),
         "features.sets.part.coordinates", "did you mean 'part_deta'?"),
        (lambda c: c["features"].update(sets={"muons": {"features": ["muons_pt"], "max_length": 8,
                                                        "coordinates": None}}),
         "features.sets.muons", "set 'muons' is not provided by samples ['x', 'y']"),
        (lambda c: c["represent"]["images"].update(weight="part_energi"), "represent.images.weight",
         "did you mean 'part_energy'?"),
        (lambda c: c.update(models={"m": {"family": "deepsets", "n_particles": 65}}), "models.m.n_particles",
         "65 elements asked for, features.sets.part.max_length is 64"),
        (lambda c: c.update(models={"m": {"family": "cnn"}}) or c["features"].update(sets={}), "models.m.family",
         "family 'cnn' reads images, and the run has none"),
        (lambda c: c.update(models={"m": {"family": "mlp", "features": ["jet_tau4"]}}), "models.m.features",
         "'jet_tau4' is not in features.highlevel"),
    ],
)
def test_check_config_names_the_key(mutate, key: str, expected: str) -> None:
    config = validated(TINY)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert err.value.key == key and expected in str(err.value)


def test_observers_may_name_a_column_every_sample_maps(shared_data: Path) -> None:
    config = validated(TINY)
    config["samples"]["z"] = {"label": "b", "files": [str(shared_data / "uproot-Zmumu.root")],
                              "branches": {"jet_pt": "pt1", "dimuon_mass": "M"}}
    config["features"].update(highlevel=["jet_pt"], observers=["jet_pt", "dimuon_mass"])
    config["preprocess"]["reweighting"]["variables"] = ["jet_pt"]
    with pytest.raises(ConfigError, match=r"'dimuon_mass' is not a column of samples \['x', 'y'\]") as err:
        check_config(config)
    assert err.value.key == "features.observers"
    for name in ("x", "y"):
        config["samples"][name] = {**config["samples"]["z"], "label": config["samples"][name]["label"]}
    check_config(config)


def test_feature_sets_and_observers_default_to_what_the_samples_have(shared_data: Path) -> None:
    config = validated(TINY)
    assert feature_sets(config) == {"part": {"features": PART_PRESET, "max_length": 64,
                                             "coordinates": ["part_deta", "part_dphi"]}}
    assert observer_columns(config) == ["jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy"]
    config["features"]["sets"] = {"muons": {"features": ["muons_pt"], "max_length": 3, "coordinates": None}}
    assert feature_sets(config)["muons"]["coordinates"] == ["muons_deta", "muons_dphi"]
    config["samples"]["z"] = {"label": "b", "files": [str(shared_data / "uproot-Zmumu.root")],
                              "branches": {"dimuon_mass": "M"}}
    config["features"]["sets"] = None
    assert feature_sets(config) == {}  # a sample without set part: no set
    assert observer_columns(config) == []  # event rows: no jet column
    config["samples"]["z"]["sets"] = {"part": {"refs": "Jet.Constituents", "collections": ["EFlowTrack"]}}
    assert list(feature_sets(config)) == ["part"]


def test_chunks_and_files(shared_data: Path) -> None:
    config = validated(TINY)
    config["samples"]["z"] = {"label": "b", "files": [str(shared_data / "uproot-*.root")], "collection": "Jet"}
    config["features"]["highlevel"] = ["jet_pt", "jet_mass"]  # no set part in z: no built-in
    check_config(config)
    assert sample_chunks(config, "x") == ["0000", "0001", "0002"]
    files = sample_files(config, "z")
    assert [Path(f).name for f in files] == sorted(Path(f).name for f in files)
    n = len(list(shared_data.glob("uproot-*.root")))
    assert len(files) == n and sample_chunks(config, "z") == [f"{i:04d}" for i in range(n)]
    config["samples"]["z"]["files"] = [str(shared_data / "nothing-*.root")]
    with pytest.raises(ConfigError, match="samples.z.files"):
        sample_files(config, "z")


def test_models_schema_file_matches_the_model_zoo(repo_root: Path) -> None:
    from rootml.models.schema import render

    assert (repo_root / "config" / "models.schema.json").read_text() == render(), (
        "config/models.schema.json is stale: run `python -m rootml.models.schema`")


@pytest.mark.parametrize("block", ["ranking", "pruning", "explore"])
def test_model_lists_name_model_entries(block: str) -> None:
    config = validated({**TINY, "models": {"mlp": {"family": "mlp"}}, block: {"models": ["mpl"]}})
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert err.value.key == f"{block}.models" and "did you mean 'mlp'?" in str(err.value)


def test_explore_refuses_a_bdt() -> None:
    config = validated({**TINY, "models": {"bdt": {"family": "bdt"}}, "explore": {"models": ["bdt"]}})
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert err.value.key == "explore.models" and "no latent space or hidden layer" in str(err.value)
