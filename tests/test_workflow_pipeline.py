"""End to end: the tiny config through every stage with the real `snakemake` (the shared run of conftest.tiny_run), its
report, its logs, and what a changed config reruns. tests/test_cluster_slurm.py runs the same config again on Slurm and
checks both runs give the same files."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import TINY
from rootml.config import model_runs
from rootml.evaluation.captions import expected_figures
from rootml.settings import validated

pytestmark = pytest.mark.slow  # runs the real Snakemake workflow


def _planned_jobs(stdout: str) -> dict[str, int]:
    """Rule -> job count from the job-stats table of a dry run."""
    table = stdout.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def test_every_stage_wrote_its_outputs(tiny_run: Path) -> None:
    runs = {name: run.as_dict() for name, run in model_runs(validated(TINY)).items()}
    for run in runs:
        model = tiny_run / "results" / "models" / run
        for name in ("model_config.json", "metrics.json", "history.json", "history.csv", "predictions_test.parquet"):
            assert (model / name).stat().st_size > 0, model / name
    for run in ("mlp", "cnn", "pfn", "pnet", "jedi", "part", "ae", "vae", "sae", "mass"):
        prune = tiny_run / "results" / "prune" / run
        steps = json.loads((prune / "pruning.json").read_text())["steps"]
        assert [round(s["sparsity"], 2) for s in steps] == [0.0, 0.5, 0.8]
        assert (prune / "model.onnx").stat().st_size > 0
    for run in ("bdt", "mlp"):
        ranking = json.loads((tiny_run / "results" / "ranking" / run / "ranking.json").read_text())
        assert {"shap", "permutation", "selection"} <= set(ranking["methods"])
    for space, representation in (("models/ae", "latent"), ("highlevel", "high-level features")):
        explored = json.loads((tiny_run / "results" / "explore" / space / "explore.json").read_text())
        assert explored["representation"] == representation and explored["n_jets"] > 100
        assert set(explored["clustering"]) == {"kmeans", "gmm", "agglomerative", "dbscan"}
        assert (tiny_run / "results" / "explore" / space / "plots" / "embeddings.png").stat().st_size > 1000
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
    assert "## Latent spaces and clustering" in summary and "| highlevel" in summary
    emulated = pd.read_csv(tiny_run / "results" / "firmware" / "mlp" / "firmware.csv")
    assert list(emulated["precision"]) == ["ap_fixed<16,6>"] and abs(emulated["metric_diff"].iloc[0]) < 0.05
    assert "## FPGA firmware emulation" in summary and "ap_fixed<16,6>" in summary
    quantized = json.loads((tiny_run / "results" / "quantize" / "mlp" / "quantization.json").read_text())
    assert [row["bits"] for row in quantized["bits"]] == [4, 8] and abs(quantized["int8_metric_change"]) < 0.05
    assert (tiny_run / "results" / "quantize" / "mlp" / "model_int8.onnx").stat().st_size > 0
    assert "## Quantization" in summary
    distilled = summary.split("## Knowledge distillation")[1].split("\n## ")[0]
    assert "| student" in distilled and "pnet" in distilled
    student = json.loads((tiny_run / "results" / "models" / "student" / "model_config.json").read_text())
    assert student["teacher"]["run"] == "pnet" and student["distill"]["temperature"] == 4.0


def test_html_report_holds_every_figure(tiny_run: Path, run_snakemake) -> None:
    result = run_snakemake(tiny_run, TINY, "--report", "results/report.html")
    assert result.returncode == 0, result.stdout[-5000:]
    html = (tiny_run / "results" / "report.html").read_text()
    runs = {name: run.as_dict() for name, run in model_runs(validated(TINY)).items()}
    figures = expected_figures(runs, ["t"], ["q"], [0.3, 0.5], None, "jet_mass", classes=TINY["classes"])
    for stem in [*figures, "jet_images", "pruning", "jet_mass", "embeddings", "contingency_kmeans"]:
        assert f"{stem}.png" in html, stem


def test_changing_one_model_reruns_only_that_model_and_its_students(tiny_run: Path, run_snakemake) -> None:
    changed = copy.deepcopy(TINY)
    changed["models"]["pnet"]["hparams"]["k"] = 3
    result = run_snakemake(tiny_run, changed, "--dry-run")
    assert result.returncode == 0, result.stdout[-5000:]
    # pnet and the student it teaches (models.student.distill.teacher, not pruned), nothing else
    assert _planned_jobs(result.stdout) == {"train": 2, "prune": 1, "evaluate": 1, "plot_pruning": 1, "summary": 1,
                                            "all": 1}
    assert "wildcards: model=pnet" in result.stdout and "wildcards: model=student" in result.stdout
    assert "model=mlp" not in result.stdout


def test_changing_a_samples_selection_reruns_its_ingest_and_what_follows(tiny_run: Path, run_snakemake) -> None:
    """Every rule declares the config it reads as params: a new selection of sample W reruns W's ingest (and the
    stages after it), nothing of the other samples."""
    changed = copy.deepcopy(TINY)
    changed["samples"]["W"]["selection"] = "jet_pt > 550"
    result = run_snakemake(tiny_run, changed, "--dry-run")
    assert result.returncode == 0, result.stdout[-5000:]
    jobs = _planned_jobs(result.stdout)
    assert jobs["ingest"] == 1 and "generate" not in jobs and jobs["preprocess"] == 1
    assert "wildcards: sample=W, chunk=0000" in result.stdout and "sample=q" not in result.stdout


def test_every_job_wrote_its_declared_log(tiny_run: Path, run_snakemake) -> None:
    """One non-empty log per job of the run (the job set-up writes each), naming its rule."""
    result = run_snakemake(tiny_run, TINY, "--dry-run", "--forceall")
    jobs = _planned_jobs(result.stdout)
    jobs.pop("all")
    logs = sorted((tiny_run / "logs").rglob("*.log"))
    per_rule: dict[str, int] = {}
    for log in logs:
        text = log.read_text()
        rule = re.search(r"INFO rootml.job: rule (\w+)", text).group(1)
        per_rule[rule] = per_rule.get(rule, 0) + 1
        assert f"rule {rule} done in" in text, log
    assert per_rule == jobs


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


def test_calibration_ensemble_and_mc_dropout_outputs(tiny_run: Path) -> None:
    """Issue 17: calibrated scores and T of every classifier, MC dropout columns of mlp_seeds, its ensemble row and
    the calibration and per-jet uncertainty tables and figures."""
    for run in ("bdt", "mlp", "mlp_seeds_s0", "mlp_seeds_s1"):
        model = tiny_run / "results" / "models" / run
        metrics = json.loads((model / "metrics.json").read_text())
        assert metrics["temperature"] > 0 and {"val_ece", "val_ece_calibrated"} <= set(metrics)
        table = pd.read_parquet(model / "predictions_test.parquet")
        assert {f"score_cal_{name}" for name in TINY["classes"]} <= set(table.columns)
    mcd = pd.read_parquet(tiny_run / "results" / "models" / "mlp_seeds_s0" / "predictions_test.parquet")
    assert (mcd[[f"score_mcd_std_{name}" for name in TINY["classes"]]].to_numpy() > 0).any()
    evaluated = pd.read_csv(tiny_run / "results" / "evaluation" / "metrics.csv").set_index("model")
    assert evaluated.loc["mlp_seeds_ensemble", "uncertainty"] == "ensemble"
    assert evaluated.loc["mlp_seeds_ensemble", "uncertainty_samples"] == 2
    assert evaluated.loc["mlp_seeds_s0", "uncertainty"] == "MC dropout"
    assert evaluated.loc[["bdt", "mlp"], ["ece", "ece_cal", "ece_sb", "ece_sb_cal"]].notna().all().all()
    figures = tiny_run / "results" / "evaluation" / "figures"
    for stem in ("calibration_bdt", "calibration_mlp_seeds_ensemble", "uncertainty_mlp_seeds_ensemble",
                 "uncertainty_mlp_seeds_s0", "uncertainty_mlp_seeds_s1"):
        assert (figures / f"{stem}.png").stat().st_size > 1000
    summary = (tiny_run / "results" / "summary.md").read_text()
    assert "### Calibration" in summary and "### Per-jet uncertainty" in summary


def test_kfold_runs_gathered_out_of_fold_and_summarised(tiny_run: Path) -> None:
    """Issue 17 (k-fold): mlp_kfold's three fold runs are evaluated like any run, each wrote its fold's out-of-fold
    predictions, the folds rule gathered every train+val jet once with the fold metrics and the ROC figure, and the
    summary has the k-fold section."""
    evaluated = pd.read_csv(tiny_run / "results" / "evaluation" / "metrics.csv").set_index("model")
    runs = [f"mlp_kfold_f{fold}" for fold in range(3)]
    assert evaluated.loc[runs, "auc_sb"].notna().all()
    folds = tiny_run / "results" / "folds" / "mlp_kfold"
    oof = pd.read_parquet(folds / "predictions_oof.parquet")
    with h5py.File(tiny_run / "data" / "prepared" / "train" / "highlevel.h5") as train, \
            h5py.File(tiny_run / "data" / "prepared" / "val" / "highlevel.h5") as val:
        ids = np.concatenate([train["event_id"][:], val["event_id"][:]])
    assert sorted(oof["event_id"]) == sorted(ids) and sorted(oof["fold"].unique()) == [0, 1, 2]
    for fold, run in enumerate(runs):
        own = pd.read_parquet(tiny_run / "results" / "models" / run / "predictions_oof.parquet")
        assert sorted(own["event_id"]) == sorted(oof.loc[oof["fold"] == fold, "event_id"])
    table = pd.read_csv(folds / "metrics.csv", dtype={"fold": str}).set_index("fold")
    assert list(table.index) == ["0", "1", "2", "mean", "std", "out_of_fold"]
    np.testing.assert_allclose(table.loc[["0", "1", "2"], "auc_sb"], evaluated.loc[runs, "auc_sb"])
    assert (folds / "roc.png").stat().st_size > 1000 and (folds / "roc.pdf").is_file()
    summary = (tiny_run / "results" / "summary.md").read_text()
    assert "## k-fold cross-validation" in summary and "Out-of-fold AUC" in summary
