"""The explore stage's entry points: a trained model's last hidden layer or latent space, and the high-level features,
on prepared files of the synthetic dataset (classes driven by x2 and x5), and one space of known structure."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import make_blobs

from conftest import train
from rootml.training.device import DEVICE_VARIABLE
from rootml.unsupervised.run import ExploreFiles, Space, explore_highlevel, explore_model, explore_space
from rootml.unsupervised.settings import ExploreSettings
from test_ranking_run import CLASSES, ENTRIES, write_split

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SIZES = {"train": 1500, "val": 500, "test": 600}
SETTINGS = ExploreSettings.from_config({"embeddings": ["pca"], "k_values": [2, 3, 4, 5], "max_jets": 300,
                                        "num_threads": 1})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Prepared data and an MLP and an autoencoder trained on it (CPU, one thread)."""
    root = tmp_path_factory.mktemp("explore")
    for seed, (split, n) in enumerate(SIZES.items()):
        write_split(root / "prepared", split, n, seed)
    config = {"seed": 3, "classes": CLASSES, "training": {"num_threads": 1}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        for name in ("mlp", "ae"):
            train(name, ENTRIES[name], config, root / "prepared", root / "models" / name, progress=False)
    return root / "prepared", root / "models"


def scores(out: Path) -> pd.DataFrame:
    """clusters.csv of one explored space, indexed by method."""
    return pd.read_csv(out / "clusters.csv").set_index("method")


def test_known_structure_is_found_and_written(tmp_path: Path) -> None:
    """Three well-separated blobs in 6-D: three clusters chosen, every method recovers them, and the files hold it."""
    x, truth = make_blobs(400, n_features=6, centers=3, cluster_std=0.6, random_state=4)
    space = Space("blobs", "test points", x, truth, ["a", "b", "c"])
    summary = explore_space(space, ExploreFiles.in_directory(tmp_path), SETTINGS, seed=1)
    assert summary["n_clusters"] == 3 and summary["selection"]["best"] == {"elbow": 3, "silhouette": 3, "bic": 3}
    table = scores(tmp_path)
    assert list(table.index) == SETTINGS.clustering
    assert (table["adjusted_rand_index"] > 0.95).all(), table
    assert json.loads((tmp_path / "explore.json").read_text())["clustering"]["kmeans"]["purity"] > 0.98
    for stem in ("embeddings", "n_clusters", *(f"contingency_{m}" for m in SETTINGS.clustering)):
        assert (tmp_path / "plots" / f"{stem}.png").stat().st_size > 1000, stem


def test_a_classifiers_hidden_layer_separates_the_classes_better_than_its_inputs(
        trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The MLP's last hidden layer (16 wide) clusters by class; the 8 raw features, 6 of them noise, do not."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    settings = ExploreSettings.from_config({**SETTINGS.as_dict(), "n_clusters": 3})
    hidden = explore_model(models / "mlp" / "model_config.json", models / "mlp" / "model.pt",
                           {"highlevel": data_dir / "test" / "highlevel.h5"}, ExploreFiles.in_directory(
                               tmp_path / "mlp"), settings, seed=2)
    inputs = explore_highlevel(data_dir / "test" / "highlevel.h5", ExploreFiles.in_directory(tmp_path / "inputs"),
                               settings, seed=2)
    assert hidden["representation"] == "last hidden layer" and hidden["dimensions"] == 16
    assert inputs["representation"] == "high-level features" and inputs["dimensions"] == 8
    assert hidden["n_jets"] == inputs["n_jets"] == 300
    contingency = pd.DataFrame(hidden["clustering"]["kmeans"]["contingency"]).T
    assert contingency.to_numpy().sum() == 300 and (contingency.sum(axis=0) > 0).all()  # every class sampled
    assert scores(tmp_path / "mlp").loc["kmeans", "adjusted_rand_index"] > \
        scores(tmp_path / "inputs").loc["kmeans", "adjusted_rand_index"] + 0.2


def test_autoencoder_gives_its_latent_space(trained: tuple[Path, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, models = trained
    summary = explore_model(models / "ae" / "model_config.json", models / "ae" / "model.pt",
                            {"highlevel": data_dir / "test" / "highlevel.h5"}, ExploreFiles.in_directory(tmp_path),
                            SETTINGS, seed=2)
    assert summary["representation"] == "latent" and summary["dimensions"] == ENTRIES["ae"]["hparams"]["latent_dim"]
