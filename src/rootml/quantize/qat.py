"""Weights and layer outputs fake-quantized to b bits with torch.ao's QAT modules and FakeQuantize, calibrated on
training jets (post-training quantization), then fine-tuned with the trainer (quantization-aware training).

A BatchNorm right after a Linear / Conv in an nn.Sequential is first folded into that layer with its running
statistics, as firmware and onnxruntime deploy it (hls4ml folds it too): quantizing the layer's output before an
unfolded BatchNorm would spend the levels on a range the BatchNorm then rescales. Each Linear / Conv1d / Conv2d
(exactly those types, so a MultiheadAttention's projections stay as they are) becomes torch.ao's QAT module of its
type: its weight is fake-quantized per output channel, symmetric, to b bits; its output
per tensor, affine (a zero point), to b bits, before any normalisation or activation, like the accumulator and
activation types of an FPGA firmware (hls4ml). The model's inputs stay float, as int8_float_inputs keeps them in the
onnxruntime model. torch.ao, not brevitas: it ships with torch (brevitas 0.13.4 would also pin setuptools < 81
below this environment's), and its QAT modules replace a layer of any family in place, whatever the model around it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
import torch.ao.nn.qat as nnqat
from torch import nn
from torch.ao.quantization import (
    FakeQuantize,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    QConfig,
    disable_observer,
    enable_observer,
)
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from rootml.errors import ConfigError
from rootml.quantize.evaluate import collect_outputs
from rootml.seeds import derive_seed
from rootml.training.data import SplitReader
from rootml.training.inference import torch_forward
from rootml.training.load import TrainedModel
from rootml.training.settings import TrainingSettings
from rootml.training.trainer import FitSetup, fit

log = logging.getLogger(__name__)

# config name -> (float layer type, its torch.ao QAT module)
QAT_MODULES: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "linear": (nn.Linear, nnqat.Linear),
    "conv1d": (nn.Conv1d, nnqat.Conv1d),
    "conv2d": (nn.Conv2d, nnqat.Conv2d),
}
# (layer, the BatchNorm after it) -> torch's eval-mode fusion of the two
FOLDABLE: dict[tuple[type[nn.Module], type[nn.Module]], Callable[[Any, Any], nn.Module]] = {
    (nn.Linear, nn.BatchNorm1d): fuse_linear_bn_eval,
    (nn.Conv1d, nn.BatchNorm1d): fuse_conv_bn_eval,
    (nn.Conv2d, nn.BatchNorm2d): fuse_conv_bn_eval,
}
QAT_LR_FACTOR = 0.1  # qat_lr null: this fraction of the model's training lr (fine-tuning a converged model)
MIN_BITS = 2


def _dtype(bits: int, signed: bool) -> torch.dtype:
    """The torch quantized dtype whose range holds `bits` bits (FakeQuantize checks quant_min/max against it)."""
    if bits <= 8:
        return torch.qint8 if signed else torch.quint8
    return torch.qint32


def qconfig(bits: int) -> QConfig:
    """Fake quantization to `bits` bits: weights symmetric per output channel, outputs affine per tensor, both with
    moving-average min/max observers (torch's QAT defaults, at other ranges)."""
    if bits < MIN_BITS:
        raise ValueError(f"cannot quantize to {bits} bits, need at least {MIN_BITS}")
    activation = FakeQuantize.with_args(observer=MovingAverageMinMaxObserver, quant_min=0, quant_max=2 ** bits - 1,
                                        dtype=_dtype(bits, signed=False), qscheme=torch.per_tensor_affine)
    weight = FakeQuantize.with_args(observer=MovingAveragePerChannelMinMaxObserver, quant_min=-(2 ** (bits - 1)),
                                    quant_max=2 ** (bits - 1) - 1, dtype=_dtype(bits, signed=True),
                                    qscheme=torch.per_channel_symmetric, ch_axis=0)
    return QConfig(activation=activation, weight=weight)


def _quantize_output(module: nn.Module, inputs: Any, output: torch.Tensor) -> torch.Tensor:
    """Forward hook: the layer's output through its activation fake quantizer."""
    return module.activation_post_process(output)


def fold_batchnorm(model: nn.Module) -> int:
    """Fold, in place, each BatchNorm (with running statistics) that directly follows a Linear / Conv inside an
    nn.Sequential into that layer; the BatchNorm becomes an Identity. The number folded."""
    count = 0
    for sequential in [module for module in model.modules() if isinstance(module, nn.Sequential)]:
        names = list(sequential._modules)
        for first, second in zip(names, names[1:]):
            layer, norm = sequential._modules[first], sequential._modules[second]
            fuse = FOLDABLE.get((type(layer), type(norm)))
            if fuse is None or norm.running_mean is None:
                continue
            sequential._modules[first] = fuse(layer.eval(), norm.eval())
            sequential._modules[second] = nn.Identity()
            count += 1
    return count


def fake_quantized(model: nn.Module, bits: int, module_types: Sequence[str] = tuple(QAT_MODULES)) -> nn.Module:
    """A copy of `model`, BatchNorms folded, whose layers of `module_types` have weights and outputs fake-quantized
    to `bits` bits (observers on: calibrate before use); the model's other attributes (input_keys, ...) are kept."""
    config = qconfig(bits)
    quantized = copy.deepcopy(model).eval()
    fold_batchnorm(quantized)
    swaps = {QAT_MODULES[name][0]: QAT_MODULES[name][1] for name in module_types}
    count = 0
    for parent in list(quantized.modules()):
        for name, child in list(parent.named_children()):
            qat_type = swaps.get(type(child))
            if qat_type is None:
                continue
            child.qconfig = config
            layer = qat_type.from_float(child)
            layer.activation_post_process = config.activation()
            layer.register_forward_hook(_quantize_output)
            setattr(parent, name, layer)
            count += 1
    if count == 0:
        raise ConfigError("quantization.module_types", f"the model has no layer of the types {list(module_types)}")
    return quantized.train(model.training)


def set_observers(model: nn.Module, enabled: bool) -> None:
    """Let the fake quantizers of `model` update their ranges from what passes through them, or freeze them."""
    model.apply(enable_observer if enabled else disable_observer)


def calibrate(model: nn.Module, trained: TrainedModel, reader: SplitReader, jets: int) -> None:
    """Set the quantization ranges of `model` from the first `jets` jets of `reader` (eval mode, one batch when the
    jets fit in one: the moving averages start at the first batch's min/max), then freeze them."""
    model.eval()
    set_observers(model, True)
    forward = torch_forward(model, trained.objective, trained.device)
    for batch in reader.batches(list(trained.input_keys), jets, max_rows=jets):
        forward(batch)
    set_observers(model, False)


@dataclass(frozen=True)
class BitWidth:
    """The metrics of a model fake-quantized to `bits` bits, calibrated only (ptq) and fine-tuned (qat; None without
    QAT epochs)."""

    bits: int
    ptq: dict[str, Any]
    qat: dict[str, Any] | None


def evaluate_model(model: nn.Module, trained: TrainedModel, reader: SplitReader,
                   max_rows: int | None) -> dict[str, Any]:
    """All metrics of the objective for `model` on `reader`'s split (first `max_rows` jets)."""
    model.eval()
    collected = collect_outputs(torch_forward(model, trained.objective, trained.device), trained.objective, reader,
                                trained.input_keys, max_rows)
    return trained.objective.metrics(collected.outputs, collected.meta)


def qat_settings(trained: TrainedModel, epochs: int, lr: float | None) -> TrainingSettings:
    """The model's training settings for `epochs` of fine-tuning at `lr` (None: QAT_LR_FACTOR times its lr), no
    warm-up."""
    training = trained.config["training"]
    return replace(TrainingSettings(**training), epochs=epochs, warmup_epochs=0,
                   lr=lr or QAT_LR_FACTOR * training["lr"])


def fine_tune(model: nn.Module, trained: TrainedModel, readers: Mapping[str, SplitReader], settings: TrainingSettings,
              bits: int, checkpoint: Path) -> None:
    """Quantization-aware training of `model` in place: the trainer with the ranges following the weights and
    activations (moving averages; they also see the validation passes, whose labels they never use), then frozen."""
    name = trained.config["name"]
    set_observers(model, True)
    setup = FitSetup(trained.objective, settings, readers["train"], readers["val"], trained.device,
                     derive_seed(trained.config["seed"], "qat", bits), checkpoint, f"{name}/qat/{bits}",
                     f"{name} QAT {bits} bits", progress=False)
    fit(model, setup)
    set_observers(model, False)


def sweep_bits(trained: TrainedModel, readers: Mapping[str, SplitReader], bits: Sequence[int],
               module_types: Sequence[str], calibration_jets: int, eval_split: str, max_eval_jets: int | None,
               qat: TrainingSettings | None, scratch: Path,
               on_step: Callable[[BitWidth], None] | None = None) -> list[BitWidth]:
    """PTQ and (when `qat` is given) QAT metrics of the trained model at each bit width, in the order given."""
    results = []
    for width in bits:
        model = fake_quantized(trained.model, width, module_types).to(trained.device.device)
        calibrate(model, trained, readers["train"], calibration_jets)
        ptq = evaluate_model(model, trained, readers[eval_split], max_eval_jets)
        tuned = None
        if qat is not None:
            fine_tune(model, trained, readers, qat, width, scratch / f"qat_{width}.pt")
            tuned = evaluate_model(model, trained, readers[eval_split], max_eval_jets)
        results.append(BitWidth(width, ptq, tuned))
        if on_step is not None:
            on_step(results[-1])
    return results
