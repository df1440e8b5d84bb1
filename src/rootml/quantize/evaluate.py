"""The task's metrics of any forward function (torch, fake-quantized torch, onnxruntime) over one split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rootml.errors import ConfigError, InputError
from rootml.training.data import SplitReader
from rootml.training.inference import Collected, Forward, collect
from rootml.training.objectives import Objective

EVAL_BATCH = 1024


def collect_outputs(forward: Forward, objective: Objective, reader: SplitReader, input_keys: Sequence[str],
                    max_rows: int | None) -> Collected:
    """Outputs of `forward` over `reader`'s split (first `max_rows` jets), with what the objective's metrics need."""
    meta_keys = ["label", "weight", *([objective.target_key] if objective.target_key else [])]
    return collect(forward, reader, input_keys, meta_keys, EVAL_BATCH, max_rows=max_rows)


def headline(metrics: Mapping[str, Any], metric: str, objective: Objective, reader: SplitReader) -> float:
    """metrics[metric] as a float; ConfigError (quantization.metric) when the task has no such metric, InputError
    when it is undefined on the split."""
    if metric not in metrics:
        raise ConfigError("quantization.metric", f"'{metric}' is not a metric of a {objective.task} model; "
                                                 f"known: {sorted(metrics)}")
    value = metrics[metric]
    if value is None:
        raise InputError(f"metric '{metric}' is undefined on the {reader.split} split (a class is missing)",
                         file=", ".join(map(str, reader.paths)))
    return float(value)
