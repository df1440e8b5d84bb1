"""The pruning settings of every pruned model (the config's `pruning` block)."""

from __future__ import annotations

from dataclasses import dataclass

from rootml.settings import Settings


@dataclass(frozen=True)
class PruningSettings(Settings):
    """Methods, sparsity schedules, fine-tuning (L1, early stopping, rewinding), ONNX checks and latency timing
    (config/schema.yaml documents each key)."""

    BLOCK = "pruning"

    models: list[str] | None
    methods: list[str]
    sparsities: list[float]
    structured_sparsities: list[float]
    structured_norm: int
    module_types: list[str]
    fine_tune_epochs: int
    fine_tune_patience: int | None
    fine_tune_lr: float | None
    l1: float
    rewind: str
    metric: str | None
    eval_split: str
    max_eval_jets: int | None
    onnx_atol: float
    onnx_opset: int | None
    latency_batches: list[int]
    latency_warmup: int
    latency_repeats: int
    latency_budget_s: float
    num_threads: int | None

