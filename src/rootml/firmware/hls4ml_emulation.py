"""hls4ml: a one-input torch model -> HLS C++ at a fixed-point precision, compiled with g++ (hls4ml's `compile()`
with its bundled ap_types; no vendor tool) and run jet by jet as the firmware's bit-accurate emulation."""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rootml.errors import ConfigError
from rootml.firmware.fixed_point import FixedPoint
from rootml.firmware.settings import KEY, FirmwareSettings
from rootml.training.inference import Forward

log = logging.getLogger(__name__)

PROJECT = "rootml_firmware"
# Precision kinds holding the values flowing through a layer: the ones profiled integer bits widen
VALUE_KINDS = ("result", "accum")


@contextlib.contextmanager
def captured_output(what: str) -> Iterator[io.StringIO]:
    """Keep hls4ml's prints (model topology, compiler output) out of the job's log; logged at debug level."""
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            yield buffer
    finally:
        if buffer.getvalue():
            log.debug("%s:\n%s", what, buffer.getvalue())


def float_module(model: nn.Module) -> nn.Module:
    """A float32 CPU copy of the model in eval mode (what hls4ml reads: weights and its traced graph)."""
    return copy.deepcopy(model).cpu().float().eval()


def input_name(model: nn.Module) -> str:
    """The model's input as hls4ml's graph names it: the first argument of forward (the traced placeholder)."""
    return next(iter(inspect.signature(model.forward).parameters))


def layer_ranges(model: nn.Module, inputs: np.ndarray) -> dict[str, float]:
    """max |value| of the model's input and of the output of each of its modules on `inputs`, by hls4ml layer name.

    hls4ml names a module by its path with '.' -> '_' (torch.fx's node names) and the input by forward's argument.
    Hand-written with forward hooks: hls4ml's own profiling (hls4ml.model.profiling) draws figures and needs
    seaborn, and only these maxima are needed.
    """
    ranges: dict[str, float] = {input_name(model): float(np.abs(inputs).max(initial=0.0))}
    handles = []

    def hook(name: str):
        """Record the largest |output| of module `name`."""
        def record(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            """forward hook."""
            ranges[name] = max(ranges.get(name, 0.0), float(output.detach().abs().max()))
        return record

    for path, module in model.named_modules():
        if path and not any(True for _ in module.children()):
            handles.append(module.register_forward_hook(hook(path.replace(".", "_"))))
    try:
        with torch.no_grad():
            model(torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)))
    finally:
        for handle in handles:
            handle.remove()
    return ranges


def layer_types(layers: Mapping[str, Mapping[str, Any]], precision: FixedPoint, ranges: Mapping[str, float],
                options: FirmwareSettings) -> dict[str, dict[str, str]]:
    """Layer name -> precision kind -> C++ type: the scan's `precision` everywhere, the outputs and accumulators of
    profiled layers widened to their range; lookup tables (sigmoid, tanh, softmax) keep hls4ml's defaults."""
    types: dict[str, dict[str, str]] = {}
    for name, layer in layers.items():
        for kind, default in layer.get("Precision", {}).items():
            if "table" in kind:
                chosen = str(default)
            elif options.integer_bits == "profiled" and kind in VALUE_KINDS and name in ranges:
                chosen = str(precision.widened(ranges[name], options.headroom_bits))
            else:
                chosen = str(precision)
            types.setdefault(name, {})[kind] = chosen
    return types


def hls_config(model: nn.Module, input_shape: tuple[int, ...], precision: FixedPoint, ranges: Mapping[str, float],
               options: FirmwareSettings) -> dict[str, Any]:
    """hls4ml's per-layer configuration of the model at `precision` (config_from_pytorch_model, granularity 'name')."""
    import hls4ml

    try:
        with captured_output("hls4ml config"):
            config = hls4ml.utils.config_from_pytorch_model(
                model, input_shape, granularity="name", backend=options.backend, default_precision=str(precision),
                default_reuse_factor=options.reuse_factor)
    except Exception as err:  # hls4ml raises a bare Exception for an unsupported layer
        raise ConfigError(KEY, f"hls4ml's PyTorch frontend cannot convert the model: {err}") from err
    config["Model"]["Strategy"] = options.strategy
    for name, kinds in layer_types(config["LayerName"], precision, ranges, options).items():
        config["LayerName"][name]["Precision"] = kinds
    return config


def compile_model(model: nn.Module, config: Mapping[str, Any], build_dir: Path, options: FirmwareSettings) -> Any:
    """The hls4ml ModelGraph of `model` written to `build_dir` and compiled with g++ (loaded into this process)."""
    import hls4ml

    config = dict(config)
    config.pop("PytorchModel", None)
    try:
        with captured_output("hls4ml conversion"):
            graph = hls4ml.converters.convert_from_pytorch_model(
                model, output_dir=str(build_dir), project_name=PROJECT, backend=options.backend,
                io_type=options.io_type, hls_config=config)
    except Exception as err:
        raise ConfigError(KEY, f"hls4ml's PyTorch frontend cannot convert the model: {err}") from err
    with captured_output("hls4ml compile") as output:
        try:
            graph.compile()
        except Exception as err:
            raise RuntimeError(f"g++ failed on hls4ml's project in {build_dir}: {err}\n"
                               f"{output.getvalue()[-4000:]}") from err
    return graph


def emulated_forward(graph: Any, key: str) -> Forward:
    """Outputs (n, n_outputs) of the compiled firmware for the batch's `key` inputs (float32, jet by jet in C++)."""

    def forward(batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """One batch through the emulation."""
        inputs = np.ascontiguousarray(batch[key], dtype=np.float32)
        outputs = np.asarray(graph.predict(inputs), dtype=np.float32)
        return outputs.reshape(len(inputs), -1)

    return forward


def emulate_torch(model: nn.Module, key: str, input_shape: tuple[int, ...], precision: FixedPoint,
                  ranges: Mapping[str, float], options: FirmwareSettings,
                  build_dir: Path) -> tuple[Forward, dict[str, dict[str, str]], float]:
    """(forward of the compiled emulation, the types of each layer, seconds to convert and compile) at `precision`."""
    start = time.perf_counter()
    config = hls_config(model, input_shape, precision, ranges, options)
    graph = compile_model(model, config, build_dir, options)
    types = {name: dict(layer["Precision"]) for name, layer in config["LayerName"].items()}
    return emulated_forward(graph, key), types, time.perf_counter() - start
