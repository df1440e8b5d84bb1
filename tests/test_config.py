"""The config is validated before any job starts: schema errors and cross-key errors name the key."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from rootml.config import check_config, sample_chunks, sample_files
from rootml.errors import ConfigError
from rootml.settings import validated

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
         "unknown key; allowed keys: ['chunks', 'jets_per_chunk', 'process']; did you mean 'chunks'?"),
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
        (lambda c: c.update(features={"highlevel": ["jet_tau5"]}), "features.highlevel.0", "'jet_tau5' is not one of"),
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
         "'jet_sdmas' is not a jet column of the ingested data"),
        (lambda c: c["preprocess"]["reweighting"].update(variables=["jet_tau21"]), "preprocess.reweighting.variables",
         "'jet_tau21' is not a jet column"),
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


def test_observers_may_name_a_column_a_sample_maps(shared_data: Path) -> None:
    config = validated(TINY)
    config["samples"]["z"] = {"label": "b", "files": [str(shared_data / "uproot-Zmumu.root")],
                              "branches": {"jet_pt": "pt1", "dimuon_mass": "M"}}
    config["features"]["observers"] = ["jet_pt", "dimuon_mass"]
    check_config(config)


def test_chunks_and_files(shared_data: Path) -> None:
    config = validated(TINY)
    config["samples"]["z"] = {"label": "b", "files": [str(shared_data / "uproot-*.root")]}
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
