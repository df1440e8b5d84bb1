"""rank_model end to end: models trained by train_model on prepared files of the synthetic dataset (label driven by
x2 and x5 strongly, x0 weakly), ranked with every method that applies to them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import rank, train
from rootml.errors import ConfigError
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.device import DEVICE_VARIABLE
from test_ranking_methods import NAMES, STRONG, WEAK, informative_jets, one_torch_thread  # noqa: F401

CLASSES = ["g", "q", "t"]
CHANNELS = ["part_a", "part_b", "part_c"]
SV_CHANNELS = ["sv_a", "sv_b"]
N_SLOTS, N_SV_SLOTS = 8, 3
SIZES = {"train": 2400, "val": 800, "test": 800}
OBSERVERS = ("jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy")
FAST = {"n_repeats": 2, "n_shap": 150, "n_background": 100, "shap_samples": 40, "n_waterfall": 2,
        "selection_max_jets": 1500, "num_threads": 1}
ENTRIES = {
    "bdt": {"family": "bdt", "hparams": {"n_estimators": 60, "max_depth": 3, "learning_rate": 0.3}},
    "mlp": {"family": "mlp", "hparams": {"hidden": [16], "dropout": 0.0},
            "training": {"epochs": 4, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0}},
    "ds": {"family": "deepsets", "sets": ["part"], "hparams": {"phi_sizes": [16], "f_sizes": [16]},
           "training": {"epochs": 2, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0}},
    "ds2": {"family": "deepsets", "hparams": {"phi_sizes": [16], "f_sizes": [16]},
            "training": {"epochs": 2, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0}},
    "ae": {"family": "autoencoder", "task": "anomaly", "background": ["g", "q"],
           "hparams": {"hidden": [8], "latent_dim": 3}, "training": {"epochs": 2, "batch_size": 64}},
}


def set_arrays(rng: np.random.Generator, label: np.ndarray, channels: list[str], slots: int) -> dict[str, np.ndarray]:
    """features (the second channel carries the class), mask, points and vectors of one set."""
    n = len(label)
    mask = np.arange(slots)[None, :] < rng.integers(2, slots + 1, n)[:, None]
    features = rng.normal(size=(n, len(channels), slots)).astype(np.float32)
    features[:, 1] += 1.5 * (label[:, None] - 1)
    return {"features": features * mask[:, None, :], "mask": mask,
            "points": (rng.normal(0, 0.3, (n, 2, slots)) * mask[:, None, :]).astype(np.float32),
            "vectors": (rng.uniform(1, 50, (n, 4, slots)) * mask[:, None, :]).astype(np.float32)}


def write_split(data_dir: Path, split: str, n: int, seed: int) -> None:
    """highlevel.h5 (x0..x7), part.h5 (channel part_b carries the class) and sv.h5 (sv_b carries it) as the prepare
    stage lays them out."""
    rng = np.random.default_rng(100 + seed)
    highlevel, label = informative_jets(n, seed, n_classes=3)
    common = {"label": label, "weight": rng.uniform(0.5, 1.5, n).astype(np.float32),
              "event_id": np.arange(n, dtype=np.int64) + 100_000 * seed,
              **{f"obs_{name}": rng.uniform(10, 600, n).astype(np.float32) for name in OBSERVERS}}
    files = {"highlevel": ({"highlevel": highlevel, "highlevel_raw": 10 * highlevel}, NAMES),
             "part": (set_arrays(rng, label, CHANNELS, N_SLOTS), CHANNELS),
             "sv": (set_arrays(rng, label, SV_CHANNELS, N_SV_SLOTS), SV_CHANNELS)}
    (data_dir / split).mkdir(parents=True, exist_ok=True)
    for representation, (datasets, names) in files.items():
        with open_for_writing(data_dir / split / f"{representation}.h5") as h5:
            H5Appender(h5, rows_per_chunk=256).append({**common, **datasets})
            h5.attrs.update({"classes": json.dumps(CLASSES), "split": split, "feature_names": json.dumps(names)})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Prepared data and the models of ENTRIES trained on it (CPU, one thread)."""
    root = tmp_path_factory.mktemp("rank")
    for seed, (split, n) in enumerate(SIZES.items()):
        write_split(root / "prepared", split, n, seed)
    config = {"seed": 9, "classes": CLASSES, "training": {"num_threads": 1},
              "features": {"sets": {name: {"features": channels, "max_length": slots,
                                           "coordinates": [f"{name}_deta", f"{name}_dphi"]}
                                    for name, channels, slots in (("part", CHANNELS, N_SLOTS),
                                                                  ("sv", SV_CHANNELS, N_SV_SLOTS))}}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        for name, entry in ENTRIES.items():
            train(name, entry, config, root / "prepared", root / "models" / name, progress=False)
    return root / "prepared", root / "models"


def files_in(directory: Path) -> set[str]:
    """Names of the files under `directory`, relative to it."""
    return {str(path.relative_to(directory)) for path in directory.rglob("*") if path.is_file()}


@pytest.mark.parametrize("name", ["bdt", "mlp"])
def test_highlevel_models_every_method(name: str, trained: tuple[Path, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    out = tmp_path / name
    rank(models / name, data_dir, out, FAST)
    tables = {"permutation_importance.csv", "shap_importance.csv", "comparison.csv", "selection.csv", "ranking.json"}
    plots = {"permutation_importance", "shap_bar", "comparison", "selection", "shap_waterfall_jet0",
             "shap_waterfall_jet1", *(f"shap_beeswarm_{c}" for c in CLASSES)}
    if name == "bdt":
        tables.add("xgb_importance.csv")
        plots.add("xgb_importance")
    assert files_in(out) == tables | {f"plots/{stem}.{suffix}" for stem in plots for suffix in ("pdf", "png")}
    assert all((out / path).stat().st_size > 0 for path in files_in(out))

    comparison = pd.read_csv(out / "comparison.csv", index_col="feature")
    assert set(comparison.index[:2]) == STRONG and comparison.index[2] == WEAK
    expected_methods = ["permutation_loss", "permutation_auc", "shap"]
    if name == "bdt":
        expected_methods = [f"xgb_{kind}" for kind in ("weight", "cover", "gain", "total_gain", "total_cover")] + \
            expected_methods
    assert [c.removeprefix("rank_") for c in comparison.columns if c.startswith("rank_")] == expected_methods
    for method in ("permutation_loss", "permutation_auc", "shap", *(["xgb_gain"] if name == "bdt" else [])):
        top3 = comparison[f"rank_{method}"].nsmallest(3).index
        assert set(top3[:2]) == STRONG and top3[2] == WEAK, (method, list(top3))

    shap_table = pd.read_csv(out / "shap_importance.csv", index_col="feature")
    assert list(shap_table.columns) == ["mean_abs_shap", *(f"mean_abs_shap_{c}" for c in CLASSES)]
    # class q is driven by x2, class t by x5
    assert shap_table["mean_abs_shap_q"].idxmax() == "x2" and shap_table["mean_abs_shap_t"].idxmax() == "x5"

    curve = pd.read_csv(out / "selection.csv")
    assert curve["k"].tolist() == list(range(1, 9)) and (curve["metric_name"] == "auc").all()
    assert set(curve["added"][:2]) == STRONG and curve["added"][2] == WEAK
    auc = curve.set_index("k")["metric"]
    assert auc[3] - auc[1] > 0.1 and auc[2] - auc[1] > 0.05
    assert auc[3:].max() - auc[3] < 0.015  # saturated once the informative features are in

    summary = json.loads((out / "ranking.json").read_text())
    assert summary["methods"] == (["xgb"] if name == "bdt" else []) + ["permutation", "shap", "selection"]
    assert summary["skipped"] == ({} if name == "bdt" else {"xgb": "XGBoost importances exist for family bdt only"})
    assert summary["n_jets"] == SIZES["test"] and summary["features"] == NAMES
    assert summary["baseline"]["auc"] > 0.85
    assert set(summary["mean_rank_order"][:2]) == STRONG
    assert not list(out.glob(".selection-*"))


def test_particle_model_ranks_channels(trained: tuple[Path, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    rank(models / "ds", data_dir, tmp_path, FAST)
    assert files_in(tmp_path) == {"permutation_importance.csv", "comparison.csv", "ranking.json",
                                  *(f"plots/{stem}.{s}" for stem in ("permutation_importance", "comparison")
                                    for s in ("pdf", "png"))}
    table = pd.read_csv(tmp_path / "permutation_importance.csv", index_col="feature")
    assert list(table.index) == CHANNELS
    assert table["auc_drop_mean"].idxmax() == "part_b" and table.loc["part_b", "auc_drop_mean"] > 0.1
    summary = json.loads((tmp_path / "ranking.json").read_text())
    assert summary["feature_keys"] == ["features"] and summary["methods"] == ["permutation"]
    assert set(summary["skipped"]) == {"xgb", "shap", "selection"}


def test_two_set_model_ranks_the_channels_of_each_set(trained: tuple[Path, Path], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A model on the sets part and sv: the channels of both are permuted, each within its own set; the informative
    channel of each set ranks first within it."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    rank(models / "ds2", data_dir, tmp_path, FAST)
    table = pd.read_csv(tmp_path / "permutation_importance.csv", index_col="feature")
    assert list(table.index) == CHANNELS + SV_CHANNELS
    assert table.loc[CHANNELS, "auc_drop_mean"].idxmax() == "part_b" and table.loc["part_b", "auc_drop_mean"] > 0.02
    assert table.loc["sv_b", "auc_drop_mean"] > table.loc["sv_a", "auc_drop_mean"]
    summary = json.loads((tmp_path / "ranking.json").read_text())
    assert summary["feature_keys"] == ["part/features", "sv/features"]
    assert summary["features"] == CHANNELS + SV_CHANNELS and set(summary["skipped"]) == {"xgb", "shap", "selection"}


def test_anomaly_model(trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    rank(models / "ae", data_dir, tmp_path, FAST)
    permutation = pd.read_csv(tmp_path / "permutation_importance.csv", index_col="feature")
    assert list(permutation.columns) == ["auc_drop_mean", "auc_drop_std", "auc_ratio_mean", "auc_ratio_std"]
    shap_table = pd.read_csv(tmp_path / "shap_importance.csv", index_col="feature")
    assert list(shap_table.columns) == ["mean_abs_shap", "mean_abs_shap_anomaly_score"]
    assert (tmp_path / "plots" / "shap_beeswarm_anomaly_score.png").stat().st_size > 0
    summary = json.loads((tmp_path / "ranking.json").read_text())
    assert summary["task"] == "anomaly" and "selection" in summary["skipped"]


def test_bad_settings(trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    with pytest.raises(ConfigError, match="ranking.n_shuffles"):
        rank(models / "bdt", data_dir, tmp_path, {"n_shuffles": 3})
    with pytest.raises(ConfigError, match="ranking.methods.*'lime'"):
        rank(models / "bdt", data_dir, tmp_path, {"methods": ["lime"]})
    with pytest.raises(ConfigError, match="ranking.selection_by.*'gain'.*xgb_gain"):
        rank(models / "bdt", data_dir, tmp_path, {"selection_by": "gain"})
    with pytest.raises(ConfigError, match="ranking.selection_by.*'shap'.*the methods run.*xgb_gain"):
        rank(models / "bdt", data_dir, tmp_path,
                   {**FAST, "methods": ["xgb", "selection"], "selection_by": "shap"})
    with pytest.raises(ConfigError, match="'ranking.methods': no ranking method"):
        rank(models / "ds", data_dir, tmp_path, {**FAST, "methods": ["shap"]})
    assert not (tmp_path / "ranking.json").exists()
