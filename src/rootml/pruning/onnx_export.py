"""ONNX export of the torch models (dynamic batch and particle axes) and its check against torch with onnxruntime."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn
from torch.export import Dim

from rootml.atomic import atomic_output
from rootml.errors import RootmlError

# Inputs in weaver's (B, C, N) layout: their particle axis is exported as dynamic, every family is size-agnostic in N.
PARTICLE_INPUTS = frozenset({"features", "points", "vectors", "mask"})
PARTICLE_AXIS = 2
OUTPUT_NAME = "output"
# Loggers of the exporter that report every graph pass at INFO (and absent torchvision ops at WARNING)
EXPORTER_LOGGERS = ("torch.onnx", "onnxscript", "onnx_ir")


class OnnxExportError(RootmlError):
    """A model that could not be exported to ONNX, or whose ONNX outputs differ from torch's."""


def dynamic_axes(input_keys: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """Names of the dynamic axes of each input: 'batch' (axis 0) everywhere, 'particles' for particle inputs."""
    return {key: {0: "batch", PARTICLE_AXIS: "particles"} if key in PARTICLE_INPUTS else {0: "batch"}
            for key in input_keys}


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Keep the exporter's pass-by-pass messages out of the rule logs (errors still show), then restore levels."""
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _tensors(model: nn.Module, inputs: Mapping[str, np.ndarray | torch.Tensor]) -> tuple[torch.Tensor, ...]:
    """The CPU float tensors of the inputs the model's `input_keys` name, in order."""
    return tuple(torch.as_tensor(inputs[key], dtype=torch.float32, device="cpu") for key in model.input_keys)


def export_onnx(
    model: nn.Module, example: Mapping[str, np.ndarray | torch.Tensor], path: str | os.PathLike[str], *, name: str,
    opset: int | None = None,
) -> Path:
    """Export `model` (eval mode, on CPU) to `path` with dynamic batch and particle axes; inputs named by input_keys.

    The example needs at least 2 jets and 2 particle slots, so the exporter keeps those axes symbolic.
    """
    model = copy.deepcopy(model).to("cpu").eval()  # the caller's model keeps its device and mode
    args = _tensors(model, example)
    dims = {"batch": Dim("batch"), "particles": Dim("particles")}
    axes = dynamic_axes(model.input_keys)
    shapes = tuple({axis: dims[label] for axis, label in axes[key].items()} for key in model.input_keys)
    path = Path(path)
    try:
        with atomic_output(path) as tmp, warnings.catch_warnings(), torch.no_grad(), quiet_exporter():
            # the exporter warns once per input that shares a named axis with another: that sharing is intended
            warnings.filterwarnings("ignore", message="# The axis name")
            warnings.filterwarnings("ignore", category=FutureWarning, message=".*LeafSpec")  # inside torch.export
            torch.onnx.export(model, args, tmp, input_names=list(model.input_keys), output_names=[OUTPUT_NAME],
                              dynamic_shapes=shapes, opset_version=opset, dynamo=True, external_data=False,
                              verbose=False)
    except Exception as error:  # the exporter raises many unrelated types; name the model and keep the cause
        raise OnnxExportError(f"model '{name}': ONNX export to {path} failed: {error}") from error
    return path


def onnx_session(path: str | os.PathLike[str], *, num_threads: int | None = None,
                 providers: list[str] | None = None) -> ort.InferenceSession:
    """An onnxruntime session on `path` (CPU unless `providers` say otherwise), with `num_threads` intra-op threads."""
    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
    return ort.InferenceSession(os.fspath(path), options, providers=providers or ["CPUExecutionProvider"])


def check_onnx(
    path: str | os.PathLike[str], model: nn.Module, inputs: Mapping[str, np.ndarray | torch.Tensor], *, name: str,
    atol: float = 1e-4,
) -> float:
    """Max |onnxruntime - torch| of `model`'s outputs on `inputs`; OnnxExportError naming `name` above `atol`."""
    model = copy.deepcopy(model).to("cpu").eval()
    args = _tensors(model, inputs)
    with torch.no_grad():
        expected = model(*args).numpy()
    got = onnx_session(path).run([OUTPUT_NAME], dict(zip(model.input_keys, (a.numpy() for a in args))))[0]
    shapes = {key: tuple(a.shape) for key, a in zip(model.input_keys, args)}
    if got.shape != expected.shape:
        raise OnnxExportError(f"model '{name}': ONNX output shape {got.shape} != torch {expected.shape} "
                              f"on inputs {shapes} ({path})")
    difference = float(np.abs(got - expected).max()) if got.size else 0.0
    if not difference <= atol:  # also catches NaN
        raise OnnxExportError(f"model '{name}': ONNX output differs from torch by {difference:.3g} > {atol:g} "
                              f"on inputs {shapes} ({path})")
    return difference
