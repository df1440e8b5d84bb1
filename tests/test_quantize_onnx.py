"""onnxruntime's static int8 model of a trained toy MLP: it agrees with the float ONNX model, keeping the layers that
read the inputs in float matters for an unnormalised input, and quantize_model writes every output."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import h5py
import numpy as np
import onnx
import pandas as pd
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from conftest import load, model_files, prepared_in, split_reader, train
from rootml.errors import ConfigError
from rootml.pruning.latency import take_rows
from rootml.pruning.onnx_export import check_onnx, export_onnx, onnx_session
from rootml.quantize.onnx_int8 import (
    JetCalibration,
    ObjectiveOutput,
    input_layers,
    onnx_forward,
    output_difference,
    quantize_int8,
    variable_adds,
)
from rootml.quantize.run import QuantizeFiles, quantize_model
from rootml.quantize.settings import QuantizationSettings
from rootml.training.device import DEVICE_VARIABLE

CLASSES = ["q", "W", "t"]
N_HIGHLEVEL = 6
CONFIG = {"seed": 3, "classes": CLASSES, "training": {"epochs": 6, "batch_size": 64, "lr": 0.01, "warmup_epochs": 0,
                                                             "num_threads": 1}}
MLP = {"family": "mlp", "hparams": {"hidden": [32, 16], "dropout": 0.0}}
SPLITS = (("train", 900), ("val", 300), ("test", 600))
# the int8 logits stay this close to the float ONNX model's (8 bits over logit ranges of a few units)
INT8_MAX_DIFF, INT8_MEAN_DIFF, INT8_AUC_LOSS = 0.3, 0.05, 0.01


def write_prepared(data_dir: Path) -> None:
    """highlevel.h5 of each split as the prepare stage writes it: five normalised features shifted with the class and
    an unnormalised count (like jet_nparticles) that grows with it."""
    for seed, (split, n) in enumerate(SPLITS):
        rng = np.random.default_rng(seed)
        label = np.arange(n) % len(CLASSES)
        features = rng.normal(size=(n, N_HIGHLEVEL)) + 0.7 * label[:, None]
        features[:, -1] = rng.poisson(12 + 4 * label)  # a raw count, ~5 to ~30
        (data_dir / split).mkdir(parents=True, exist_ok=True)
        with h5py.File(data_dir / split / "highlevel.h5", "w") as h5:
            datasets = {"label": label.astype(np.int64), "weight": np.ones(n, np.float32),
                        "event_id": np.arange(n, dtype=np.int64) + 10_000 * seed,
                        "highlevel": features.astype(np.float32)}
            for key, values in datasets.items():
                h5.create_dataset(key, data=values, chunks=(min(n, 128), *values.shape[1:]))
            h5.attrs["classes"] = json.dumps(CLASSES)
            h5.attrs["split"] = split
            h5.attrs["feature_names"] = json.dumps([f"jet_{i}" for i in range(N_HIGHLEVEL)])


def trained_mlp(root: Path) -> tuple[Path, Path]:
    """Prepared toy data under root/prepared and an MLP trained on it for 6 epochs (CPU) in root/models/mlp."""
    write_prepared(root / "prepared")
    train("mlp", MLP, CONFIG, root / "prepared", root / "models" / "mlp", progress=False)
    return root / "prepared", root / "models" / "mlp"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(prepared data folder, trained MLP folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        return trained_mlp(tmp_path_factory.mktemp("quantize"))


@pytest.fixture(scope="module")
def exported(trained: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The trained model, its float ONNX file, calibration jets and the test jets."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DEVICE_VARIABLE, "cpu")
        data_dir, model_dir = trained
        model = load(model_dir)
        calibration = next(split_reader(data_dir, "train", ["highlevel"], 10_000).batches(["highlevel"], 512))
        test = next(split_reader(data_dir, "test", ["highlevel"], 10_000).batches(["highlevel", "weight"], 10_000))
        wrapped = ObjectiveOutput(model.model, model.objective).eval()
        path = tmp_path_factory.mktemp("onnx") / "model.onnx"
        export_onnx(wrapped, take_rows(test, 4), path, name="mlp")
        return {"model": model, "wrapped": wrapped, "path": path, "test": test,
                "calibration": {"highlevel": calibration["highlevel"]}}


def int8_outputs(exported: dict, out: Path, **block) -> tuple[np.ndarray, np.ndarray]:
    """(float, int8) onnxruntime outputs on the test jets, the int8 model made with the `quantization` block."""
    model = quantize_int8(exported["path"], out, JetCalibration(exported["calibration"]),
                          QuantizationSettings.from_config(block))
    feed = {"highlevel": exported["test"]["highlevel"]}
    return (onnx_forward(onnx_session(exported["path"]))(feed), onnx_forward(onnx_session(model.path))(feed))


def test_float_export_matches_torch(exported: dict) -> None:
    assert check_onnx(exported["path"], exported["wrapped"], {"highlevel": exported["test"]["highlevel"][:64]},
                      name="mlp") <= 1e-4


def test_int8_agrees_with_the_float_model(exported: dict, tmp_path: Path) -> None:
    """Within INT8_MAX_DIFF of the float logits (mean within INT8_MEAN_DIFF), the AUC within INT8_AUC_LOSS; real
    integer operators in the file."""
    reference, got = int8_outputs(exported, tmp_path / "int8.onnx")
    difference = output_difference(reference, got)
    assert 0 < difference["max_abs_diff"] <= INT8_MAX_DIFF
    assert difference["mean_abs_diff"] <= INT8_MEAN_DIFF
    objective, meta = exported["model"].objective, {"label": exported["test"]["label"]}
    float_auc, int8_auc = objective.metrics(reference, meta)["auc"], objective.metrics(got, meta)["auc"]
    assert float_auc > 0.8
    assert abs(float_auc - int8_auc) <= INT8_AUC_LOSS
    graph = onnx.load(str(tmp_path / "int8.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    assert any(init.data_type == onnx.TensorProto.INT8 for init in graph.initializer)  # int8 weights


def test_float_input_layers_keep_an_unnormalised_input(exported: dict, tmp_path: Path) -> None:
    """One int8 scale for the raw count beside the normalised features: the outputs drift much further (on this
    machine: max |diff| 0.25 against 0.08, mean 0.029 against 0.015)."""
    reference, kept = int8_outputs(exported, tmp_path / "kept.onnx")
    _, all_int8 = int8_outputs(exported, tmp_path / "all.onnx", int8_float_inputs=False)
    kept_diff, all_diff = output_difference(reference, kept), output_difference(reference, all_int8)
    assert all_diff["max_abs_diff"] > 2 * kept_diff["max_abs_diff"]
    assert all_diff["mean_abs_diff"] > 1.3 * kept_diff["mean_abs_diff"]


def test_qoperator_per_channel_int8(exported: dict, tmp_path: Path) -> None:
    reference, got = int8_outputs(exported, tmp_path / "qop.onnx", int8_format="qoperator", int8_per_channel=True,
                                  int8_calibration="percentile")
    assert output_difference(reference, got)["max_abs_diff"] <= INT8_MAX_DIFF
    assert any(node.op_type.startswith("QLinear") or node.op_type == "QGemm"
               for node in onnx.load(str(tmp_path / "qop.onnx")).graph.node)


def test_input_layers_stop_at_the_first_layer(exported: dict) -> None:
    graph = onnx.load(str(exported["path"])).graph
    first = next(node.name for node in graph.node if node.op_type in ("Gemm", "MatMul"))
    assert input_layers(exported["path"]) == [first]


def toy_graph(path: Path) -> Path:
    """features (B, 4) * mask -> Add bias -> MatMul W -> Relu -> Add mask-derived; a Shape of the features."""
    nodes = [
        helper.make_node("Mul", ["features", "mask"], ["masked"], name="mask_mul"),
        helper.make_node("Add", ["masked", "bias"], ["biased"], name="bias_add"),
        helper.make_node("MatMul", ["biased", "weight"], ["hidden"], name="first_layer"),
        helper.make_node("Relu", ["hidden"], ["activated"], name="relu"),
        helper.make_node("Add", ["activated", "mask"], ["output"], name="mask_add"),
        helper.make_node("Shape", ["features"], ["shape"], name="shape"),
    ]
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", 4]) for name in ("features", "mask")]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 4]),
               helper.make_tensor_value_info("shape", TensorProto.INT64, [2])]
    initializers = [numpy_helper.from_array(np.ones(4, np.float32), "bias"),
                    numpy_helper.from_array(np.eye(4, dtype=np.float32), "weight")]
    onnx.save(helper.make_model(helper.make_graph(nodes, "toy", inputs, outputs, initializers)), str(path))
    return path


def test_input_layers_walk_from_the_features_not_the_mask(tmp_path: Path) -> None:
    """Up to the first layer with weights, through the mask multiplication; not on from the mask, not past a Shape."""
    assert input_layers(toy_graph(tmp_path / "toy.onnx")) == ["mask_mul", "bias_add", "first_layer"]


def test_variable_adds_are_those_without_a_constant(tmp_path: Path) -> None:
    assert variable_adds(toy_graph(tmp_path / "toy.onnx")) == ["mask_add"]


def test_calibration_batches_have_one_size() -> None:
    calibration = JetCalibration({"highlevel": np.zeros((300, 3), np.float64)}, batch_size=128)
    sizes = []
    while (batch := calibration.get_next()) is not None:
        sizes.append(batch["highlevel"].shape)
        assert batch["highlevel"].dtype == np.float32
    assert sizes == [(128, 3), (128, 3)]
    calibration.rewind()
    assert calibration.get_next() is not None
    assert len(JetCalibration({"x": np.zeros((5, 2))}, batch_size=128).batches) == 1


def test_quantize_model_writes_every_output(trained: tuple[Path, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Table per bit width, summary with float/int8 metrics, int8 ONNX file, latency of three backends, figure."""
    monkeypatch.setenv(DEVICE_VARIABLE, "cpu")
    data_dir, model_dir = trained
    files = model_files(model_dir)
    out = QuantizeFiles.in_directory(tmp_path / "quantize")
    block = {"bits": [3, 16], "qat_epochs": 1, "calibration_jets": 256, "num_threads": 1, "latency_batches": [1, 16],
             "latency_warmup": 1, "latency_repeats": 3, "latency_budget_s": 0.2}
    quantize_model(files.config, files.weights, prepared_in(data_dir), out, QuantizationSettings.from_config(block))
    assert sorted(p.name for p in out.plots.parent.iterdir()) == [
        "latency.csv", "model_int8.onnx", "plots", "quantization.csv", "quantization.json"]
    assert sorted(p.name for p in out.plots.iterdir()) == ["auc_vs_bits.pdf", "auc_vs_bits.png", "latency.pdf",
                                                           "latency.png"]

    table = pd.read_csv(out.table)
    assert list(table["bits"]) == [3, 16]
    assert {f"{method}_auc_{name}" for method in ("ptq", "qat") for name in CLASSES} <= set(table.columns)
    summary = json.loads(out.summary.read_text())
    float_auc = json.loads((model_dir / "metrics.json").read_text())["auc"]
    assert summary["float"]["auc"] == pytest.approx(float_auc)
    assert summary["onnx_float"]["auc"] == pytest.approx(float_auc, abs=1e-6)
    assert abs(summary["int8"]["auc"] - float_auc) <= INT8_AUC_LOSS
    assert summary["int8_metric_change"] == pytest.approx(summary["int8"]["auc"] - float_auc)
    assert 0 < summary["int8_max_abs_diff"] <= INT8_MAX_DIFF
    assert summary["onnx_export_max_abs_diff"] <= 1e-4
    assert summary["settings"]["bits"] == [3, 16] and summary["int8_float_nodes"]
    sixteen = table.set_index("bits").loc[16]
    assert sixteen["ptq_metric"] == pytest.approx(float_auc, abs=2e-3)
    assert table.set_index("bits").loc[3, "ptq_metric"] < sixteen["ptq_metric"]
    assert [row["bits"] for row in summary["bits"]] == [3, 16]

    latency = pd.read_csv(out.latency)
    assert sorted(set(zip(latency["backend"], latency["batch_size"]))) == [
        (backend, batch) for backend in ("onnxruntime", "onnxruntime_int8", "torch") for batch in (1, 16)]
    assert (latency["latency_ms"] > 0).all()
    assert set(summary["int8_speedup"]) == {"cpu_1", "cpu_16"}
    session = onnx_session(out.onnx_int8)
    assert [node.name for node in session.get_inputs()] == ["highlevel"]


def test_settings_are_the_schema_block() -> None:
    """Every key of the `quantization` block is a field without a default of its own; a wrong value names its key."""
    schema = yaml.safe_load((Path(__file__).resolve().parents[1] / "config" / "schema.yaml").read_text())
    properties = schema["properties"]["quantization"]["properties"]
    assert QuantizationSettings.field_names() == list(properties)
    defaults = QuantizationSettings.from_config({})
    assert dataclasses.asdict(defaults) == {key: spec["default"] for key, spec in properties.items()}
    with pytest.raises(ConfigError, match="quantization.bits"):
        QuantizationSettings.from_config({"bits": [1]})
