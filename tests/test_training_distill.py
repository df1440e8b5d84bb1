"""Knowledge distillation: the Hinton loss against a hand computation, the teacher's logits riding with the shuffled
rows, a strong teacher lifting a weak student on a toy task, teachers on other inputs (a set, a BDT), the config's
distill errors, the Snakemake DAG and the summary's table."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import TINY, load
from rootml.config import ModelRun, model_run, model_runs
from rootml.errors import ConfigError
from rootml.evaluation.distillation import baseline_run, distillation_table, render_distillation
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.report import distillation_section
from rootml.training.data import SplitReader
from rootml.training.device import CPU
from rootml.training.distill import file_order_ids
from rootml.training.files import ModelFiles
from rootml.training.objectives import TEACHER_LOGITS, Classification, Distillation, distillation_loss
from rootml.training.run import train_model

CLASSES = ["b", "s"]
N_JUNK, NOISE, N_SLOTS = 20, 0.3, 6
HIGHLEVEL = ["noisy", *(f"junk{i}" for i in range(N_JUNK)), "clean"]
STUDENT_FEATURES = HIGHLEVEL[:-1]  # the latent seen through noise, among irrelevant features
SPLITS_BIG = {"train": 3000, "val": 500, "test": 300}  # where the teachers learn
SPLITS_SMALL = {"train": 100, "val": 64, "test": 3000}  # where the students learn, and are measured
CONFIG = {"seed": 1, "classes": CLASSES,
          "features": {"highlevel": HIGHLEVEL, "sets": {"part": {"features": ["part_a", "part_b"],
                                                                 "max_length": N_SLOTS}}},
          "training": {"epochs": 10, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant"}}
TEACHERS = {
    "mlp_teacher": {"family": "mlp", "features": ["clean"], "hparams": {"hidden": [16]}},
    "set_teacher": {"family": "deepsets", "hparams": {"phi_sizes": [16], "f_sizes": [16]}},
    "bdt_teacher": {"family": "bdt", "features": ["clean"], "hparams": {"n_estimators": 30, "max_depth": 2}},
}
ALONE = {"family": "mlp", "features": STUDENT_FEATURES, "hparams": {"hidden": [32, 32]},
         "training": {"epochs": 60, "batch_size": 16, "lr": 0.01, "patience": 60}}


def toy_jets(n: int, seed: int) -> dict[str, np.ndarray]:
    """Jets of a latent z with label ~ Bernoulli(sigmoid(3 z)): high-level `clean` = z, `noisy` = z + noise and
    irrelevant `junk*`, and a set `part` whose elements carry z; the teacher sees z, the student z through noise."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-3 * z))).astype(np.int64)
    highlevel = np.column_stack([z + rng.normal(scale=NOISE, size=n), rng.normal(size=(n, N_JUNK)), z])
    mask = np.arange(N_SLOTS)[None, :] < rng.integers(2, N_SLOTS + 1, n)[:, None]
    features = (z[:, None, None] + rng.normal(scale=0.3, size=(n, 2, N_SLOTS))) * mask[:, None, :]
    points = rng.normal(scale=0.3, size=(n, 2, N_SLOTS)) * mask[:, None, :]
    return {"label": label, "weight": np.ones(n, np.float32), "event_id": rng.integers(0, 2**62, n),
            "highlevel": highlevel.astype(np.float32), "features": features.astype(np.float32),
            "points": points.astype(np.float32), "mask": mask}


def write_toy(root: Path, sizes: dict[str, int], seed: int) -> dict[str, dict[str, Path]]:
    """data/prepared/{split}/{highlevel,part}.h5 of toy jets (contracts.md layout); split -> representation -> file."""
    attributes = {"highlevel": {"feature_names": HIGHLEVEL, "normalization": {}},
                  "part": {"feature_names": ["part_a", "part_b"], "normalization": {}, "n_particles": N_SLOTS,
                           "coordinates": ["part_deta", "part_dphi"], "set": "part"}}
    datasets = {"highlevel": ("highlevel",), "part": ("features", "points", "mask")}
    prepared: dict[str, dict[str, Path]] = {}
    for index, (split, n) in enumerate(sizes.items()):
        jets = toy_jets(n, seed + index)
        (root / split).mkdir(parents=True, exist_ok=True)
        for rep, names in datasets.items():
            path = prepared.setdefault(split, {})[rep] = root / split / f"{rep}.h5"
            with open_for_writing(path) as h5:
                H5Appender(h5, 64).append({key: jets[key] for key in ("label", "weight", "event_id", *names)})
                h5.attrs.update({"classes": json.dumps(CLASSES), "split": split,
                                 **{key: json.dumps(value) for key, value in attributes[rep].items()}})
    return prepared


def distilled(teacher: str, **block) -> dict:
    """The student entry ALONE taught by `teacher`."""
    return {**ALONE, "distill": {"teacher": teacher, **block}}


def config_with(**entries) -> dict:
    """CONFIG with these model entries (and the teachers)."""
    return {**CONFIG, "models": {**TEACHERS, "alone": ALONE, **entries}}


def fit(name: str, entry: dict, prepared: dict, out: Path, **kwargs):
    """train_model of `models.<name>` (entry) on CPU, into out/<name>."""
    run = model_run(name, entry, config_with(**{name: entry}))
    return train_model(run, CLASSES, prepared, ModelFiles.of_family(out / name, run.family), device=CPU,
                       progress=False, **kwargs)


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Big and small toy datasets, the teachers trained on the big one (single-threaded, CPU)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("distill")
    big, small = write_toy(root / "big", SPLITS_BIG, 100), write_toy(root / "small", SPLITS_SMALL, 200)
    teachers = root / "teachers"
    for name, entry in TEACHERS.items():
        fit(name, entry, big, teachers)
    return {"big": big, "small": small, "root": root, "teachers": teachers}


def teacher_files(toy: dict, name: str) -> ModelFiles:
    """The files of a trained toy teacher."""
    return ModelFiles.of_family(toy["teachers"] / name, TEACHERS[name]["family"])


# --- the loss ---------------------------------------------------------------------------------------------------------

def test_loss_is_the_hinton_formula() -> None:
    """Closed forms for two classes (KL of logit gap d against -d at temperature T: tanh(d/T) * d/T), T² scaling, and
    a hand computation on three classes with class weights."""
    student, teacher, labels = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([1])
    for temperature in (1.0, 2.0, 4.0):
        soft = distillation_loss(student, teacher, labels, temperature, alpha=1.0)
        gap = 1.0 / temperature
        assert soft.item() == pytest.approx(temperature**2 * math.tanh(gap / 2) * gap, rel=1e-6)
    assert distillation_loss(student, teacher, labels, 4.0, 0.0).item() == pytest.approx(math.log(1 + math.e))
    assert distillation_loss(student, student, labels, 3.0, 1.0).item() == pytest.approx(0.0, abs=1e-7)

    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(5, 3)) * 3, rng.normal(size=(5, 3)) * 3
    y, weights, temperature, alpha = np.array([0, 2, 1, 1, 0]), np.array([1.0, 2.0, 0.5]), 2.5, 0.3

    def log_softmax(x: np.ndarray) -> np.ndarray:
        return x - np.log(np.exp(x).sum(axis=1, keepdims=True))

    p_teacher = np.exp(log_softmax(t / temperature))
    kl = (p_teacher * (np.log(p_teacher) - log_softmax(s / temperature))).sum(axis=1)
    ce = -log_softmax(s)[np.arange(5), y] * weights[y]
    expected = alpha * temperature**2 * kl + (1 - alpha) * ce
    got = distillation_loss(torch.tensor(s), torch.tensor(t), torch.tensor(y), temperature, alpha,
                            torch.tensor(weights))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)
    objective = Distillation(Classification(["a", "b", "c"], weights.tolist()), temperature, alpha)
    rows = objective.row_loss(torch.tensor(s, dtype=torch.float32),
                              {"label": torch.tensor(y), TEACHER_LOGITS: torch.tensor(t, dtype=torch.float32)})
    np.testing.assert_allclose(rows.numpy(), expected, rtol=1e-5)
    assert objective.target_key == TEACHER_LOGITS and objective.n_outputs == 3


# --- the teacher's logits follow the rows -----------------------------------------------------------------------------

@pytest.mark.parametrize("max_jets", [10_000, 40], ids=["in_memory", "streamed"])
def test_added_column_rides_with_shuffled_rows(tmp_path: Path, max_jets: int) -> None:
    """A column added in memory (file order) comes with its own jet in every shuffled, label-filtered or streamed
    batch."""
    prepared = write_toy(tmp_path, {"train": 150}, 5)
    reader = SplitReader(prepared["train"], "train", max_jets)
    ids = file_order_ids(reader)
    tagged = np.stack([ids % 1009, ids % 9973], axis=1).astype(np.float32)
    reader.add_column("tag", tagged)
    labels = np.concatenate([batch["label"] for batch in reader.batches(["label"], 1000)])
    seen = []
    for batch in reader.batches(["tag", "event_id", "features"], 32, seed=7, labels=[1]):
        np.testing.assert_array_equal(batch["tag"], np.stack([batch["event_id"] % 1009, batch["event_id"] % 9973], 1))
        assert batch["features"].shape[0] == len(batch["tag"])
        seen.append(batch["event_id"])
    seen_ids = np.concatenate(seen)
    assert sorted(seen_ids) == sorted(ids[labels == 1])  # each jet of class 1 once
    assert not np.array_equal(seen_ids, ids[labels == 1])  # shuffled
    with pytest.raises(ValueError, match="rows"):
        reader.add_column("short", tagged[:-1])
    with pytest.raises(ValueError, match="exists"):
        reader.add_column("label", ids)


# --- training ---------------------------------------------------------------------------------------------------------

def test_strong_teacher_lifts_a_weak_student(toy: dict, tmp_path: Path) -> None:
    """A small MLP on noisy and irrelevant features, trained on 100 jets, gains macro AUC when taught by an MLP that
    saw the latent on 3000 jets; its best epoch is the one of least validation distillation loss."""
    teacher = teacher_files(toy, "mlp_teacher")
    alone = fit("alone", ALONE, toy["small"], tmp_path)
    taught = fit("kd", distilled("mlp_teacher"), toy["small"], tmp_path, teacher=teacher)
    teacher_auc = json.loads(teacher.metrics.read_text())["auc"]
    assert teacher_auc > 0.9
    assert taught.metrics["auc"] > alone.metrics["auc"] + 0.04, (alone.metrics, taught.metrics)
    assert set(taught.metrics) == {"auc", "auc_b", "auc_s", "accuracy", "loss",  # a classifier's, cross entropy
                                   "temperature", "val_ece", "val_ece_calibrated"}  # and its calibration
    config = json.loads(taught.files.config.read_text())
    assert config["distill"] == {"teacher": "mlp_teacher", "teacher_run": "mlp_teacher", "temperature": 4.0,
                                 "alpha": 0.5, "baseline": None}
    assert config["teacher"]["family"] == "mlp" and config["teacher"]["val_auc"] > 0.85
    assert len(config["teacher"]["weights_sha256"]) == 64
    student = load(taught.files.config.parent, CPU)
    assert config["n_parameters"] == sum(p.numel() for p in student.model.parameters())
    # the recorded validation loss of the best epoch is the distillation loss of the saved weights on val
    reader = SplitReader(toy["small"]["val"], "val", 10_000)
    batch = next(reader.batches(["highlevel", "label", "weight"], 10_000))
    hidden = [HIGHLEVEL.index(name) for name in STUDENT_FEATURES]
    with torch.no_grad():
        logits = student.model(torch.from_numpy(batch["highlevel"][:, hidden]))
        teacher_logits = load(teacher.config.parent, CPU).model(torch.from_numpy(batch["highlevel"][:, [-1]]))
    rows = distillation_loss(logits, teacher_logits, torch.from_numpy(batch["label"]), 4.0, 0.5)
    best = taught.history[taught.best_epoch - 1]
    assert best["val_loss"] == pytest.approx(float((rows * torch.from_numpy(batch["weight"])).mean()), rel=1e-4)
    assert best["val_loss"] == min(row["val_loss"] for row in taught.history)


@pytest.mark.parametrize("teacher", ["set_teacher", "bdt_teacher"])
def test_teacher_on_other_inputs_teaches(toy: dict, teacher: str) -> None:
    """A Deep Sets teacher on set `part`, or a BDT, teaches the high-level MLP; the teacher is found beside the
    student's folder, reads its own prepared files, and the student beats its solo self."""
    out = toy["teachers"]  # the student's folder beside the teacher's, as results/models/{run}/
    name = f"kd_{teacher}"
    taught = fit(name, distilled(teacher, temperature=2.0, alpha=0.7), toy["small"], out)
    config = json.loads(taught.files.config.read_text())
    recorded = config["teacher"]
    assert recorded["run"] == teacher and recorded["family"] == TEACHERS[teacher]["family"]
    if teacher == "set_teacher":
        assert recorded["representations"] == ["part"] and recorded["input_keys"] == ["features", "mask"]
    else:
        assert recorded["input_keys"] == ["highlevel"] and recorded["n_parameters"] > 30
    assert config["representations"] == ["highlevel"] and config["input_keys"] == ["highlevel"]
    assert taught.metrics["auc"] > 0.83  # alone: 0.78
    predictions = pd.read_parquet(taught.files.predictions_test)
    assert len(predictions) == SPLITS_SMALL["test"] and {"score_b", "score_s"} <= set(predictions)


def test_teacher_of_other_jets_or_missing_is_refused(toy: dict, tmp_path: Path) -> None:
    """The student's and the teacher's prepared files must hold the same jets; an untrained teacher is named."""
    mixed = {split: {"highlevel": toy["small"][split]["highlevel"], "part": toy["big"][split]["part"]}
             for split in SPLITS_SMALL}
    with pytest.raises(Exception, match="other jets"):
        fit("kd", distilled("set_teacher"), mixed, tmp_path, teacher=teacher_files(toy, "set_teacher"))
    with pytest.raises(Exception, match="not trained") as err:
        fit("kd", distilled("mlp_teacher"), toy["small"], tmp_path)
    assert "mlp_teacher/model_config.json" in str(err.value)


# --- config -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("entries", "key", "message"), [
    ({"kd": distilled("mlp_teachr")}, "models.kd.distill.teacher", "did you mean 'mlp_teacher'"),
    ({"kd": distilled("kd")}, "models.kd.distill.teacher", "its own teacher"),
    ({"kd": distilled("mass")}, "models.kd.distill.teacher", "regression"),
    ({"kd": distilled("ae")}, "models.kd.distill.teacher", "anomaly"),
    ({"kd": distilled("kd2"), "kd2": distilled("kd")}, "models.kd.distill.teacher", "cycle: kd <- kd2 <- kd"),
    ({"kd": distilled("kd2"), "kd2": distilled("kd3"), "kd3": distilled("kd")}, "models.kd.distill.teacher",
     "cycle: kd <- kd2 <- kd3 <- kd"),
    ({"kd": {**distilled("mlp_teacher"), "task": "regression", "target": "jet_mass"}}, "models.kd.distill",
     "classifier"),
    ({"kd": {"family": "bdt", "distill": {"teacher": "mlp_teacher"}}}, "models.kd.distill", "XGBoost"),
    ({"kd": distilled("mlp_teacher", baseline="alon")}, "models.kd.distill.baseline", "did you mean 'alone'"),
    ({"kd": distilled("mlp_teacher", alpha=1.5)}, "models.kd.distill.alpha", "1.5"),
])
def test_distill_config_errors_name_the_key(entries: dict, key: str, message: str) -> None:
    """Each mistake of a distill block stops the run naming its key."""
    config = config_with(mass={"family": "mlp", "task": "regression", "target": "jet_mass"},
                         ae={"family": "autoencoder", "task": "anomaly", "background": ["b"]}, **entries)
    with pytest.raises(ConfigError, match=message) as err:
        model_runs(config)
    assert err.value.key == key


def test_distill_resolves_and_round_trips() -> None:
    """Defaults from the schema, the teacher's first seed copy, chains of teachers, and ModelRun.from_dict (also of
    a model_config.json written before `distill` or the folds, MC dropout and decorrelation settings existed)."""
    config = config_with(kd=distilled("seeded"), kd2=distilled("kd", temperature=2.0),
                         seeded={**ALONE, "seeds": 3})
    runs = model_runs(config)
    assert runs["kd"].distill.teacher_run == "seeded_s0" and runs["kd"].distill.temperature == 4.0
    assert runs["kd2"].distill.teacher_run == "kd" and runs["alone"].distill is None
    assert ModelRun.from_dict(runs["kd2"].as_dict()) == runs["kd2"]
    old = {key: value for key, value in runs["alone"].as_dict().items() if key != "distill"}
    assert ModelRun.from_dict(old) == runs["alone"]
    older = {**old, "training": {key: value for key, value in old["training"].items()
                                 if key not in ("folds", "mc_dropout", "decorrelation")}}  # before issue 17
    assert ModelRun.from_dict(older) == runs["alone"]


def test_snakemake_trains_the_teacher_first(tmp_path: Path, run_snakemake) -> None:
    """The DAG of a distilled entry: its train job reads the teacher's weights and config (made by the teacher's
    train job) and the teacher's prepared particles."""
    config = json.loads(json.dumps(TINY))
    config["models"]["kd"] = {**config["models"]["mlp"], "distill": {"teacher": "pnet"}}
    result = run_snakemake(tmp_path, config, "--dry-run", "results/models/kd/metrics.json")
    assert result.returncode == 0, result.stdout[-3000:]
    jobs = result.stdout.split("rule train")
    student = next(job for job in jobs if "wildcards: model=kd\n" in job)
    inputs = student.split("input:")[1].split("\n")[0]
    for path in ("results/models/pnet/model.pt", "results/models/pnet/model_config.json",
                 "data/prepared/train/part.h5", "data/prepared/val/part.h5", "data/prepared/train/highlevel.h5"):
        assert path in inputs
    assert "data/prepared/test/part.h5" not in inputs
    assert any("wildcards: model=pnet\n" in job for job in jobs)
    assert yaml.safe_load((tmp_path / "config.yaml").read_text())["models"]["kd"]["distill"] == {"teacher": "pnet"}


# --- report -----------------------------------------------------------------------------------------------------------

def test_distillation_table_and_its_rendering() -> None:
    """One row per distilled run: teacher, the solo student found by comparing the runs (or named), the distilled
    one; AUC, rejections (infinite: '> limit') and parameters side by side."""
    runs = {name: run.as_dict() for name, run in model_runs(config_with(
        kd=distilled("mlp_teacher"), kd_named=distilled("set_teacher", baseline="other"),
        other={**ALONE, "hparams": {"hidden": [8]}})).items()}
    assert baseline_run(runs["kd"], runs) == "alone" and baseline_run(runs["kd_named"], runs) == "other"
    metrics = pd.DataFrame({
        "model": ["mlp_teacher", "set_teacher", "alone", "other", "kd", "kd_named"],
        "auc_macro": [0.95, 0.97, 0.78, 0.75, 0.86, 0.88],
        "rejection_50": [40.0, np.inf, 8.0, 7.0, 15.0, 16.0],
        "rejection_50_limit": [np.nan, 250.0, np.nan, np.nan, np.nan, np.nan],
    })
    counts = {"mlp_teacher": 65, "set_teacher": 900, "alone": 1800, "other": 200, "kd": 1800, "kd_named": 1800}
    table = distillation_table(runs, metrics, counts)
    assert table["student"].tolist() == ["kd", "kd_named"]
    first = table.iloc[0]
    assert (first["teacher"], first["alone"], first["auc_teacher"], first["auc_alone"], first["auc_distilled"]) == (
        "mlp_teacher", "alone", 0.95, 0.78, 0.86)
    assert first["n_parameters_alone"] == 1800 and table.iloc[1]["rejection_50_limit_teacher"] == 250.0
    lines = "\n".join(render_distillation(table))
    assert "## Knowledge distillation" in lines
    assert "| kd        | mlp_teacher | alone   | 4   | 0.5 | 0.9500 / 0.7800 / 0.8600 | +0.0800 " in lines
    assert "> 250 / 7 / 16" in lines and "65 / 1800 / 1800" in lines
    assert render_distillation(distillation_table({"alone": runs["alone"]}, metrics, counts)) == []


def test_summary_section_reads_the_trained_folders(toy: dict) -> None:
    """distillation_section: the distilled runs among metrics.csv's, from their model_config.json files."""
    metrics = pd.DataFrame({"model": ["mlp_teacher", "bdt_teacher", "kd_bdt_teacher"], "auc_macro": [0.9, 0.91, 0.8]})
    if not (toy["teachers"] / "kd_bdt_teacher" / "model_config.json").is_file():
        fit("kd_bdt_teacher", distilled("bdt_teacher"), toy["small"], toy["teachers"])
    lines = "\n".join(distillation_section(metrics, toy["teachers"]))
    assert "| kd_bdt_teacher | bdt_teacher | -       |" in lines and "0.9100 / - / 0.8000" in lines
    counts = [json.loads((toy["teachers"] / name / "model_config.json").read_text())["n_parameters"]
              for name in ("bdt_teacher", "kd_bdt_teacher")]
    assert f"{counts[0]} / - / {counts[1]}" in lines
