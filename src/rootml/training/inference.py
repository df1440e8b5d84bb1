"""Running a trained model over batches: one forward function per model kind, and collecting its outputs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rootml.errors import ConfigError, InputError
from rootml.training.data import SplitReader
from rootml.training.device import ComputeDevice
from rootml.training.objectives import Objective

Forward = Callable[[Mapping[str, np.ndarray]], np.ndarray]


def to_tensors(batch: Mapping[str, np.ndarray], keys: Sequence[str], device: ComputeDevice) -> dict[str, torch.Tensor]:
    """The named arrays of a batch as tensors on `device`."""
    return {key: torch.from_numpy(np.ascontiguousarray(batch[key])).to(device.device, non_blocking=True)
            for key in keys}


def torch_forward(model: nn.Module, objective: Objective, device: ComputeDevice, validation: bool = False) -> Forward:
    """Outputs (objective space, float32 numpy) of a torch model in eval mode for one batch of arrays: what the
    task predicts, or with `validation` what the task validates (its validation_forward)."""
    keys = list(model.input_keys)
    apply = objective.validation_forward if validation else objective.forward

    def forward(batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """One batch through the model, without gradients."""
        tensors = to_tensors(batch, keys, device)
        with torch.no_grad(), device.autocast():
            outputs = apply(model, [tensors[key] for key in keys])
        return outputs.float().cpu().numpy()

    return forward


@dataclass(frozen=True)
class Collected:
    """Model outputs for a run over a split, with the per-jet bookkeeping (label, weight, event_id, obs_*)."""

    outputs: np.ndarray
    meta: dict[str, np.ndarray]


def collect(
    forward: Forward, reader: SplitReader, input_keys: Sequence[str], meta_keys: Sequence[str], batch_size: int,
    max_rows: int | None = None,
) -> Collected:
    """Apply `forward` to the split in file order (first `max_rows` jets when given)."""
    outputs: list[np.ndarray] = []
    meta: dict[str, list[np.ndarray]] = {key: [] for key in meta_keys}
    for batch in reader.batches([*input_keys, *meta_keys], batch_size, max_rows=max_rows):
        outputs.append(forward(batch))
        for key in meta_keys:
            meta[key].append(batch[key])
    return Collected(np.concatenate(outputs), {key: np.concatenate(values) for key, values in meta.items()})


def metric_value(metrics: Mapping[str, Any], metric: str, objective: Objective, reader: SplitReader,
                 key: str) -> float:
    """metrics[metric] as a float; ConfigError naming `key` (e.g. pruning.metric) when the task has no such metric,
    InputError naming the split's files when it is undefined there (a class is missing)."""
    if metric not in metrics:
        raise ConfigError(key, f"'{metric}' is not a metric of a {objective.task} model; known: {sorted(metrics)}")
    value = metrics[metric]
    if value is None:
        raise InputError(f"metric '{metric}' is undefined on the {reader.split} split (a class is missing)",
                         file=", ".join(map(str, reader.paths)))
    return float(value)
