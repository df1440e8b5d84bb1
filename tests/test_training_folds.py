"""k-fold cross-validation (training.folds): fold assignment, the fold runs of model_runs and their config errors, the
row selection of the readers of a fold run, and a trained fold run's out-of-fold predictions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from conftest import TINY, prepared_in, split_reader
from rootml.config import model_run, model_runs
from rootml.errors import ConfigError
from rootml.preprocess.split import assign_splits
from rootml.seeds import stable_event_ids
from rootml.settings import validated
from rootml.training.files import ModelFiles
from rootml.training.folds import FoldReader, assign_folds, event_ids, fold_groups, fold_readers
from rootml.training.run import train_model
from test_training_data import CLASSES, write_prepared

CONFIG = {"seed": 3, "classes": CLASSES,
          "training": {"epochs": 2, "batch_size": 32, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant"}}
MLP = {"family": "mlp", "hparams": {"hidden": [8]}}


def run_config(models: dict, **training: object) -> dict:
    """The tiny test run's config with these model entries (and `training` keys), validated."""
    return validated({**TINY, "models": models, "training": {**TINY.get("training", {}), **training}})


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthetic prepared splits (240 train, 96 val, 96 test jets), read only."""
    return write_prepared(tmp_path_factory.mktemp("folds"))


def stored_ids(data: Path, split: str) -> np.ndarray:
    """event_id of the prepared split, in file order."""
    with h5py.File(data / split / "highlevel.h5") as h5:
        return h5["event_id"][:]


def test_fold_assignment_deterministic_covering_balanced_and_independent_of_the_split() -> None:
    """Every jet gets one fold in [0, k), the same every time and whatever the order; folds are balanced, and so are
    they within each split (the fold hash is not the split hash)."""
    ids = stable_event_ids("sample/file.root", np.arange(30_000))
    folds = assign_folds(ids, 5)
    assert folds.min() == 0 and folds.max() == 4
    np.testing.assert_array_equal(folds, assign_folds(ids, 5))
    order = np.random.default_rng(0).permutation(len(ids))
    np.testing.assert_array_equal(assign_folds(ids[order], 5), folds[order])
    counts = np.bincount(folds, minlength=5)
    assert np.all(np.abs(counts - 6000) < 300), counts  # binomial sigma ~ 69
    splits = assign_splits(ids, {"train": 0.7, "val": 0.15, "test": 0.15}, seed=3)
    for split in (0, 1):
        share = np.bincount(folds[splits == split], minlength=5) / (splits == split).sum()
        assert np.all(np.abs(share - 0.2) < 0.03), share
    assert np.all(assign_folds(ids, 1) == 0)


def test_model_runs_name_each_fold_and_seed_copy() -> None:
    """folds: 3 makes runs name_f0..f2 (name_s{j}_f{i} with seeds), each with its fold and the entry's seed; a
    distilled student learns from its teacher's first fold run; the first seed copy's first fold is the primary run."""
    config = run_config({
        "mlp": MLP, "k": {**MLP, "training": {"folds": 3}}, "ks": {**MLP, "seeds": 2, "training": {"folds": 2}},
        "student": {**MLP, "distill": {"teacher": "k"}}})
    runs = model_runs(config)
    assert list(runs) == ["mlp", "k_f0", "k_f1", "k_f2", "ks_s0_f0", "ks_s0_f1", "ks_s1_f0", "ks_s1_f1", "student"]
    assert [runs[name].fold for name in ("mlp", "k_f0", "k_f2", "ks_s1_f1")] == [None, 0, 2, 1]
    assert runs["k_f0"].seed == runs["k_f1"].seed and runs["ks_s0_f0"].seed != runs["ks_s1_f0"].seed
    assert runs["k_f1"].model == "k" and runs["k_f1"].training.folds == 3
    assert runs["student"].distill.teacher_run == "k_f0"
    # one run per entry stands for it in prune, rank, quantize, explore and firmware
    assert [name for name, run in runs.items() if run.primary] == ["mlp", "k_f0", "ks_s0_f0", "student"]
    assert fold_groups(runs) == {"k": ["k_f0", "k_f1", "k_f2"], "ks_s0": ["ks_s0_f0", "ks_s0_f1"],
                                 "ks_s1": ["ks_s1_f0", "ks_s1_f1"]}
    assert list(model_runs(run_config({"mlp": MLP}, folds=2))) == ["mlp_f0", "mlp_f1"]


@pytest.mark.parametrize(("training", "entry", "key", "message"), [
    ({"folds": 0}, MLP, "models.m.training.folds", "minimum of 1"),
    ({"folds": 2.5}, MLP, "models.m.training.folds", "integer"),
    ({"folds": 3}, {**MLP, "task": "regression", "target": "jet_mass"}, "models.m.training.folds", "ROC"),
], ids=["zero", "fraction", "regression"])
def test_bad_folds_name_the_key(training: dict, entry: dict, key: str, message: str) -> None:
    """A wrong training.folds of an entry raises ConfigError naming models.<name>.training.folds."""
    with pytest.raises(ConfigError, match=message) as caught:
        model_runs(run_config({"m": {**entry, "training": training}}))
    assert caught.value.key == key


def test_a_distilled_student_in_folds_is_refused() -> None:
    """A distilled student cannot be trained in folds: ConfigError naming its training.folds."""
    config = run_config({"t": MLP, "s": {**MLP, "distill": {"teacher": "t"}, "training": {"folds": 2}}})
    with pytest.raises(ConfigError, match="distilled student") as caught:
        model_runs(config)
    assert caught.value.key == "models.s.training.folds"


@pytest.mark.parametrize("max_jets", [10_000, 70], ids=["in_memory", "streamed"])
def test_fold_readers_train_outside_and_validate_inside_the_fold(prepared: Path, max_jets: int) -> None:
    """Fold i's training reader holds the train+val jets outside fold i, each once per shuffled epoch; its
    validation reader exactly those inside; the folds' validation readers together cover train+val once."""
    everything = np.concatenate([stored_ids(prepared, "train"), stored_ids(prepared, "val")])
    folds = assign_folds(everything, 3)
    seen = []
    for fold in range(3):
        readers = fold_readers(lambda split: split_reader(prepared, split, ["highlevel"], max_jets), fold, 3)
        train, val = readers["train"], readers["val"]
        epoch = np.concatenate([b["event_id"] for b in train.batches(["event_id"], 32, seed=fold)])
        assert sorted(epoch) == sorted(everything[folds != fold])
        inside = np.concatenate([b["event_id"] for b in val.batches(["event_id"], 32)])
        assert sorted(inside) == sorted(everything[folds == fold])
        assert not set(epoch) & set(inside)
        assert train.n_rows == len(epoch) and val.n_rows == len(inside) == val.count()
        assert val.count([0]) == int((stored_labels(prepared)[folds == fold] == 0).sum())
        seen.append(inside)
    assert sorted(np.concatenate(seen)) == sorted(everything)


def stored_labels(data: Path) -> np.ndarray:
    """Labels of the prepared train then val split."""
    labels = []
    for split in ("train", "val"):
        with h5py.File(data / split / "highlevel.h5") as h5:
            labels.append(h5["label"][:])
    return np.concatenate(labels)


def test_restricted_reader_reads_the_selection_in_file_order_and_checks_its_shape(prepared: Path) -> None:
    """restrict keeps the selected rows (in file order without a seed, the first max_rows rows' share with it);
    a selection of another length is refused."""
    reader = split_reader(prepared, "train", ["highlevel"], 10_000)
    ids = event_ids(reader)
    keep = np.arange(len(ids)) % 3 == 0
    reader.restrict(keep)
    read = np.concatenate([b["event_id"] for b in reader.batches(["event_id"], 25)])
    np.testing.assert_array_equal(read, ids[keep])
    first = np.concatenate([b["event_id"] for b in reader.batches(["event_id"], 25, max_rows=30)])
    np.testing.assert_array_equal(first, ids[:30][keep[:30]])
    with pytest.raises(ValueError, match="row selection"):
        reader.restrict(keep[:-1])


def test_fold_reader_in_order_stops_after_max_rows(prepared: Path) -> None:
    """Without a seed a FoldReader reads its parts one after the other, the first max_rows jets when given."""
    parts = [split_reader(prepared, split, ["highlevel"], 10_000) for split in ("train", "val")]
    reader = FoldReader(parts, "train+val")
    read = np.concatenate([b["event_id"] for b in reader.batches(["event_id"], 50, max_rows=260)])
    expected = np.concatenate([stored_ids(prepared, "train"), stored_ids(prepared, "val")])[:260]
    np.testing.assert_array_equal(read, expected)


def test_a_fold_run_predicts_its_fold_out_of_fold(prepared: Path, tmp_path: Path, one_torch_thread: None) -> None:
    """A fold run's predictions_oof holds exactly its validation fold's jets, with the columns of predictions_test;
    its test predictions cover the whole test split."""
    run = replace(model_run("k", {**MLP, "training": {"folds": 3}}, CONFIG), name="k_f1", fold=1)
    files = ModelFiles.of_family(tmp_path / "k_f1", run.family)
    train_model(run, CLASSES, prepared_in(prepared), files, progress=False)
    oof, test = pd.read_parquet(files.predictions_oof), pd.read_parquet(files.predictions_test)
    everything = np.concatenate([stored_ids(prepared, "train"), stored_ids(prepared, "val")])
    assert sorted(oof["event_id"]) == sorted(everything[assign_folds(everything, 3) == 1])
    assert list(oof.columns) == list(test.columns)
    assert sorted(test["event_id"]) == sorted(stored_ids(prepared, "test"))
    np.testing.assert_allclose(oof[[f"score_{name}" for name in CLASSES]].sum(axis=1), 1.0, rtol=1e-5)
