"""Inference latency and throughput of a model as torch (dense, pruned) and onnxruntime, per device and batch size."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import torch
from torch import nn

from rootml.pruning.onnx_export import onnx_session
from rootml.pruning.prune import count_parameters
from rootml.training.device import select_device

MIN_REPEATS = 3  # timed runs kept even when one run exceeds the time budget
# onnxruntime's graph optimisation levels by name (Backend.graph_optimization)
GRAPH_OPTIMIZATION = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                      "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                      "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                      "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}


@dataclass(frozen=True)
class Backend:
    """A way to run a model: the torch module itself, or the ONNX file exported from it (onnx_path), at an onnxruntime
    graph optimisation level (a key of GRAPH_OPTIMIZATION; None: onnx_session's default)."""

    name: str
    module: nn.Module
    onnx_path: Path | None = None
    graph_optimization: str | None = None


@dataclass(frozen=True)
class Timing:
    """How to time one configuration: untimed warm-up calls, then up to `repeats` timed calls within `budget_s`."""

    warmup: int = 3
    repeats: int = 50
    budget_s: float = 10.0


@dataclass(frozen=True)
class LatencyRow:
    """One measured configuration (latency_ms is the median per batch; throughput in jets per second)."""

    model: str
    backend: str
    device: str
    batch_size: int
    threads: int
    latency_ms: float
    throughput_per_s: float
    n_parameters: int
    n_nonzero: int


def take_rows(inputs: Mapping[str, np.ndarray], batch_size: int) -> dict[str, np.ndarray]:
    """A batch of exactly `batch_size` jets from `inputs`, cycling through the rows when there are fewer."""
    n_rows = len(next(iter(inputs.values())))
    if n_rows == 0:
        raise ValueError("no jets to build a latency batch from")
    index = np.arange(batch_size) % n_rows
    return {key: np.ascontiguousarray(values[index], dtype=np.float32) for key, values in inputs.items()}


def median_seconds(call: Callable[[], object], timing: Timing) -> float:
    """Median wall time of `call` after `timing.warmup` untimed calls."""
    for _ in range(timing.warmup):
        call()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < timing.repeats and (len(times) < MIN_REPEATS or time.perf_counter() - start < timing.budget_s):
        begin = time.perf_counter()
        call()
        times.append(time.perf_counter() - begin)
    return float(np.median(times))


def torch_call(module: nn.Module, batch: Mapping[str, np.ndarray], device: torch.device) -> Callable[[], object]:
    """A no-argument forward pass of a copy of `module` on `device` (inputs already there, synchronised on CUDA)."""
    model = copy.deepcopy(module).to(device).eval()
    tensors = [torch.from_numpy(batch[key]).to(device) for key in model.input_keys]

    def call() -> torch.Tensor:
        """One inference, waiting for the GPU to finish."""
        with torch.inference_mode():
            output = model(*tensors)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return output

    return call


def optimized_session(path: str | os.PathLike[str], level: str | None, *, num_threads: int | None = None,
                      providers: list[str] | None = None) -> ort.InferenceSession:
    """onnx_session on `path`, at graph optimisation level `level` (a key of GRAPH_OPTIMIZATION) unless None."""
    if level is None:
        return onnx_session(path, num_threads=num_threads, providers=providers)
    options = ort.SessionOptions()
    if num_threads:
        options.intra_op_num_threads = num_threads
    options.graph_optimization_level = GRAPH_OPTIMIZATION[level]
    return ort.InferenceSession(os.fspath(path), options, providers=providers or ["CPUExecutionProvider"])


def onnx_call(session: ort.InferenceSession, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
    """A no-argument onnxruntime inference on the inputs the session declares (host arrays in and out)."""
    feed = {node.name: batch[node.name] for node in session.get_inputs()}
    return lambda: session.run(None, feed)


def latency_table(
    model_name: str, backends: Sequence[Backend], inputs: Mapping[str, np.ndarray], *,
    batch_sizes: Sequence[int] = (1, 1024), timing: Timing = Timing(),
) -> pd.DataFrame:
    """One row per backend, device and batch size: median latency, throughput, (non-zero) parameter counts.

    Devices: CPU always; CUDA too when rootml.training.device selects it (torch) and onnxruntime has its
    CUDA provider. Torch and onnxruntime use torch's current intra-op thread count on CPU.
    """
    threads = torch.get_num_threads()
    gpu = select_device().device
    rows = []
    for backend in backends:
        n_parameters, n_nonzero = count_parameters(backend.module)
        if backend.onnx_path is None:
            devices = [torch.device("cpu")] + ([gpu] if gpu.type == "cuda" else [])
        else:
            cuda = gpu.type == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers()
            devices = [torch.device("cpu")] + ([torch.device("cuda")] if cuda else [])
        for device in devices:
            session = None if backend.onnx_path is None else optimized_session(
                backend.onnx_path, backend.graph_optimization, num_threads=threads,
                providers=["CUDAExecutionProvider"] if device.type == "cuda" else ["CPUExecutionProvider"])
            for batch_size in batch_sizes:
                batch = take_rows(inputs, batch_size)
                call = torch_call(backend.module, batch, device) if session is None else onnx_call(session, batch)
                seconds = median_seconds(call, timing)
                rows.append(LatencyRow(model_name, backend.name, device.type, batch_size, threads, seconds * 1e3,
                                       batch_size / seconds, n_parameters, n_nonzero))
    return pd.DataFrame([asdict(row) for row in rows])

