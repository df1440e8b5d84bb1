"""The one place that chooses where torch runs (CUDA when present, else CPU) and whether it uses mixed precision."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch

DEVICE_VARIABLE = "ROOTML_DEVICE"  # set to "cpu" to keep torch off the GPU (tests, debugging)


@dataclass(frozen=True)
class ComputeDevice:
    """A torch device and the autocast dtype used on it (None: full float32)."""

    device: torch.device
    amp_dtype: torch.dtype | None = None

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision context for forward passes (a no-op on CPU)."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """Loss scaler: active only for float16 autocast (bfloat16 has float32's range and needs none)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

    def __str__(self) -> str:
        """E.g. 'cuda:0 (bfloat16 autocast)' or 'cpu'."""
        amp = f" ({str(self.amp_dtype).removeprefix('torch.')} autocast)" if self.amp_dtype else ""
        return f"{self.device}{amp}"


CPU = ComputeDevice(torch.device("cpu"))


def select_device() -> ComputeDevice:
    """CUDA with bfloat16 (or float16) autocast when a GPU is visible, unless ROOTML_DEVICE=cpu; else CPU."""
    if os.environ.get(DEVICE_VARIABLE, "").lower() == "cpu" or not torch.cuda.is_available():
        return CPU
    return ComputeDevice(torch.device("cuda"), torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)


def configure_torch(num_threads: int | None) -> None:
    """Make torch's results reproducible bit for bit and limit its intra-op CPU threads (None: one per core).

    With several threads, torch's CPU scatter-add (the backward of a gather, as in ParticleNet's kNN edges)
    adds with atomics in whatever order the threads run, so two runs of one config differed in the last bits
    (seen on a loaded machine). Deterministic algorithms add serially there (no slower in a ParticleNet
    training step on 2 CPU threads); on CUDA they need cuBLAS's fixed workspace, set here before cuBLAS starts.
    warn_only: an op without a deterministic kernel warns instead of stopping the run.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    if num_threads is not None:
        torch.set_num_threads(num_threads)
