"""End to end: `snakemake` runs preprocess -> fit_preprocessing -> prepare -> plot_inputs on ingested chunks.

The ingested chunks are synthetic (rootml.preprocess.synthetic) and put in place beforehand, so no
Pythia run is needed; Snakemake takes them as up to date and starts at the preprocess rule.
"""

from __future__ import annotations

import json
import re
from typing import Any

import h5py
import numpy as np
import pytest

from rootml.preprocess.split import SPLITS
from synthetic import synthetic_jets, write_synthetic_chunk
from test_preprocess_chunk import write_columns

pytestmark = pytest.mark.slow  # runs the real Snakemake workflow

CLASSES = ["q", "W", "t"]
CHUNKS = {"q": 1, "W": 1, "t": 2}
JETS = 150
CONFIG = {
    "seed": 5,
    "classes": CLASSES,
    "samples": {c: {"label": c, "generate": {"process": p, "chunks": CHUNKS[c], "jets_per_chunk": JETS}}
                for c, p in zip(CLASSES, ["quark", "wqq", "tbqq"])},
    "features": {"highlevel": ["jet_pt", "jet_mass", "jet_tau21", "jet_nparticles"],
                 "sets": {"part": {"features": ["part_deta", "part_dphi", "part_logpt", "part_charge", "part_isPhoton"],
                                   "max_length": 16}}},
    "preprocess": {"reweighting": {"bins": [5, 4]}},
    "represent": {"images": {"n_pixels": 11}},
}
TARGETS = [f"data/prepared/{s}/{r}.h5" for s in SPLITS for r in ("highlevel", "images", "part")] + [
    "results/plots/jet_images.png"]


@pytest.fixture(scope="module")
def workflow(run_snakemake, tmp_path_factory) -> dict[str, Any]:
    """The tiny config run from the ingested chunks to the prepared files and the input plots."""
    workdir = tmp_path_factory.mktemp("preprocess_workflow")
    for label, sample in enumerate(CLASSES):
        for chunk in range(CHUNKS[sample]):
            write_synthetic_chunk(workdir / "data" / "ingested" / sample / f"{chunk:04d}.parquet", JETS, label,
                                  seed=10 * label + chunk)

    def run(config: dict[str, Any], *args: str) -> str:
        """Run snakemake on the tiny workflow; return its output (fails the test on a non-zero exit)."""
        result = run_snakemake(workdir, config, *args)
        assert result.returncode == 0, result.stdout
        return result.stdout

    run(CONFIG, *TARGETS)
    return {"workdir": workdir, "run": run}


def planned_jobs(output: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run (without the total)."""
    table = output.split("Job stats:")[1].split("\n\n")[0]
    rows = re.findall(r"^(\w+)\s+(\d+)$", table, flags=re.MULTILINE)
    return {rule: int(count) for rule, count in rows if rule != "total"}


def test_prepared_files_hold_every_jet_once(workflow: dict[str, Any]) -> None:
    workdir = workflow["workdir"]
    ids = []
    for split in SPLITS:
        with h5py.File(workdir / "data" / "prepared" / split / "part.h5", "r") as h5:
            assert h5["features"].shape == (len(h5["label"]), 5, 16) and "knn" not in h5
            assert json.loads(h5.attrs["classes"]) == CLASSES
            ids.append(h5["event_id"][:])
        with h5py.File(workdir / "data" / "prepared" / split / "images.h5", "r") as h5:
            np.testing.assert_array_equal(h5["event_id"][:], ids[-1])
            assert h5["image"].shape[1:] == (1, 11, 11)
    ids = np.concatenate(ids)
    assert len(ids) == len(np.unique(ids)) == JETS * sum(CHUNKS.values())
    normalization = json.loads((workdir / "results" / "normalization.json").read_text())
    assert normalization["method"] == "robust" and "part_logpt" in normalization["features"]


def test_plots_and_logs_are_written(workflow: dict[str, Any]) -> None:
    workdir = workflow["workdir"]
    plots = {p.name for p in (workdir / "results" / "plots" / "inputs").iterdir()}
    for feature in [*CONFIG["features"]["highlevel"], *CONFIG["features"]["sets"]["part"]["features"]]:
        assert {f"{feature}.pdf", f"{feature}.png"} <= plots
    assert (workdir / "results" / "plots" / "jet_images.pdf").stat().st_size > 1000
    assert '"jets": 150.0' in (workdir / "logs" / "preprocess" / "t" / "0001.log").read_text()
    for log in ("fit_preprocessing.log", "prepare/train.log", "plot_inputs.log"):
        assert (workdir / "logs" / log).stat().st_size > 0


def test_changed_settings_rerun_only_what_depends_on_them(workflow: dict[str, Any]) -> None:
    run = workflow["run"]
    standard = {**CONFIG, "preprocess": {**CONFIG["preprocess"], "normalization": {"method": "standard"}}}
    planned = planned_jobs(run(standard, *TARGETS, "--dry-run"))
    assert planned == {"fit_preprocessing": 1, "prepare": 3, "plot_inputs": 1}
    more_particles = {**CONFIG, "features": {**CONFIG["features"], "sets": {"part": {
        **CONFIG["features"]["sets"]["part"], "max_length": 20}}}}
    assert planned_jobs(run(more_particles, *TARGETS, "--dry-run"))["preprocess"] == 4


def test_a_nan_in_one_ingested_file_stops_the_run_naming_it(run_snakemake, tmp_path) -> None:
    import awkward as ak

    for label, sample in enumerate(CLASSES):
        for chunk in range(CHUNKS[sample]):
            write_synthetic_chunk(tmp_path / "data" / "ingested" / sample / f"{chunk:04d}.parquet", JETS, label,
                                  seed=10 * label + chunk)
    bad = tmp_path / "data" / "ingested" / "t" / "0001.parquet"
    jets = ak.from_parquet(bad)
    mass = ak.to_numpy(jets.jet_mass).copy()
    mass[7] = np.nan
    ak.to_parquet(ak.with_field(jets, mass, "jet_mass"), bad)
    result = run_snakemake(tmp_path, CONFIG, *TARGETS)
    assert result.returncode != 0
    assert "t/0001.parquet" in result.stdout and "jet_mass" in result.stdout
    assert not (tmp_path / "data" / "preprocessed" / "t" / "0001.h5").exists()
    assert not list((tmp_path / "data").glob("prepared/*/*.h5"))


def test_jets_without_constituents_give_the_highlevel_file_and_plots_only(run_snakemake, tmp_path) -> None:
    """Samples on disk whose jets have no constituents: no set, no images; a BDT's inputs and their plots."""
    config = {"seed": 5, "classes": CLASSES,
              "samples": {c: {"label": c, "files": [f"raw/{c}.root"], "collection": "FatJet",
                              "branches": {"msd": "FatJet_msoftdrop"}} for c in CLASSES},
              "features": {"highlevel": ["jet_pt", "jet_mass", "msd"]},
              "preprocess": {"reweighting": {"bins": [5, 4]}}, "models": {}}
    for label, sample in enumerate(CLASSES):
        (tmp_path / "raw").mkdir(exist_ok=True)
        (tmp_path / "raw" / f"{sample}.root").write_bytes(b"")
        jets = synthetic_jets(JETS, label, seed=label)
        write_columns(tmp_path / "data" / "ingested" / sample / "0000.parquet",
                      {"msd": jets["jet_sdmass"], **{k: v for k, v in jets.items() if not k.startswith("part_")}})
    targets = [f"data/prepared/{s}/highlevel.h5" for s in SPLITS] + ["results/plots/inputs"]
    result = run_snakemake(tmp_path, config, *targets)
    assert result.returncode == 0, result.stdout
    assert not (tmp_path / "results" / "plots" / "jet_images.png").exists()
    assert sorted(p.name for p in (tmp_path / "data" / "prepared" / "test").iterdir()) == ["highlevel.h5"]
    assert {p.stem for p in (tmp_path / "results" / "plots" / "inputs").glob("*.png")} == {"jet_pt", "jet_mass", "msd"}
