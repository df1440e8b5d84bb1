"""Iterative global magnitude pruning (torch.nn.utils.prune) with fine-tuning between the steps, and the pieces of
the hls4ml recipe (Duarte et al., arXiv:1804.06913) used while fine-tuning: an L1 penalty on the weights and the
rewinding of the surviving weights."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn.utils import prune

from rootml.errors import ConfigError

# Module types whose `weight` can be pruned, by the names the config uses.
MODULE_TYPES: dict[str, type[nn.Module]] = {"linear": nn.Linear, "conv1d": nn.Conv1d, "conv2d": nn.Conv2d}


@dataclass(frozen=True)
class PruningStep:
    """One row of the metric-vs-sparsity table (target 0 is the unpruned model) of a pruning method."""

    method: str
    target_sparsity: float
    sparsity: float
    metric: float
    n_parameters: int
    n_nonzero: int

    def as_dict(self) -> dict[str, float | int]:
        """The row as a plain dict (for CSV / JSON)."""
        return asdict(self)


def module_classes(names: Sequence[str], key: str = "pruning.module_types") -> tuple[type[nn.Module], ...]:
    """The nn.Module classes named by `names` (linear, conv1d, conv2d); ConfigError names `key`."""
    unknown = sorted(set(names) - set(MODULE_TYPES))
    if unknown or not names:
        raise ConfigError(key, f"expected a non-empty list of {sorted(MODULE_TYPES)}, got {list(names)}")
    return tuple(MODULE_TYPES[name] for name in names)


def prunable_weights(model: nn.Module, types: tuple[type[nn.Module], ...]) -> list[tuple[nn.Module, str]]:
    """(module, "weight") for every module of `types` in `model`, in registration order."""
    return [(module, "weight") for module in model.modules() if isinstance(module, types)]


def effective_tensor(module: nn.Module, name: str) -> torch.Tensor:
    """The parameter `name` of `module` as the forward pass uses it: weight_orig * weight_mask while pruning."""
    # torch refreshes the masked attribute only in the next forward pass: recompute it after optimiser steps
    if prune.is_pruned(module) and hasattr(module, f"{name}_orig"):
        return (getattr(module, f"{name}_orig") * getattr(module, f"{name}_mask")).detach()
    return getattr(module, name).detach()


def weight_sparsity(model: nn.Module, types: tuple[type[nn.Module], ...]) -> float:
    """Fraction of exactly-zero entries over the weights of the modules of `types` (measured, not the masks)."""
    weights = [effective_tensor(module, name) for module, name in prunable_weights(model, types)]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / total if total else 0.0


def count_parameters(model: nn.Module) -> tuple[int, int]:
    """(all parameters, non-zero parameters) of `model`, counting pruned weights as their masked values."""
    # named_parameters holds weight_orig (unmasked) while pruning is active: count the masked tensors instead
    tensors = [effective_tensor(module, name.removesuffix("_orig"))
               for module in model.modules() for name, _ in module.named_parameters(recurse=False)]
    return sum(t.numel() for t in tensors), sum(int((t != 0).sum()) for t in tensors)


def validated_schedule(sparsities: Sequence[float], key: str = "pruning.sparsities") -> list[float]:
    """The schedule as floats, checked to be strictly increasing within (0, 1); ConfigError names `key`."""
    schedule = [float(s) for s in sparsities]
    if not schedule or any(not 0.0 < s < 1.0 for s in schedule) or schedule != sorted(set(schedule)):
        raise ConfigError(key, f"expected strictly increasing values in (0, 1), got {schedule}")
    return schedule


def make_permanent(model: nn.Module) -> nn.Module:
    """Remove every pruning mask of `model` in place (prune.remove: masked entries stay zero); returns `model`."""
    for module in model.modules():
        for name in [name for name, _ in module.named_buffers(recurse=False) if name.endswith("_mask")]:
            prune.remove(module, name.removesuffix("_mask"))
    return model


def l1_penalty(strength: float, types: tuple[type[nn.Module], ...]) -> Callable[[nn.Module], torch.Tensor]:
    """penalty(model) = strength * sum |w| over the (masked) weights of the modules of `types`: hls4ml's L1 kernel
    regulariser (Keras' l1, summed, not averaged), added to the training loss while fine-tuning."""

    def penalty(model: nn.Module) -> torch.Tensor:
        """The L1 term, differentiable through the weights (weight_orig * mask while pruning)."""
        terms = [(m.weight_orig * m.weight_mask if hasattr(m, "weight_orig") else m.weight).abs().sum()
                 for m in model.modules() if isinstance(m, types)]
        return strength * torch.stack(terms).sum()

    return penalty


def rewind(model: nn.Module, state: Mapping[str, torch.Tensor]) -> None:
    """Reset every parameter and buffer of `model` to its value in `state` (a state_dict of the model before pruning),
    keeping the masks: the surviving weights get their trained values back, the pruned ones stay zero."""
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not key.endswith("_mask"):
                value.copy_(state[key.removesuffix("_orig")])


def _step(model: nn.Module, target: float, types: tuple[type[nn.Module], ...]) -> None:
    """Prune globally by L1 magnitude until `target` of the weights of `types` are masked."""
    parameters = prunable_weights(model, types)
    total = sum(getattr(module, name).numel() for module, name in parameters)
    masked = sum(int((getattr(module, f"{name}_mask") == 0).sum()) for module, name in parameters
                 if prune.is_pruned(module))
    # an absolute count of the still-unmasked weights to remove, so the cumulative target is hit exactly
    prune.global_unstructured(parameters, pruning_method=prune.L1Unstructured,
                              amount=max(round(target * total) - masked, 0))


def iterative_prune(
    model: nn.Module, sparsities: Sequence[float], evaluate: Callable[[nn.Module], float],
    fine_tune: Callable[[nn.Module], None] | None = None, *, module_types: Sequence[str],
) -> tuple[list[PruningStep], nn.Module]:
    """Prune `model` in place to each target sparsity in turn, fine-tuning after each step, then evaluate.

    The first row is the unpruned model. Masks stay active (pruned weights stay zero) during fine_tune
    and are made permanent (prune.remove) at the end; the returned model is the last step's.
    """
    schedule = validated_schedule(sparsities)
    types = module_classes(module_types)
    if not prunable_weights(model, types):
        raise ConfigError("pruning.module_types", f"{type(model).__name__} has no modules of {list(module_types)}")

    def row(target: float) -> PruningStep:
        """Measure sparsity, metric and parameter counts of the model as it is now."""
        n_parameters, n_nonzero = count_parameters(model)
        return PruningStep("magnitude", target, weight_sparsity(model, types), float(evaluate(model)), n_parameters,
                           n_nonzero)

    table = [row(0.0)]
    for target in schedule:
        _step(model, target, types)
        if fine_tune is not None:
            fine_tune(model)
        table.append(row(target))
    return table, make_permanent(model)

