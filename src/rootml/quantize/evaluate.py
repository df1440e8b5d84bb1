"""The task's metrics of any forward function (torch, fake-quantized torch, onnxruntime) over one split."""

from __future__ import annotations

from collections.abc import Sequence

from rootml.training.data import SplitReader
from rootml.training.inference import Collected, Forward, collect
from rootml.training.objectives import Objective

EVAL_BATCH = 1024


def collect_outputs(forward: Forward, objective: Objective, reader: SplitReader, input_keys: Sequence[str],
                    max_rows: int | None) -> Collected:
    """Outputs of `forward` over `reader`'s split (first `max_rows` jets), with what the objective's metrics need."""
    meta_keys = ["label", "weight", *([objective.target_key] if objective.target_key else [])]
    return collect(forward, reader, input_keys, meta_keys, EVAL_BATCH, max_rows=max_rows)
