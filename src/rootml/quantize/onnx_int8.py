"""Static int8 quantization of a model's float ONNX export with onnxruntime's tools (quant_pre_process, then
quantize_static calibrated on training jets), and onnxruntime forward functions for the task's metrics.

Two choices keep the int8 model close to the float one (measured on the default run, docs in config/schema.yaml):
the operators between a model input and its first layers stay float (int8_float_inputs: one scale per input tensor
cannot hold normalised features beside an unnormalised particle count), and only the layers and the operators that
pass their int8 outputs on are quantized (int8_op_types), a MatMul only with constant weights (MatMulConstBOnly) and an
Add only with a constant operand, a bias (variable_adds): ParticleNet's kNN distances in int8 pick other neighbours,
and a transformer's attention mask (-inf where a slot is empty) added in int8 wipes out its scores.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from torch import nn

from rootml.atomic import atomic_output
from rootml.models.specs import set_input_parts
from rootml.pruning.onnx_export import OUTPUT_NAME
from rootml.quantize.settings import QuantizationSettings
from rootml.training.inference import Forward
from rootml.training.objectives import Objective

log = logging.getLogger(__name__)

QUANT_FORMATS = {"qdq": QuantFormat.QDQ, "qoperator": QuantFormat.QOperator}
ACTIVATION_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}
CALIBRATION_METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
                       "percentile": CalibrationMethod.Percentile}
# operators with weights, where a walk from a model input stops (int8_float_inputs)
WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})
SHAPE_OPS = frozenset({"Shape", "Size"})  # their outputs carry a tensor's shape, not its values: the walk ends there
CALIBRATION_BATCH = 128  # jets per calibration run


class ObjectiveOutput(nn.Module):
    """A model whose forward gives what its task scores (objective.forward: logits, regression values, the anomaly
    score): exported to ONNX, onnxruntime's outputs go straight into the task's metrics."""

    def __init__(self, model: nn.Module, objective: Objective) -> None:
        super().__init__()
        self.model = model
        self.objective = objective
        self.input_keys: tuple[str, ...] = tuple(model.input_keys)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The task's outputs for the model's inputs, in input_keys order."""
        return self.objective.forward(self.model, list(inputs))


class JetCalibration(CalibrationDataReader):
    """onnxruntime's calibration data: the given jets in batches of one size (the histogram calibrators stack the
    batches, so a smaller last one is dropped unless it is the only one)."""

    def __init__(self, inputs: Mapping[str, np.ndarray], batch_size: int = CALIBRATION_BATCH) -> None:
        n_rows = len(next(iter(inputs.values())))
        size = max(1, min(batch_size, n_rows))
        self.batches = [{key: np.ascontiguousarray(values[start:start + size], dtype=np.float32)
                         for key, values in inputs.items()} for start in range(0, n_rows - size + 1, size)]
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch, None after the last."""
        return next(self._iter, None)

    def rewind(self) -> None:
        """Start again from the first batch."""
        self._iter = iter(self.batches)


def input_layers(path: str | Path) -> list[str]:
    """The nodes on the way from each graph input to the first operators with weights, those included; a set's mask
    (0 or 1, exact in int8, and multiplied in everywhere) is no start."""
    graph = onnx.load(str(path)).graph
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    reached: dict[str, None] = {}  # ordered set of node names
    frontier = [value.name for value in graph.input if set_input_parts(value.name)[1] != "mask"]
    seen_tensors = set(frontier)
    while frontier:
        tensor = frontier.pop(0)
        for node in consumers.get(tensor, []):
            if node.name in reached or node.op_type in SHAPE_OPS:
                continue
            reached[node.name] = None
            if node.op_type in WEIGHTED_OPS:
                continue  # stop at the first layer: what follows is quantized
            for output in node.output:
                if output not in seen_tensors:
                    seen_tensors.add(output)
                    frontier.append(output)
    return list(reached)


def variable_adds(path: str | Path) -> list[str]:
    """The Add nodes none of whose operands is a constant (an initializer or a Constant node's output)."""
    graph = onnx.load(str(path)).graph
    constants = {init.name for init in graph.initializer}
    constants |= {output for node in graph.node if node.op_type == "Constant" for output in node.output}
    return [node.name for node in graph.node
            if node.op_type == "Add" and not any(name in constants for name in node.input)]


@dataclass(frozen=True)
class Int8Model:
    """The int8 ONNX file, whether onnxruntime's pre-processing ran on it, and the nodes kept in float."""

    path: Path
    preprocessed: bool
    float_nodes: list[str]


def quantize_int8(float_path: str | Path, out_path: str | Path, calibration: CalibrationDataReader,
                  options: QuantizationSettings) -> Int8Model:
    """Quantize the float ONNX model at `float_path` to int8 (onnxruntime's quantize_static; weights int8) in
    `out_path`, written atomically; pre-processed first unless the options say otherwise or it fails (logged)."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".int8_", dir=out_path.parent) as scratch:
        source, preprocessed = Path(float_path), False
        if options.int8_preprocess:
            target = Path(scratch) / "preprocessed.onnx"
            try:
                quant_pre_process(str(float_path), str(target))
                source, preprocessed = target, True
            except Exception as error:  # symbolic shape inference fails on some graphs; the raw export still works
                log.warning("quant_pre_process failed on %s (%s); quantizing the model as exported", float_path, error)
        float_nodes = list(dict.fromkeys([*(input_layers(source) if options.int8_float_inputs else []),
                                          *variable_adds(source)]))
        with atomic_output(out_path) as tmp:
            quantize_static(str(source), str(tmp), calibration,
                            quant_format=QUANT_FORMATS[options.int8_format],
                            per_channel=options.int8_per_channel,
                            reduce_range=options.int8_reduce_range,
                            activation_type=ACTIVATION_TYPES[options.int8_activation_type],
                            weight_type=QuantType.QInt8,
                            nodes_to_exclude=float_nodes,
                            calibrate_method=CALIBRATION_METHODS[options.int8_calibration],
                            op_types_to_quantize=options.int8_op_types,
                            extra_options={"MatMulConstBOnly": True})
    return Int8Model(out_path, preprocessed, float_nodes)


def onnx_forward(session: ort.InferenceSession) -> Forward:
    """Outputs (float32) of an onnxruntime session for one batch of named arrays (the inputs it declares)."""
    names = [node.name for node in session.get_inputs()]

    def forward(batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """One batch through the session."""
        feed = {name: np.ascontiguousarray(batch[name], dtype=np.float32) for name in names}
        return np.asarray(session.run([OUTPUT_NAME], feed)[0], dtype=np.float32)

    return forward


def output_difference(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """max and mean |other - reference| of two outputs of the same jets."""
    difference = np.abs(np.asarray(other, np.float64) - np.asarray(reference, np.float64))
    return {"max_abs_diff": float(difference.max()) if difference.size else 0.0,
            "mean_abs_diff": float(difference.mean()) if difference.size else 0.0}
