"""The config is validated before any job starts: schema errors and cross-key errors name the key."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from rootml.config import check_config, sample_chunks, sample_files
from rootml.errors import ConfigError

TINY = {
    "classes": ["a", "b"],
    "samples": {"x": {"label": "a", "generate": {"process": "gluon", "chunks": 3}},
                "y": {"label": "b", "generate": {"process": "wqq"}}},
}


def _with_defaults(config: dict) -> dict:
    """Config plus the schema defaults the Snakefile would fill in."""
    full = copy.deepcopy(config)
    full.setdefault("generate", {"sqrt_s": 13000.0, "jet_radius": 0.8, "pt_min": 500.0, "pt_max": 700.0,
                                 "abs_eta_max": 2.0})
    return full


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
    ("mutate", "expected"),
    [
        (lambda c: c["samples"]["x"]["generate"].update(chunk=2), "'chunk' was unexpected"),
        (lambda c: c.update(sead=1), "'sead' was unexpected"),
        (lambda c: c.update(seed="one"), "'one' is not of type 'integer'"),
        (lambda c: c["samples"]["x"]["generate"].update(process="higgs"), "'higgs' is not one of"),
        (lambda c: c["samples"]["x"]["generate"].update(chunks=0), "0 is less than the minimum of 1"),
        (lambda c: c.update(models={"pn": {"family": "particlenet", "hparams": {"k": 0}}}),
         "0 is less than the minimum of 1"),
        (lambda c: c.update(models={"pn": {"family": "particlenet", "hparams": {"kk": 3}}}), "'kk' was unexpected"),
        (lambda c: c.update(models={"m": {"family": "resnet"}}), "'resnet' is not one of"),
        (lambda c: c.update(models={"m": {"family": "mlp", "training": {"schedule": "linear"}}}),
         "'linear' is not one of"),
        (lambda c: c.update(features={"highlevel": ["jet_tau5"]}), "'jet_tau5' is not one of"),
    ],
)
def test_schema_rejects_bad_config_before_any_job(run_snakemake, tmp_path: Path, mutate, expected: str) -> None:
    config = copy.deepcopy(TINY)
    mutate(config)
    result = run_snakemake(tmp_path, config, "--dry-run")
    assert result.returncode != 0
    assert "Error validating config file" in result.stdout
    assert expected in result.stdout
    assert not (tmp_path / "data").exists()


def test_cross_key_error_stops_the_workflow_naming_the_key(run_snakemake, tmp_path: Path) -> None:
    config = copy.deepcopy(TINY)
    config["samples"]["y"]["label"] = "c"
    result = run_snakemake(tmp_path, config, "--dry-run")
    assert result.returncode != 0
    assert "config key 'samples.y.label': class 'c' is not one of classes ['a', 'b']" in result.stdout


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda c: c["samples"]["x"].update(files=["*.root"]), "samples.x"),
        (lambda c: c["samples"]["x"].pop("label"), "samples.x"),
        (lambda c: c.update(classes=["a", "a"]), "classes"),
        (lambda c: c["generate"].update(pt_min=800.0), "generate.pt_min"),
    ],
)
def test_check_config_names_the_key(mutate, key: str) -> None:
    config = _with_defaults(TINY)
    mutate(config)
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert err.value.key == key


def test_chunks_and_files(shared_data: Path) -> None:
    config = _with_defaults(TINY)
    config["samples"]["z"] = {"label": "b", "files": [str(shared_data / "uproot-*.root")]}
    check_config(config)
    assert sample_chunks(config, "x") == ["0000", "0001", "0002"]
    files = sample_files(config, "z")
    assert [Path(f).name for f in files] == sorted(Path(f).name for f in files)
    assert len(files) == 3 and sample_chunks(config, "z") == ["0000", "0001", "0002"]
    config["samples"]["z"]["files"] = [str(shared_data / "nothing-*.root")]
    with pytest.raises(ConfigError, match="samples.z.files"):
        sample_files(config, "z")


def test_models_schema_file_matches_the_model_zoo(repo_root: Path) -> None:
    from rootml.models.schema import render

    assert (repo_root / "config" / "models.schema.json").read_text() == render(), (
        "config/models.schema.json is stale: run `python -m rootml.models.schema`")
