"""Shared pytest fixtures: paths to the repository and to the real HEP files in ../shared/data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where the Snakefile lives)."""
    return REPO


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: real ROOT files written by CMS, Delphes and the HEP tutorials."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"expected the real test files in {SHARED_DATA} (shared/ beside the repository)")
    return SHARED_DATA


def _snakemake(workdir: Path, config: dict, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    """Run the real `snakemake` CLI on REPO/Snakefile in `workdir` with `config` (stderr merged into stdout)."""
    workdir.mkdir(parents=True, exist_ok=True)
    configfile = workdir / "config.yaml"
    configfile.write_text(yaml.safe_dump(config))
    command = [
        str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(configfile), "--workflow-profile", "none",
        "--cores", "2", *args,
    ]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def run_snakemake():
    """Callable running the real Snakemake CLI: run_snakemake(workdir, config_dict, *extra_args)."""
    return _snakemake
