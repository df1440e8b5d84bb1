"""Shared pytest fixtures (the repository, the real HEP files in ../shared/data, the Snakemake CLI) and helpers that
call the stage entry points on data in the contract layout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml
from threadpoolctl import threadpool_limits

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


@pytest.fixture
def one_blas_thread() -> Iterator[None]:
    """One BLAS/OpenMP thread for scikit-learn and numpy: OpenMP's spinning threads crawl on a busy two-core
    machine."""
    with threadpool_limits(1):
        yield


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch intra-op thread for one test (tiny models run fastest so, also on a busy machine), then torch's
    previous number back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def run_snakemake():
    """Callable running the real Snakemake CLI: run_snakemake(workdir, config_dict, *extra_args)."""
    return _snakemake


TINY = yaml.safe_load((REPO / "tests" / "configs" / "tiny.yaml").read_text())
EXAMPLES = sorted((REPO / "config" / "examples").glob("*.yaml"))


def example_config(path: Path) -> dict:
    """An example config with its ../shared/data paths (relative to the repository root) made absolute."""
    return yaml.safe_load(path.read_text().replace("../shared/data/", f"{SHARED_DATA}/"))


# The long runs that several tests read start in threads when the session begins, and the tests that wait for them
# run after all others: the unit tests use the cores while the runs go on. Fixture a test waits through -> the
# session fixture that starts the run.
BACKGROUND = {"tiny_run": "tiny_run_started", "slurm_tiny_run": "slurm_tiny_run", "example": "example_runs"}
CLUSTER = REPO / "tests" / "cluster"
PACKAGES_MISSING = 3  # exit status of slurm_up.sh when slurm-wlm / munge cannot be installed
# every rule kind of the DAG up to training, a BDT and a torch model, one pruning: the other models' jobs are the same
# rules on more wildcards (the local tiny run trains and evaluates them all)
SLURM_TARGETS = ("results/models/bdt/metrics.json", "results/models/pnet/metrics.json", "results/prune/mlp/pruning.csv")


def _waits_for_a_background_run(item: pytest.Item) -> bool:
    """Whether a test reads one of the background runs."""
    return any(name in getattr(item, "fixturenames", ()) for name in BACKGROUND)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that wait for a background run go last (the order is otherwise kept)."""
    items.sort(key=_waits_for_a_background_run)


@pytest.fixture(scope="session", autouse=True)
def background_runs(request: pytest.FixtureRequest) -> None:
    """Start, when the session begins, each background run that a collected test waits for."""
    used = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    for fixture, starter in BACKGROUND.items():
        if fixture in used:
            request.getfixturevalue(starter)


@pytest.fixture(scope="session")
def tiny_run_started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Future, Path]]:
    """One complete run of tests/configs/tiny.yaml (every stage, every family) in the background: (its future, its
    folder)."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(_snakemake, workdir, TINY), workdir


@pytest.fixture(scope="session")
def tiny_run(tiny_run_started: tuple[Future, Path]) -> Path:
    """The working directory of the finished tiny run, shared by the tests that only read its outputs; tests that
    change files run in their own folders."""
    run, workdir = tiny_run_started
    result = run.result()
    assert result.returncode == 0, result.stdout[-5000:]
    return workdir


@pytest.fixture(scope="session")
def example_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Future, Path]]]:
    """Every config/examples/*.yaml run end to end in the background, one after the other on one core: name -> (the
    run's future, its folder)."""
    with ThreadPoolExecutor(1) as pool:
        runs = {}
        for path in EXAMPLES:
            workdir = tmp_path_factory.mktemp(f"example_{path.stem}")
            runs[path.stem] = (pool.submit(_snakemake, workdir, example_config(path), "--cores", "1"), workdir)
        yield runs


def completed_slurm_jobs(state: Path) -> int:
    """Number of jobs the Slurm controller recorded as COMPLETED (jobcomp/filetxt of slurm_up.sh)."""
    record = state / "log" / "jobcomp.txt"
    return record.read_text().count("JobState=COMPLETED") if record.exists() else 0


@dataclass(frozen=True)
class SlurmRun:
    """The tiny run on Slurm: the Snakemake result (None when Slurm could not be installed, with the reason), the
    jobs the controller had completed before it, the cluster's state folder and the run's folder."""

    result: subprocess.CompletedProcess | None
    not_installed: str
    jobs_before: int
    state: Path
    workdir: Path


def _run_on_slurm(state: Path, workdir: Path) -> SlurmRun:
    """Start the single-node cluster (tests/cluster/slurm_up.sh), then submit the tiny config through
    profiles/slurm up to the training of a BDT and ParticleNet and one pruning (SLURM_TARGETS)."""
    up = subprocess.run([str(CLUSTER / "slurm_up.sh"), str(state)], capture_output=True, text=True, timeout=600)
    if up.returncode == PACKAGES_MISSING:
        return SlurmRun(None, up.stderr.strip(), 0, state, workdir)
    assert up.returncode == 0, f"slurm_up.sh failed:\n{up.stdout}\n{up.stderr}"
    before = completed_slurm_jobs(state)
    # the profile as a user runs it, with Slurm polled 2 s after each submission and then every 2 s (not 10 s)
    result = _snakemake(workdir, TINY, *SLURM_TARGETS, "--workflow-profile", str(REPO / "profiles" / "slurm"),
                        "--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2",
                        timeout=1500)
    return SlurmRun(result, "", before, state, workdir)


@pytest.fixture(scope="session")
def slurm_tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Future]:
    """The future of the tiny run on a real single-node Slurm cluster started for the session (a SlurmRun); the
    cluster is stopped at the end of the session."""
    state, workdir = tmp_path_factory.mktemp("slurm"), tmp_path_factory.mktemp("slurm_tiny_run")
    with ThreadPoolExecutor(1) as pool:
        yield pool.submit(_run_on_slurm, state, workdir)
    subprocess.run([str(CLUSTER / "slurm_down.sh")], capture_output=True, timeout=120)


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
