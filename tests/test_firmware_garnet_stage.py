"""The firmware stage on a GarNet: a simplified GarNet trained on toy jets of 5 to 48 particles, emulated through
hls4ml's GarNetStack by emulate_model, keeps the float model's AUC; firmware.models accepts only convertible
GarNets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import model_files, prepared_in, train
from rootml.config import model_runs
from rootml.errors import ConfigError
from rootml.firmware.run import FirmwareFiles, emulate_model
from rootml.firmware.settings import FirmwareSettings, firmware_runs
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.training.device import DEVICE_VARIABLE

CLASSES = ["b", "s"]
N_SLOTS, SET_FEATURES = 48, ["part_a", "part_b", "part_c"]
SIZES = {"train": 800, "val": 200, "test": 400}
CONFIG = {"seed": 2, "classes": CLASSES, "training": {"num_threads": 1},
          "features": {"sets": {"part": {"features": SET_FEATURES, "max_length": N_SLOTS}}}}
GARNET = {"family": "garnet", "hparams": {"n_aggregators": [2, 2], "n_propagate": [4, 4], "n_filters": [8, 8],
                                          "fc_params": [8]},
          "training": {"epochs": 4, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0}}
PRECISIONS = ["ap_fixed<10,4>", "ap_fixed<24,12>"]


def write_prepared(root: Path) -> None:
    """part.h5 of each split: jets of 5 to 48 particles, padded at the end; the signal's particles are shifted."""
    for index, (split, n) in enumerate(SIZES.items()):
        rng = np.random.default_rng(10 + index)
        label = np.arange(n) % 2
        mask = np.arange(N_SLOTS)[None, :] < rng.integers(5, N_SLOTS + 1, n)[:, None]
        features = rng.normal(size=(n, len(SET_FEATURES), N_SLOTS)) + 0.15 * label[:, None, None]
        (root / split).mkdir(parents=True, exist_ok=True)
        with open_for_writing(root / split / "part.h5") as h5:
            H5Appender(h5, 128).append({
                "label": label, "weight": np.ones(n, np.float32), "event_id": np.arange(n, dtype=np.int64),
                "features": (features * mask[:, None, :]).astype(np.float32),
                "points": np.zeros((n, 2, N_SLOTS), np.float32), "mask": mask})
            h5.attrs.update({"classes": json.dumps(CLASSES), "split": split, "feature_names": json.dumps(SET_FEATURES),
                             "normalization": "{}", "n_particles": N_SLOTS, "set": json.dumps("part"),
                             "coordinates": json.dumps(["part_deta", "part_dphi"])})


@pytest.fixture(scope="module")
def trained_garnet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Prepared toy sets and a small simplified GarNet trained on them for 4 epochs (CPU)."""
    root = tmp_path_factory.mktemp("firmware_garnet")
    write_prepared(root / "prepared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        train("garnet", GARNET, CONFIG, root / "prepared", root / "models" / "garnet", progress=False)
    return root / "prepared", root / "models" / "garnet"


def test_emulated_garnet_keeps_the_auc(trained_garnet: tuple[Path, Path], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """emulate_model on 400 test jets of varying multiplicity: at ap_fixed<24,12> the firmware's AUC is within 0.002
    of the float model's (measured 0.0001) and its logits within 0.005 on average (measured 0.0004); at ap_fixed<10,4>
    they drift further (measured 0.013, AUC -0.012)."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained_garnet
    files = model_files(model_dir)
    out = FirmwareFiles.in_directory(tmp_path / "firmware")
    emulate_model(files.config, files.weights, prepared_in(data_dir), out,
                  FirmwareSettings.from_config({"precisions": PRECISIONS, "max_jets": None, "num_threads": 1}))
    table = pd.read_csv(out.table).set_index("precision")
    float_auc = json.loads((model_dir / "metrics.json").read_text())["auc"]
    assert table["float_metric"].iloc[0] == pytest.approx(float_auc) and float_auc > 0.7
    high = table.loc["ap_fixed<24,12>"]
    assert abs(high["metric_diff"]) < 0.002 and high["mean_abs_diff"] < 0.005
    assert table.loc["ap_fixed<10,4>", "mean_abs_diff"] > 2 * high["mean_abs_diff"]
    summary = json.loads(out.summary.read_text())
    assert summary["n_jets"] == SIZES["test"] and summary["family"] == "garnet"
    types = summary["steps"][1]["types"]
    assert types["garnet"]["result"].startswith("ap_fixed<") and types["dense0"]["accum"].startswith("ap_fixed<")


def test_firmware_runs_take_only_simplified_garnets() -> None:
    """firmware.models may name a simplified GarNet; the full variant is a ConfigError naming firmware.models."""
    config = {**CONFIG, "models": {"garnet": GARNET, "full": {"family": "garnet", "hparams": {"simplified": False}}}}
    runs = model_runs(config)
    assert firmware_runs(["garnet"], runs) == ["garnet"]
    with pytest.raises(ConfigError, match="simplified: true") as error:
        firmware_runs(["full"], runs)
    assert error.value.key == "firmware.models"
