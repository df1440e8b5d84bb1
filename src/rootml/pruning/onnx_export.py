"""ONNX export of the torch models (dynamic batch and set-slot axes) and its check against torch with onnxruntime.

The ONNX inputs are named by the model's input_keys: features, points, vectors, mask for a model of one set (its slot
axis named 'particles'), `<set>/features`, ... for a model of several sets (slot axis 'particles_<set>' each).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
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
from rootml.models.specs import SET_INPUTS, set_input_parts

# Set inputs are in weaver's (B, C, N) layout: their slot axis is exported as dynamic (every family is size-agnostic
# in N), one per set.
PARTICLE_AXIS = 2
OUTPUT_NAME = "output"
# Loggers of the exporter that report every graph pass at INFO (and absent torchvision ops at WARNING)
EXPORTER_LOGGERS = ("torch.onnx", "onnxscript", "onnx_ir")


class OnnxExportError(RootmlError):
    """A model that could not be exported to ONNX, or whose ONNX outputs differ from torch's."""


def is_set_input(key: str) -> bool:
    """Whether input `key` is a set's (features, points, vectors, mask, or <set>/<one of them>)."""
    return set_input_parts(key)[1] in SET_INPUTS


def dynamic_axes(input_keys: tuple[str, ...]) -> dict[str, dict[int, str]]:
    """Names of the dynamic axes of each input: 'batch' (axis 0) everywhere, the slot axis of set inputs 'particles'
    (one set) or 'particles_<set>' (several sets)."""
    axes = {}
    for key in input_keys:
        set_name = set_input_parts(key)[0]
        slots = "particles" if set_name is None else f"particles_{set_name}"
        axes[key] = {0: "batch", PARTICLE_AXIS: slots} if is_set_input(key) else {0: "batch"}
    return axes


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
    """Export `model` (eval mode, on CPU) to `path` with dynamic batch and slot axes; inputs named by input_keys.

    The example needs at least 2 jets and 2 slots of each set, so the exporter keeps those axes symbolic.
    """
    model = copy.deepcopy(model).to("cpu").eval()  # the caller's model keeps its device and mode
    args = _tensors(model, example)
    axes = dynamic_axes(model.input_keys)
    dims = {label: Dim(label) for key_axes in axes.values() for label in key_axes.values()}
    shapes = tuple({axis: dims[label] for axis, label in axes[key].items()} for key in model.input_keys)
    if any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(model.forward).parameters.values()):
        shapes = (shapes,)  # torch.export takes the shapes of a forward(*tensors) as those of its one parameter
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
