"""Shared pytest fixtures (the repository, the real HEP files in ../shared/data, the Snakemake CLI) and helpers that
call the stage entry points on data in the contract layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from rootml.config import model_run
from rootml.preprocess.split import SPLITS
from rootml.pruning.run import PruneFiles, prune_model
from rootml.pruning.settings import PruningSettings
from rootml.ranking.run import RankFiles, rank_model
from rootml.ranking.settings import RankingSettings
from rootml.training.data import SplitReader
from rootml.training.device import ComputeDevice
from rootml.training.files import ModelFiles
from rootml.training.load import TrainedModel, load_trained
from rootml.training.run import TrainingOutcome, train_model

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
    cores = [] if "--cores" in args else ["--cores", "2"]
    command = [
        str(Path(sys.executable).with_name("snakemake")), "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(configfile), "--workflow-profile", "none", *cores, *args,
    ]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env
    )


@pytest.fixture(scope="session")
def run_snakemake():
    """Callable running the real Snakemake CLI: run_snakemake(workdir, config_dict, *extra_args)."""
    return _snakemake


TINY = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
EXAMPLES = sorted((REPO / "config" / "examples").glob("*.yaml"))


def example_config(path: Path) -> dict:
    """An example config with its ../shared/data paths (relative to the repository root) made absolute."""
    return yaml.safe_load(path.read_text().replace("../shared/data/", f"{SHARED_DATA}/"))


@pytest.fixture(scope="session", autouse=True)
def example_runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Every config/examples/*.yaml run end to end, one after the other on one core, started in the background when
    the session begins (when tests/test_examples.py is collected), so that they use the core the single-threaded
    tests leave idle; name -> (future of the run, its folder)."""
    if not any(item.module.__name__ == "test_examples" for item in request.session.items):
        yield {}
        return
    with ThreadPoolExecutor(1) as pool:
        runs = {}
        for path in EXAMPLES:
            workdir = tmp_path_factory.mktemp(f"example_{path.stem}")
            runs[path.stem] = (pool.submit(_snakemake, workdir, example_config(path), "--cores", "1"), workdir)
        yield runs


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory of one complete run of tests/configs/tiny.yaml (every stage, every family), shared by
    the tests that only read its outputs; tests that change files run in their own folders."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    result = _snakemake(workdir, TINY)
    assert result.returncode == 0, result.stdout[-5000:]
    return workdir


# The stage entry points take the files a rule names; tests keep their data in the contract's folder layout
# (docs/contracts.md) and call them through these.
def prepared_in(data_dir: Path) -> dict[str, dict[str, Path]]:
    """Split -> representation -> data_dir/{split}/{representation}.h5, for every representation (highlevel, images,
    each set) that has a file in one of the split folders."""
    names = sorted({path.stem for path in data_dir.glob("*/*.h5")})
    return {split: {name: data_dir / split / f"{name}.h5" for name in names} for split in SPLITS}


def train(name: str, entry: dict, config: dict, data_dir: Path, out_dir: Path, **kwargs) -> TrainingOutcome:
    """train_model for the entry `models.<name>` on data_dir/{split}/{representation}.h5, writing into out_dir."""
    run = model_run(name, entry, config)
    return train_model(run, config["classes"], prepared_in(data_dir), ModelFiles.of_family(out_dir, run.family),
                       **kwargs)


def model_files(model_dir: Path) -> ModelFiles:
    """The files of the trained model in `model_dir` (its family read from model_config.json)."""
    family = json.loads((model_dir / "model_config.json").read_text())["family"]
    return ModelFiles.of_family(model_dir, family)


def load(model_dir: Path, device: ComputeDevice | None = None) -> TrainedModel:
    """load_trained of the model in `model_dir`."""
    files = model_files(model_dir)
    return load_trained(files.config, files.weights, device)


def prune(model_dir: Path, data_dir: Path, out_dir: Path, block: dict) -> None:
    """prune_model of the model in `model_dir` with the `pruning` block `block`, writing into out_dir."""
    files = model_files(model_dir)
    prune_model(files.config, files.weights, prepared_in(data_dir), PruneFiles.in_directory(out_dir),
                PruningSettings.from_config(block))


def rank(model_dir: Path, data_dir: Path, out_dir: Path, block: dict) -> None:
    """rank_model of the model in `model_dir` with the `ranking` block `block`, writing into out_dir."""
    files = model_files(model_dir)
    rank_model(files.config, files.weights, prepared_in(data_dir), RankFiles.in_directory(out_dir),
               RankingSettings.from_config(block))


def split_reader(
    data_dir: Path, split: str, representations: list[str], max_jets_in_memory: int, **kwargs
) -> SplitReader:
    """SplitReader of the representations of one split under data_dir/{split}/{representation}.h5."""
    return SplitReader({rep: data_dir / split / f"{rep}.h5" for rep in representations}, split, max_jets_in_memory,
                       **kwargs)
