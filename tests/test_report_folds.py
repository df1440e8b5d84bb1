"""k-fold cross-validation results: the out-of-fold predictions gathered and checked, the fold metrics table, the ROC
figure, and the summary's k-fold section beside the seeds section (one mean ± std helper)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from conftest import prepared_in
from rootml.config import model_run
from rootml.errors import InputError
from rootml.evaluation.folds import evaluate_folds, gather_out_of_fold, prepared_event_ids
from rootml.evaluation.results import ResultFiles
from rootml.evaluation.settings import EvaluateSettings
from rootml.evaluation.tables import format_with_error
from rootml.report import folds_section, mean_and_spread, seeds_section
from rootml.training.files import ModelFiles
from rootml.training.folds import FoldFiles
from rootml.training.run import train_model
from test_training_data import CLASSES, write_prepared

CONFIG = {"seed": 5, "classes": CLASSES,
          "training": {"epochs": 1, "batch_size": 32, "lr": 0.01, "warmup_epochs": 0, "schedule": "constant"}}
ENTRY = {"family": "mlp", "hparams": {"hidden": [8]}, "training": {"folds": 3}}
SETTINGS = EvaluateSettings.for_run({"signal": ["t"], "background": ["q"], "n_bootstrap": 10}, CLASSES, [])


@pytest.fixture(scope="module")
def folded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three fold runs of one tiny MLP on synthetic prepared data, evaluated by evaluate_folds (read only)."""
    root = tmp_path_factory.mktemp("report_folds")
    data = write_prepared(root)
    base = model_run("k", ENTRY, CONFIG)
    runs, files = [], []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the one_torch_thread fixture is per test; this one is per module
    try:
        for fold in range(3):
            run = replace(base, name=f"k_f{fold}", fold=fold)
            model = ModelFiles.of_family(root / "models" / run.name, run.family)
            train_model(run, CLASSES, prepared_in(data), model, progress=False)
            runs.append(run.name)
            files.append(model)
    finally:
        torch.set_num_threads(threads)
    prepared = [data / split / "highlevel.h5" for split in ("train", "val")]
    out = FoldFiles.in_directory(root / "folds" / "k")
    table = evaluate_folds(runs, [ResultFiles.of(f) for f in files], [f.predictions_oof for f in files], prepared,
                           CLASSES, SETTINGS, 5, out)
    return {"runs": runs, "files": files, "prepared": prepared, "out": out, "table": table}


def test_fold_table_has_each_fold_their_spread_and_the_out_of_fold_metrics(folded: dict) -> None:
    """metrics.csv: a row per fold run, then mean and sample std of their metrics, then the out-of-fold AUC, which
    is the signal-vs-background AUC of the gathered predictions of every train+val jet."""
    table = pd.read_csv(folded["out"].metrics, dtype={"fold": str})
    assert list(table["fold"]) == ["0", "1", "2", "mean", "std", "out_of_fold"]
    assert list(table["run"][:3]) == folded["runs"]
    per_fold = table["auc_sb"][:3].to_numpy()
    assert table["auc_sb"][3] == pytest.approx(per_fold.mean())
    assert table["auc_sb"][4] == pytest.approx(per_fold.std(ddof=1))
    assert {"auc_g", "auc_q", "auc_t", "accuracy", "auc_macro"} <= set(table.columns)
    oof = pd.read_parquet(folded["out"].predictions_oof)
    assert len(oof) == len(prepared_event_ids(folded["prepared"])) == 240 + 96
    assert sorted(oof["fold"].unique()) == [0, 1, 2]
    grouped = oof[oof["label"].isin([1, 2])]
    score = grouped["score_t"] / (grouped["score_t"] + grouped["score_q"])
    assert table["auc_sb"][5] == pytest.approx(roc_auc_score(grouped["label"] == 2, score), abs=1e-9)
    assert folded["out"].roc_png.stat().st_size > 10_000 and folded["out"].roc_pdf.is_file()


@pytest.mark.parametrize("damage", ["missing", "duplicate", "stray", "unknown"])
def test_gathering_fails_unless_every_jet_is_there_once(folded: dict, damage: str, tmp_path: Path) -> None:
    """A jet missing, predicted twice, in the file of another fold, or of no train+val split: InputError naming it."""
    frames = [pd.read_parquet(files.predictions_oof) for files in folded["files"]]
    expected = prepared_event_ids(folded["prepared"])
    if damage == "missing":
        frames[1] = frames[1].iloc[1:]
    elif damage == "duplicate":
        frames[2] = pd.concat([frames[2], frames[2].iloc[:1]])
    elif damage == "stray":
        frames[0], frames[1] = pd.concat([frames[0], frames[1].iloc[:1]]), frames[1].iloc[1:]
    else:
        expected = expected[expected != frames[0]["event_id"].iloc[0]]
    paths = []
    for fold, frame in enumerate(frames):
        paths.append(tmp_path / f"oof_{fold}.parquet")
        frame.to_parquet(paths[-1], index=False)
    message = {"missing": "miss 1", "duplicate": "more than once", "stray": "not of fold 0",
               "unknown": "of no train\\+val"}[damage]
    with pytest.raises(InputError, match=message):
        gather_out_of_fold(paths, expected)


def test_summary_section_reports_mean_std_per_class_and_out_of_fold_auc(folded: dict) -> None:
    """The k-fold section: one row per model with its folds, mean ± std of the AUCs (per class too) and the
    out-of-fold AUC with its error."""
    lines = folds_section({"k": folded["out"].metrics})
    assert lines[0] == "## k-fold cross-validation"
    table = pd.read_csv(folded["out"].metrics, dtype={"fold": str})
    rendered = lines[4].splitlines()
    row = dict(zip(cells(rendered[0]), cells(rendered[2])))
    assert row["Model"] == "k" and row["Folds"] == "3"
    assert row["AUC"] == mean_and_spread(table["auc_sb"][:3].to_numpy())
    assert row["AUC (g)"] == mean_and_spread(table["auc_g"][:3].to_numpy())
    assert row["AUC (t)"] == mean_and_spread(table["auc_t"][:3].to_numpy())
    assert row["Out-of-fold AUC"] == format_with_error(table["auc_sb"][5], table["auc_sb_err"][5])


def test_seeds_section_still_groups_the_seed_copies() -> None:
    """The seeds section, through the shared helper: mean ± std over name_s0, name_s1 per model; fold runs and
    single runs are not seed copies."""
    metrics = pd.DataFrame({"model": ["m_s0", "m_s1", "k_f0", "one"], "task": ["classification"] * 4,
                            "auc_sb": [0.8, 0.9, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.4, 0.3]})
    lines = seeds_section(metrics)
    assert len(lines) == 4 and lines[0].startswith("## Mean ± standard deviation")
    rendered = lines[2].splitlines()
    assert len(rendered) == 3  # header, rule, the one model
    assert dict(zip(cells(rendered[0]), cells(rendered[2]))) == {
        "Model": "m", "Trainings": "2", "AUC": mean_and_spread(np.array([0.8, 0.9])),
        "Accuracy": mean_and_spread(np.array([0.5, 0.7]))}


def cells(line: str) -> list[str]:
    """The stripped cells of a markdown table row."""
    return [cell.strip() for cell in line.strip().strip("|").split("|")]
