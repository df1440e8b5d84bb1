"""results/provenance.json: git state, canonical config hash, package versions and times of a run."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from rootml.errors import ConfigError
from rootml.provenance import canonical_json, config_hash, git_state, package_versions, write_provenance

GIT = ["git", "-c", "user.name=rootml test", "-c", "user.email=test@rootml.invalid", "-c", "commit.gpgsign=false"]


def _repo(path: Path) -> str:
    """A git checkout at `path` with one commit (a Snakefile and a .gitignore); return the commit hash."""
    path.mkdir(parents=True, exist_ok=True)
    (path / ".gitignore").write_text("results/\n.snakemake/\nlogs/\n")
    (path / "tracked.txt").write_text("one\n")
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-q", "-m", "first"], check=True)
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def test_config_hash_is_sha256_of_sorted_compact_json() -> None:
    config = {"seed": 3, "classes": ["g", "q"], "training": {"lr": 0.001, "class_weights": None}, "note": "µ"}
    text = '{"classes":["g","q"],"note":"µ","seed":3,"training":{"class_weights":null,"lr":0.001}}'
    assert canonical_json(config) == text
    assert config_hash(config) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    reordered = {"training": {"class_weights": None, "lr": 0.001}, "note": "µ", "classes": ["g", "q"], "seed": 3}
    assert config_hash(reordered) == config_hash(config)
    assert config_hash({**config, "seed": 4}) != config_hash(config)
    assert config_hash({**config, "classes": ["q", "g"]}) != config_hash(config)  # class order is the label order
    assert config_hash({**config, "seed": 3.0}) != config_hash(config)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"preprocess": {"normalization": {"clip": float("nan")}}}, "preprocess.normalization.clip"),
        ({"features": {"highlevel": ["jet_pt", {1, 2}]}}, "features.highlevel[1]"),
        ({"models": {"m": {"hparams": {"hidden": np.array([4, 4])}}}}, "models.m.hparams.hidden"),
        ({"samples": {1: {"label": "g"}}}, "samples"),
    ],
)
def test_config_hash_names_the_key_without_json_form(config: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_hash(config)
    assert err.value.key == key


def test_git_state_follows_the_checkout(tmp_path: Path) -> None:
    commit = _repo(tmp_path)
    assert git_state(tmp_path) == {"commit": commit, "dirty": False}
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "metrics.json").write_text("{}")  # ignored output: still clean
    assert git_state(tmp_path)["dirty"] is False
    (tmp_path / "new_rule.smk").write_text("rule x: shell: 'true'\n")  # untracked code: dirty
    assert git_state(tmp_path) == {"commit": commit, "dirty": True}
    (tmp_path / "new_rule.smk").unlink()
    (tmp_path / "tracked.txt").write_text("two\n")
    assert git_state(tmp_path) == {"commit": commit, "dirty": True}


def test_git_state_outside_a_checkout_says_why(tmp_path: Path) -> None:
    state = git_state(tmp_path)
    assert state["commit"] is None and state["dirty"] is None
    assert "not a git repository" in state["error"]


def test_package_versions_are_the_installed_ones() -> None:
    import snakemake

    versions = package_versions(["numpy", "snakemake", "no-such-distribution-rootml"])
    assert versions == {"numpy": np.__version__, "snakemake": snakemake.__version__,
                        "no-such-distribution-rootml": None}


def test_write_provenance_record(tmp_path: Path) -> None:
    commit = _repo(tmp_path / "repo")
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    config = {"seed": 1, "classes": ["a", "b"]}
    path = tmp_path / "out" / "provenance.json"
    record = write_provenance(path, config, tmp_path / "repo", started, started + timedelta(seconds=90.5))
    assert json.loads(path.read_text()) == record
    assert record["git"] == {"commit": commit, "dirty": False}
    assert record["config"] == config and record["config_hash"] == config_hash(config)
    assert record["started"] == "2026-01-02T03:04:05+00:00"
    assert record["finished"] == "2026-01-02T03:05:35+00:00"
    assert record["elapsed_s"] == 90.5
    assert record["packages"]["numpy"] == np.__version__ and "torch" in record["packages"]
    assert record["python"]["executable"] == sys.executable
    assert [p.name for p in path.parent.iterdir()] == ["provenance.json"]  # no temporary file left


SNAKEFILE = """
import sys
sys.path.insert(0, {src!r})
from datetime import datetime, timezone
from rootml.provenance import write_provenance

STARTED = datetime.now(timezone.utc)

rule all:
    output: "results/x.txt"
    shell: "echo {{config[seed]}} > {{output}}"

onsuccess:
    write_provenance("results/provenance.json", config, workflow.basedir, STARTED)
"""


def test_snakemake_onsuccess_hook_writes_provenance(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "Snakefile").write_text(SNAKEFILE.format(src=str(Path(__file__).resolve().parents[1] / "src")))
    commit = _repo(repo)
    command = [str(Path(sys.executable).with_name("snakemake")), "--cores", "1", "--workflow-profile", "none",
               "--config", "seed=7"]
    env = {**os.environ, "CONDOR_CONFIG": "/dev/null"}
    subprocess.run([*command, "--dry-run"], cwd=repo, check=True, capture_output=True, env=env)
    assert not (repo / "results" / "provenance.json").exists()  # a dry run records nothing
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    record = json.loads((repo / "results" / "provenance.json").read_text())
    assert record["git"] == {"commit": commit, "dirty": False}
    assert record["config"] == {"seed": 7} and record["config_hash"] == config_hash({"seed": 7})
    assert "--cores" in record["command"]
    started = datetime.fromisoformat(record["started"])
    finished = datetime.fromisoformat(record["finished"])
    assert timedelta(0) <= finished - started < timedelta(minutes=5)
