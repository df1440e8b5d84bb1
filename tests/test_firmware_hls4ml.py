"""hls4ml firmware emulation of a small trained MLP: the g++-compiled HLS C++ against the float torch model, at a high
precision (agrees) and a low one (differs), the profiled integer bits of an unnormalised input, the supported models.

Each test compiles at most one hls4ml project (a few seconds of g++ for this network)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import load, model_files, prepared_in, train
from rootml.config import model_runs
from rootml.errors import ConfigError
from rootml.firmware.fixed_point import FixedPoint, integer_bits_for
from rootml.firmware.hls4ml_emulation import emulate_torch, float_module, hls_config, layer_ranges
from rootml.firmware.run import FirmwareFiles, emulate_model
from rootml.firmware.settings import FirmwareSettings, firmware_runs
from rootml.preprocess.store import H5Appender, open_for_writing
from rootml.settings import SCHEMA_PATH
from rootml.training.device import DEVICE_VARIABLE

CLASSES = ["g", "q", "t"]
NAMES = ["x0", "x1", "x2", "x3", "count"]
SIZES = {"train": 600, "val": 200, "test": 300}
OBSERVERS = ("jet_pt", "jet_eta", "jet_mass", "jet_sdmass", "jet_energy")
CONFIG = {"seed": 3, "classes": CLASSES, "training": {"num_threads": 1}}
MLP = {"family": "mlp", "hparams": {"hidden": [8], "dropout": 0.0},
       "training": {"epochs": 3, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0}}
HIGH, LOW = "ap_fixed<32,16>", "ap_fixed<6,3>"
# Stated tolerances at ap_fixed<32,16> (16 fractional bits: weights truncated by < 2^-16, the count input is < 128)
HIGH_MAX_ABS_DIFF = 5e-3  # largest |emulated - float logit|
HIGH_METRIC_DIFF = 1e-3  # |emulated - float AUC|


def highlevel_jets(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(features (n, 5), label): x0..x3 shifted by the class, `count` an unnormalised particle count (up to ~100)."""
    rng = np.random.default_rng(seed)
    label = np.arange(n) % len(CLASSES)
    features = rng.normal(size=(n, 4)) + 0.7 * (label[:, None] - 1) * np.array([1.0, 0.6, 0.3, 0.0])
    count = rng.poisson(25 + 20 * label)
    return np.column_stack([features, count]).astype(np.float32), label.astype(np.int64)


def write_prepared(data_dir: Path) -> None:
    """highlevel.h5 of each split, as the prepare stage lays it out."""
    for seed, (split, n) in enumerate(SIZES.items()):
        highlevel, label = highlevel_jets(n, 40 + seed)
        rng = np.random.default_rng(seed)
        (data_dir / split).mkdir(parents=True, exist_ok=True)
        with open_for_writing(data_dir / split / "highlevel.h5") as h5:
            H5Appender(h5, rows_per_chunk=128).append({
                "label": label, "weight": np.ones(n, np.float32),
                "event_id": np.arange(n, dtype=np.int64) + 10**5 * seed,
                "highlevel": highlevel, "highlevel_raw": highlevel,
                **{f"obs_{name}": rng.uniform(10, 600, n).astype(np.float32) for name in OBSERVERS}})
            h5.attrs.update({"classes": json.dumps(CLASSES), "split": split, "feature_names": json.dumps(NAMES)})


@pytest.fixture(scope="module")
def trained_mlp(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Prepared data and a small MLP (5 -> 8 -> 3) trained on it for 3 epochs (CPU)."""
    root = tmp_path_factory.mktemp("firmware_hls4ml")
    write_prepared(root / "prepared")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        train("mlp", MLP, CONFIG, root / "prepared", root / "models" / "mlp", progress=False)
    return root / "prepared", root / "models" / "mlp"


def test_settings_are_the_schema_block() -> None:
    """FirmwareSettings has the keys of the schema's firmware block, in order, and takes its defaults from there."""
    properties = yaml.safe_load(SCHEMA_PATH.read_text())["properties"]["firmware"]["properties"]
    assert FirmwareSettings.field_names() == list(properties)
    assert dataclasses.asdict(FirmwareSettings.from_config({})) == {key: spec["default"]
                                                                    for key, spec in properties.items()}
    assert all(field.default is dataclasses.MISSING for field in dataclasses.fields(FirmwareSettings))
    assert FirmwareSettings.from_config({}).precisions[8] == "ap_fixed<16,6>"
    with pytest.raises(ConfigError, match="firmware.precisions"):
        FirmwareSettings.from_config({"precisions": ["ap_fixed<16>"]})


def test_fixed_point_types() -> None:
    """Parsing ap_fixed<W,I>, the integer bits of a range, and widening that keeps the fractional bits."""
    assert FixedPoint.parse("ap_fixed<16,6>") == FixedPoint(16, 6)
    assert str(FixedPoint.parse("ap_fixed<16,6>", "AP_RND", "AP_SAT")) == "ap_fixed<16,6,AP_RND,AP_SAT>"
    with pytest.raises(ConfigError, match="firmware.precisions"):
        FixedPoint.parse("ap_fixed<6,8>")
    # signed range [-2^(I-1), 2^(I-1)): 31.9 fits I=6, 32 needs 7, a particle count of 170 needs 9
    assert [integer_bits_for(v) for v in (0.3, 1.0, 31.9, 32.0, 170.0)] == [0, 2, 6, 7, 9]
    assert FixedPoint(16, 6).widened(170.0, headroom=1) == FixedPoint(20, 10)
    assert FixedPoint(16, 6).widened(3.0, headroom=1) == FixedPoint(16, 6)  # never fewer than the scan's bits


def test_profiled_types_widen_only_what_the_data_needs(trained_mlp: tuple[Path, Path]) -> None:
    """The unnormalised count widens the input type and the layers it drives; weights keep the scan's type; with
    integer_bits fixed every type is the scan's."""
    data_dir, model_dir = trained_mlp
    model = float_module(load(model_dir).model)
    with h5py.File(data_dir / "train" / "highlevel.h5") as h5:
        inputs = h5["highlevel"][:]
    ranges = layer_ranges(model, inputs)
    with torch.no_grad():
        hidden = model.net[0](torch.from_numpy(inputs)).abs().max().item()
    assert ranges["highlevel"] == pytest.approx(inputs.max())
    assert ranges["net_0"] == pytest.approx(hidden, rel=1e-5)

    precision = FixedPoint(16, 6)
    config = hls_config(model, (len(NAMES),), precision, ranges, FirmwareSettings.from_config({}))
    layers = config["LayerName"]
    count_bits = integer_bits_for(float(inputs.max())) + 1  # + headroom_bits
    assert count_bits >= 8
    assert layers["highlevel"]["Precision"]["result"] == f"ap_fixed<{10 + count_bits},{count_bits}>"
    assert layers["net_0"]["Precision"]["weight"] == layers["net_0"]["Precision"]["bias"] == "ap_fixed<16,6>"
    fixed = hls_config(model, (len(NAMES),), precision, ranges, FirmwareSettings.from_config({"integer_bits": "fixed"}))
    assert {value for layer in fixed["LayerName"].values() for kind, value in layer["Precision"].items()
            if "table" not in kind} == {"ap_fixed<16,6>"}  # lookup tables keep hls4ml's types


def test_emulation_agrees_with_torch_at_high_precision(trained_mlp: tuple[Path, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """emulate_model at ap_fixed<32,16>: the compiled firmware's logits and AUC match the float model's; the table,
    summary and figures are written."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained_mlp
    files = model_files(model_dir)
    out = FirmwareFiles.in_directory(tmp_path / "firmware")
    emulate_model(files.config, files.weights, prepared_in(data_dir), out,
                  FirmwareSettings.from_config({"precisions": [HIGH], "max_jets": None, "num_threads": 1}))

    table = pd.read_csv(out.table)
    assert list(table["precision"]) == [HIGH]
    row = table.iloc[0]
    trained_auc = json.loads((model_dir / "metrics.json").read_text())["auc"]
    assert row["float_metric"] == pytest.approx(trained_auc)
    assert row["max_abs_diff"] <= HIGH_MAX_ABS_DIFF
    assert abs(row["metric"] - row["float_metric"]) <= HIGH_METRIC_DIFF
    assert row[[f"auc_{c}" for c in CLASSES]].notna().all() and row["compile_s"] > 0
    summary = json.loads(out.summary.read_text())
    assert summary["tool"] == "hls4ml 1.3.0" and summary["n_jets"] == SIZES["test"]
    assert summary["narrowest_within_tolerance"] == HIGH
    assert summary["steps"][0]["types"]["net_0"]["weight"] == HIGH
    assert sorted(path.name for path in out.plots.iterdir()) == [
        "auc_per_class.pdf", "auc_per_class.png", "auc_vs_precision.pdf", "auc_vs_precision.png"]


def test_emulation_differs_at_low_precision(trained_mlp: tuple[Path, Path], tmp_path: Path) -> None:
    """At ap_fixed<6,3> (3 fractional bits) the firmware's logits are measurably off the float model's."""
    data_dir, model_dir = trained_mlp
    model = float_module(load(model_dir).model)
    with h5py.File(data_dir / "test" / "highlevel.h5") as h5:
        inputs = h5["highlevel"][:]
    options = FirmwareSettings.from_config({})
    forward, types, _ = emulate_torch(model, "highlevel", (len(NAMES),), FixedPoint.parse(LOW),
                                      layer_ranges(model, inputs), options, tmp_path)
    emulated = forward({"highlevel": inputs})
    with torch.no_grad():
        expected = model(torch.from_numpy(inputs)).numpy()
    assert emulated.shape == expected.shape == (SIZES["test"], len(CLASSES))
    assert types["net_0"]["weight"] == LOW
    difference = np.abs(emulated - expected)
    assert difference.max() > 0.1 and difference.mean() > 0.01
    # the quantized weights are multiples of 1/8: the logits too, up to the bias grid
    assert len(np.unique(emulated)) < len(np.unique(expected)) / 4


def test_firmware_runs_name_supported_models() -> None:
    """firmware.models: the first seed copy of an MLP or BDT; a set model, an anomaly detector or an unknown entry
    is a ConfigError naming firmware.models."""
    config = {"seed": 1, "classes": CLASSES, "features": {
        "highlevel": NAMES, "sets": {"part": {"features": ["a"], "max_length": 4}}}, "models": {
        "mlp": {**MLP, "seeds": 2}, "bdt": {"family": "bdt"}, "ds": {"family": "deepsets"},
        "ae": {"family": "autoencoder", "task": "anomaly", "background": ["g"]}}}
    runs = model_runs(config)
    assert firmware_runs(["mlp", "bdt"], runs) == ["mlp_s0", "bdt"]
    for name, match in (("ds", "reads"), ("ae", "anomaly"), ("mpl", "did you mean 'mlp'")):
        with pytest.raises(ConfigError, match=match) as error:
            firmware_runs([name], runs)
        assert error.value.key == "firmware.models"
