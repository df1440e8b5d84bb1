"""End to end: the tiny config through every stage with the real `snakemake`, its report, and a second run."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pytest
import uproot
import yaml

from rootml.config import model_runs
from rootml.evaluation.names import expected_figures

TINY = yaml.safe_load((Path(__file__).parent / "configs" / "tiny.yaml").read_text())


@pytest.fixture(scope="module")
def tiny_run(run_snakemake, tmp_path_factory) -> Path:
    """The working directory of a complete run of the tiny config."""
    workdir = tmp_path_factory.mktemp("pipeline")
    result = run_snakemake(workdir, TINY)
    assert result.returncode == 0, result.stdout[-5000:]
    return workdir


def _planned_jobs(stdout: str) -> dict[str, int]:
    """Rule -> job count from the job-stats table of a dry run."""
    table = stdout.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_every_stage_wrote_its_outputs(tiny_run: Path) -> None:
    runs = model_runs(TINY)
    for run in runs:
        model = tiny_run / "results" / "models" / run
        for name in ("model_config.json", "metrics.json", "history.json", "history.csv", "predictions_test.parquet"):
            assert (model / name).stat().st_size > 0, model / name
    for run in ("mlp", "cnn", "pfn", "pnet", "jedi", "part", "ae", "mass"):
        prune = tiny_run / "results" / "prune" / run
        steps = json.loads((prune / "pruning.json").read_text())["steps"]
        assert [round(s["sparsity"], 2) for s in steps] == [0.0, 0.5, 0.8]
        assert (prune / "model.onnx").stat().st_size > 0
    for run in ("bdt", "mlp"):
        ranking = json.loads((tiny_run / "results" / "ranking" / run / "ranking.json").read_text())
        assert {"shap", "permutation", "selection"} <= set(ranking["methods"])
    figures = expected_figures(runs, ["t"], ["q"], [0.3, 0.5], None, "jet_mass", classes=TINY["classes"])
    assert "roc_per_class" in figures
    for stem in figures:
        for suffix in (".png", ".pdf"):
            assert (tiny_run / "results" / "evaluation" / "figures" / f"{stem}{suffix}").stat().st_size > 1000
    provenance = json.loads((tiny_run / "results" / "provenance.json").read_text())
    assert len(provenance["git"]["commit"]) == 40 and isinstance(provenance["git"]["dirty"], bool)
    assert provenance["config"]["seed"] == TINY["seed"] and len(provenance["config_hash"]) == 64
    assert provenance["packages"]["torch"].startswith("2.13.0") and provenance["started"] < provenance["finished"]
    summary = (tiny_run / "results" / "summary.md").read_text()
    assert "| pnet" in summary and "onnxruntime" in summary and "## Feature ranking" in summary


def test_html_report_holds_every_figure(tiny_run: Path, run_snakemake) -> None:
    result = run_snakemake(tiny_run, TINY, "--report", "results/report.html")
    assert result.returncode == 0, result.stdout[-5000:]
    html = (tiny_run / "results" / "report.html").read_text()
    figures = expected_figures(model_runs(TINY), ["t"], ["q"], [0.3, 0.5], None, "jet_mass", classes=TINY["classes"])
    for stem in [*figures, "jet_images", "pruning", "jet_mass"]:
        assert f"{stem}.png" in html, stem


def test_changing_one_model_reruns_only_that_model(tiny_run: Path, run_snakemake) -> None:
    changed = copy.deepcopy(TINY)
    changed["models"]["pnet"]["hparams"]["k"] = 3
    result = run_snakemake(tiny_run, changed, "--dry-run")
    assert result.returncode == 0, result.stdout[-5000:]
    assert _planned_jobs(result.stdout) == {"train": 1, "prune": 1, "evaluate": 1, "plot_pruning": 1, "summary": 1,
                                            "all": 1}
    assert "wildcards: model=pnet" in result.stdout and "model=mlp" not in result.stdout


def test_same_config_twice_gives_identical_files_and_metrics(tiny_run: Path, run_snakemake, tmp_path: Path) -> None:
    again = tmp_path / "again"
    result = run_snakemake(again, TINY, "results/evaluation/metrics.csv")
    assert result.returncode == 0, result.stdout[-5000:]
    for path in sorted((tiny_run / "data").rglob("*")):
        twin = again / path.relative_to(tiny_run)
        if path.suffix in {".parquet", ".h5"}:
            assert path.read_bytes() == twin.read_bytes(), path.relative_to(tiny_run)
        elif path.suffix == ".root":  # ROOT headers carry the write time and a UUID, as ROOT's own files do
            first, second = (uproot.open(p)["tree"].arrays(library="np") for p in (path, twin))
            assert first.keys() == second.keys()
            for name in first:
                assert np.array_equal(np.concatenate(first[name]) if first[name].dtype == object else first[name],
                                      np.concatenate(second[name]) if second[name].dtype == object else second[name])
    for run in model_runs(TINY):
        first = json.loads((tiny_run / "results" / "models" / run / "metrics.json").read_text())
        second = json.loads((again / "results" / "models" / run / "metrics.json").read_text())
        assert first == second, run
    assert (tiny_run / "results" / "evaluation" / "metrics.csv").read_text() == \
        (again / "results" / "evaluation" / "metrics.csv").read_text()


def test_normalization_was_fitted_on_the_training_split_only(tiny_run: Path) -> None:
    normalization = json.loads((tiny_run / "results" / "normalization.json").read_text())
    with h5py.File(tiny_run / "data" / "prepared" / "train" / "highlevel.h5") as train, \
            h5py.File(tiny_run / "data" / "prepared" / "test" / "highlevel.h5") as test:
        names = json.loads(train.attrs["feature_names"])
        raw_train, raw_test = train["highlevel_raw"][:], test["highlevel_raw"][:]
    for name in ("jet_mass", "jet_pt", "jet_tau21"):
        column, centre = names.index(name), normalization["features"][name]["center"]
        assert centre == pytest.approx(np.median(raw_train[:, column]), rel=1e-4), name
        assert centre != pytest.approx(np.median(raw_test[:, column]), rel=1e-4), name
