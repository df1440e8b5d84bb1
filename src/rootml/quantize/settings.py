"""The quantization settings of every quantized model (the config's `quantization` block)."""

from __future__ import annotations

from dataclasses import dataclass

from rootml.settings import Settings


@dataclass(frozen=True)
class QuantizationSettings(Settings):
    """Bit widths, QAT fine-tuning, onnxruntime int8 options and latency timing (config/schema.yaml documents each
    key)."""

    BLOCK = "quantization"

    models: list[str] | None
    bits: list[int]
    module_types: list[str]
    qat_epochs: int
    qat_lr: float | None
    calibration_jets: int
    metric: str | None
    eval_split: str
    max_eval_jets: int | None
    onnx_atol: float
    onnx_opset: int | None
    int8_format: str
    int8_per_channel: bool
    int8_reduce_range: bool
    int8_activation_type: str
    int8_calibration: str
    int8_op_types: list[str] | None
    int8_preprocess: bool
    int8_float_inputs: bool
    onnx_optimization: str
    latency_batches: list[int]
    latency_warmup: int
    latency_repeats: int
    latency_budget_s: float
    num_threads: int | None

