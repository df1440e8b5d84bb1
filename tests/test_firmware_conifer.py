"""conifer firmware emulation of small XGBoost models: the intercept conifer 1.11 misreads from XGBoost 3, the
g++-compiled C++ emulation (cpp backend) of a multi-class BDT against XGBoost at a high precision (agrees), and of a
binary one at a low precision (differs).

Each test compiles at most one conifer project; the compile of conifer's C++ (nlohmann/json, pybind11, -O3) takes
about 15 s of one core whatever the ensemble's size."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from conifer.converters import get_converter
from conifer.model import make_model
from scipy.special import logit, softmax

from conftest import load, model_files, prepared_in, train
from rootml.firmware.conifer_emulation import emulate_booster, ensemble_of, intercept, margins, to_outputs, value_ranges
from rootml.firmware.fixed_point import FixedPoint
from rootml.firmware.run import FirmwareFiles, emulate_model
from rootml.firmware.settings import FirmwareSettings
from rootml.training.device import DEVICE_VARIABLE
from rootml.training.objectives import Classification
from test_firmware_hls4ml import CLASSES, CONFIG, SIZES, highlevel_jets, write_prepared

BDT = {"family": "bdt", "hparams": {"n_estimators": 8, "max_depth": 3, "learning_rate": 0.5}}
HIGH, LOW = "ap_fixed<32,16>", "ap_fixed<6,3>"
# Stated tolerances at ap_fixed<32,16>: scores exact to 2^-16 per tree; a jet within 2^-16 of a threshold may take
# the other branch (none does here)
HIGH_MAX_ABS_DIFF = 1e-3  # largest |emulated - XGBoost margin|
HIGH_METRIC_DIFF = 1e-3  # |emulated - float AUC|


@pytest.fixture(scope="module")
def trained_bdt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Prepared data and a 3-class BDT (8 rounds of depth-3 trees per class) trained on it by the train stage."""
    root = tmp_path_factory.mktemp("firmware_conifer")
    write_prepared(root / "prepared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        train("bdt", BDT, CONFIG, root / "prepared", root / "models" / "bdt", progress=False)
    return root / "prepared", root / "models" / "bdt"


def binary_booster(base_score: float = 0.3) -> tuple[xgb.Booster, np.ndarray]:
    """A binary:logistic booster (class t against the others, a set base_score) and the test jets."""
    inputs, label = highlevel_jets(SIZES["train"], 7)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 3, "eta": 0.5, "base_score": base_score,
                         "nthread": 1}, xgb.DMatrix(inputs, label=label == 2), num_boost_round=6)
    return booster, highlevel_jets(SIZES["test"], 8)[0]


def unbalanced_booster() -> xgb.Booster:
    """A multi:softprob booster on classes of 60, 30 and 10 % (XGBoost 3 fits a non-zero intercept per class)."""
    inputs, _ = highlevel_jets(SIZES["train"], 9)
    label = np.digitize(np.linspace(0, 1, len(inputs), endpoint=False), [0.6, 0.9])
    return xgb.train({"objective": "multi:softprob", "num_class": 3, "max_depth": 2, "nthread": 1},
                     xgb.DMatrix(inputs, label=label), num_boost_round=2)


def test_intercept_is_measured_in_margin_space(trained_bdt: tuple[Path, Path]) -> None:
    """conifer's float model of the ensemble (its python backend) with the measured intercept reproduces XGBoost's
    margins for 3-class and binary boosters; conifer's own multi-class intercept is wrong (the logit of XGBoost 3's
    margin-space base_score: NaN for a negative one)."""
    data_dir, model_dir = trained_bdt
    with h5py.File(data_dir / "test" / "highlevel.h5") as h5:
        inputs = h5["highlevel"][:]
    unbalanced = unbalanced_booster()
    measured = intercept(unbalanced)
    assert measured[0] > 0 > measured[2]  # the frequent class starts ahead
    assert np.isnan(get_converter("xgboost").convert(unbalanced)["init_predict"][2])
    np.testing.assert_allclose(make_model(ensemble_of(unbalanced)).decision_function(inputs),
                               margins(unbalanced, inputs), atol=1e-5)

    booster = load(model_dir).model  # trained by the train stage
    ensemble = ensemble_of(booster)
    assert ensemble["n_classes"] == len(CLASSES) and len(ensemble["init_predict"]) == len(CLASSES)
    np.testing.assert_allclose(make_model(ensemble).decision_function(inputs), margins(booster, inputs), atol=1e-5)

    binary, test_inputs = binary_booster(0.3)
    assert intercept(binary) == [pytest.approx(logit(0.3), abs=1e-5)]
    raw = make_model(ensemble_of(binary)).decision_function(test_inputs)
    np.testing.assert_allclose(raw.reshape(-1, 1), margins(binary, test_inputs), atol=1e-5)
    # one binary margin -> two logits whose softmax is XGBoost's probability
    outputs = to_outputs(margins(binary, test_inputs), Classification(["other", "t"]))
    np.testing.assert_allclose(softmax(outputs.astype(np.float64), axis=1)[:, 1],
                               binary.predict(xgb.DMatrix(test_inputs)), atol=1e-6)


def test_emulation_agrees_with_xgboost_at_high_precision(trained_bdt: tuple[Path, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """emulate_model at ap_fixed<32,16>: the compiled multi-class BDT's scores and AUC match XGBoost's; the unnormalised
    count gets the integer bits it needs; the table, summary and figures are written."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained_bdt
    files = model_files(model_dir)
    out = FirmwareFiles.in_directory(tmp_path / "firmware")
    emulate_model(files.config, files.weights, prepared_in(data_dir), out,
                  FirmwareSettings.from_config({"precisions": [HIGH], "max_jets": None, "num_threads": 1}))

    row = pd.read_csv(out.table).iloc[0]
    assert row["precision"] == HIGH
    assert row["float_metric"] == pytest.approx(json.loads((model_dir / "metrics.json").read_text())["auc"])
    assert row["max_abs_diff"] <= HIGH_MAX_ABS_DIFF
    assert abs(row["metric"] - row["float_metric"]) <= HIGH_METRIC_DIFF
    summary = json.loads(out.summary.read_text())
    assert summary["tool"] == "conifer 1.11" and summary["n_jets"] == SIZES["test"]
    assert summary["steps"][0]["types"] == {"InputPrecision": HIGH, "ThresholdPrecision": HIGH,
                                            "ScorePrecision": HIGH}  # the count (< 128) fits 16 integer bits
    assert sorted(path.name for path in out.plots.iterdir()) == [
        "auc_per_class.pdf", "auc_per_class.png", "auc_vs_precision.pdf", "auc_vs_precision.png"]


def test_emulation_differs_at_low_precision(tmp_path: Path) -> None:
    """A binary BDT at ap_fixed<6,3> (thresholds and scores on a 1/8 grid; the count's input type widened, keeping
    those 3 fractional bits) gives scores measurably off XGBoost's."""
    booster, inputs = binary_booster()
    ensemble = ensemble_of(booster)
    ranges = value_ranges(ensemble, booster, inputs)
    objective = Classification(["other", "t"])
    forward, types, _ = emulate_booster(ensemble, objective, FixedPoint.parse(LOW), ranges,
                                        FirmwareSettings.from_config({}), tmp_path)
    assert 64 <= ranges["input"] < 128  # the count: 8 integer bits with the sign, + 1 of headroom
    assert types["InputPrecision"] == types["ThresholdPrecision"] == "ap_fixed<12,9>"
    emulated = forward({"highlevel": inputs})
    expected = to_outputs(margins(booster, inputs), objective)
    assert emulated.shape == expected.shape == (SIZES["test"], 2)
    assert np.all(emulated[:, 0] == 0)
    difference = np.abs(emulated[:, 1] - expected[:, 1])
    assert difference.max() > 0.1 and difference.mean() > 0.02
    np.testing.assert_array_equal(emulated[:, 1] * 8, np.round(emulated[:, 1] * 8))  # sums of 1/8 steps
