"""Structured pruning: whole neurons (Linear output rows) and channels (Conv output channels) removed by the norm of
their weights, then the surgery that builds the physically smaller dense model.

Which layers can lose units is read from the model's torch.fx graph, so it is generic for sequential Linear/Conv stacks
(MLP, dense autoencoder, CNN, the dense parts of other families): a layer qualifies when its output reaches exactly one
next Linear/Conv through element-wise operations that map 0 to 0 (activations, dropout, pooling), affine BatchNorms
(sliced with it) and at most one Flatten (a channel becomes a block of the next Linear's inputs). Every other layer
keeps its units, with the reason recorded (its outputs are the model's, a residual sum, a transpose, ...).

While pruning, a removed unit is held at exactly zero by torch.nn.utils.prune masks on its weight row, its bias and the
gamma and beta of its BatchNorm: the masked model then computes what the smaller model computes, in training and in
evaluation, so fine-tuning the masked model fine-tunes the smaller one.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.utils import prune

from rootml.errors import ConfigError
from rootml.pruning.prune import (
    PruningStep,
    count_parameters,
    effective_tensor,
    make_permanent,
    module_classes,
    validated_schedule,
)

LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# modules that act on each unit separately and map zeros to zeros, in training and in evaluation mode
ZERO_PRESERVING = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.Hardtanh,
    nn.Hardswish, nn.Softsign, nn.Tanhshrink, nn.Identity, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
    nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
)
ZERO_PRESERVING_FUNCTIONS = {torch.relu, torch.tanh, F.relu, F.gelu, F.silu, F.elu, F.leaky_relu, F.dropout}
ZERO_PRESERVING_METHODS = {"relu", "tanh"}
UnitIndex = Mapping[str, Sequence[int]]


@dataclass(frozen=True)
class UnitLink:
    """A layer whose output units can be removed, the BatchNorms that follow it and the layer that reads its units.

    block: inputs of the consumer per unit (1, or the positions of a channel flattened into a Linear).
    """

    layer: str
    norms: tuple[str, ...]
    consumer: str
    block: int


def n_units(layer: nn.Module) -> int:
    """Output units of a Linear (features) or Conv (channels)."""
    return layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels


def n_inputs(layer: nn.Module) -> int:
    """Inputs of a Linear (features) or Conv (channels)."""
    return layer.in_features if isinstance(layer, nn.Linear) else layer.in_channels


def _only_first_argument(node: fx.Node, source: fx.Node) -> bool:
    """Whether `node` reads `source` as its first argument and no other graph value."""
    others = [*node.args[1:], *node.kwargs.values()]
    return bool(node.args) and node.args[0] is source and not any(isinstance(a, fx.Node) for a in others)


def _follow(model: nn.Module, node: fx.Node, calls: Counter[str]) -> UnitLink | str:
    """The link from layer `node` to the next layer reading its units, or why its units cannot be removed."""
    name = str(node.target)
    layer = model.get_submodule(name)
    if calls[name] > 1:
        return "called more than once in forward"
    if getattr(layer, "groups", 1) != 1:
        return "grouped convolution"
    units, norms, flattened, current = n_units(layer), [], False, node
    while True:
        users = list(current.users)
        if len(users) != 1:
            return f"its output feeds {len(users)} operations ({', '.join(str(u.target) for u in users)})"
        user = users[0]
        if user.op == "output":
            return "its outputs are the model's outputs"
        if not _only_first_argument(user, current):
            return f"'{user.target}' combines its output with other values"
        if user.op == "call_module":
            module = model.get_submodule(str(user.target))
            if isinstance(module, LAYERS):
                return _link(name, tuple(norms), str(user.target), module, units, flattened, calls)
            if isinstance(module, NORMS):
                if not module.affine or module.num_features != units:
                    return f"BatchNorm '{user.target}' is not affine over its {units} units"
                norms.append(str(user.target))
            elif isinstance(module, nn.Flatten):
                if flattened or module.start_dim != 1 or module.end_dim != -1:
                    return f"Flatten '{user.target}' does not flatten everything after the batch axis"
                flattened = True
            elif not isinstance(module, ZERO_PRESERVING):
                return f"'{user.target}' ({type(module).__name__}) follows it"
        elif not ((user.op == "call_function" and user.target in ZERO_PRESERVING_FUNCTIONS)
                  or (user.op == "call_method" and user.target in ZERO_PRESERVING_METHODS)):
            return f"'{getattr(user.target, '__name__', user.target)}' ({user.op}) follows it"
        current = user


def _link(name: str, norms: tuple[str, ...], consumer_name: str, consumer: nn.Module, units: int, flattened: bool,
          calls: Counter[str]) -> UnitLink | str:
    """The link to `consumer`, when it reads the units exactly (a flattened channel: a block of Linear inputs)."""
    if calls[consumer_name] > 1 or getattr(consumer, "groups", 1) != 1:
        return f"the next layer '{consumer_name}' is shared or grouped"
    inputs = n_inputs(consumer)
    block = inputs // units if flattened and isinstance(consumer, nn.Linear) else 1
    if inputs != units * block:
        return f"the next layer '{consumer_name}' reads {inputs} inputs from {units} units"
    return UnitLink(name, norms, consumer_name, block)


def unit_links(model: nn.Module, types: tuple[type[nn.Module], ...] = LAYERS) -> tuple[list[UnitLink], dict[str, str]]:
    """The layers of `types` whose units can be removed (forward order), and why each other one of them cannot."""
    try:
        graph = fx.symbolic_trace(model).graph
    except Exception as error:  # tracing fails in many ways (control flow on values, unsupported calls)
        return [], {"(model)": f"torch.fx cannot trace {type(model).__name__}: {str(error).splitlines()[0]}"}
    layer_nodes = [node for node in graph.nodes if node.op == "call_module"
                   and isinstance(model.get_submodule(str(node.target)), LAYERS)]
    calls = Counter(str(node.target) for node in layer_nodes)
    links, reasons = [], {}
    for node in layer_nodes:
        if not isinstance(model.get_submodule(str(node.target)), types) or str(node.target) in reasons:
            continue
        found = _follow(model, node, calls)
        if isinstance(found, UnitLink):
            links.append(found)
        else:
            reasons[str(node.target)] = found
    return links, reasons


def unit_parameters(model: nn.Module, link: UnitLink) -> list[tuple[nn.Module, str]]:
    """(module, parameter name) of everything that belongs to the units of `link`: weight and bias, BatchNorm's too."""
    modules = [model.get_submodule(link.layer), *(model.get_submodule(name) for name in link.norms)]
    return [(module, name) for module in modules for name in ("weight", "bias") if getattr(module, name) is not None]


def _refresh(module: nn.Module, name: str) -> None:
    """Set the masked tensor `name` of `module` to weight_orig * mask now (torch does so in the next forward)."""
    with torch.no_grad():
        setattr(module, name, getattr(module, f"{name}_orig") * getattr(module, f"{name}_mask"))


def _set_units(model: nn.Module, link: UnitLink, alive: torch.Tensor) -> None:
    """Mask every parameter of the units of `link` to the units `alive` (masks attached on first use)."""
    for module, name in unit_parameters(model, link):
        if not hasattr(module, f"{name}_mask"):
            prune.custom_from_mask(module, name, torch.ones_like(getattr(module, name)))
        mask = getattr(module, f"{name}_mask")
        mask.copy_(alive.to(mask).view(-1, *[1] * (mask.dim() - 1)).expand_as(mask))
        _refresh(module, name)


def alive_units(model: nn.Module, link: UnitLink) -> torch.Tensor:
    """Bool per output unit of the layer of `link`: True unless its weight row is masked."""
    layer = model.get_submodule(link.layer)
    mask = getattr(layer, "weight_mask", None)
    if mask is None:
        return torch.ones(n_units(layer), dtype=torch.bool, device=layer.weight.device)
    return mask.flatten(1).any(dim=1)


def remove_units(model: nn.Module, links: Sequence[UnitLink], fraction: float, norm: float) -> None:
    """Mask, in every layer of `links`, its lowest-L`norm` units (weight rows) until `fraction` of them are masked.

    Each layer keeps at least one unit. Hand-written rather than torch.nn.utils.prune.ln_structured: the same unit
    must also be masked in the bias and the BatchNorm that follow, and the count is cumulative over the steps.
    """
    for link in links:
        layer = model.get_submodule(link.layer)
        alive = alive_units(model, link)
        target = min(round(fraction * len(alive)), len(alive) - 1)
        extra = target - int((~alive).sum())
        if extra > 0:
            norms = torch.linalg.vector_norm(effective_tensor(layer, "weight").flatten(1), ord=norm, dim=1)
            norms[~alive] = torch.inf  # already removed
            alive = alive.clone()
            alive[torch.argsort(norms, stable=True)[:extra]] = False
        _set_units(model, link, alive)


def kept_units(model: nn.Module, links: Sequence[UnitLink]) -> dict[str, list[int]]:
    """Layer name -> the indices of its units still alive."""
    return {link.layer: torch.nonzero(alive_units(model, link)).flatten().tolist() for link in links}


def _replace(model: nn.Module, name: str, module: nn.Module) -> None:
    """Put `module` in place of the submodule called `name`."""
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def _sliced_layer(layer: nn.Module, rows: torch.Tensor | None, columns: torch.Tensor | None) -> nn.Module:
    """A new Linear/Conv with only the output units `rows` and the inputs `columns` of `layer` (None: all)."""
    weight = layer.weight.detach()
    bias = None if layer.bias is None else layer.bias.detach()
    if rows is not None:
        weight, bias = weight[rows], None if bias is None else bias[rows]
    if columns is not None:
        weight = weight[:, columns]
    if isinstance(layer, nn.Linear):
        new = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    else:
        new = type(layer)(weight.shape[1], weight.shape[0], layer.kernel_size, stride=layer.stride,
                          padding=layer.padding, dilation=layer.dilation, bias=bias is not None,
                          padding_mode=layer.padding_mode)
    new = new.to(weight)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new.train(layer.training)


def _sliced_norm(norm: nn.Module, rows: torch.Tensor) -> nn.Module:
    """A new BatchNorm of the same kind with only the features `rows` (affine parameters and running statistics)."""
    new = type(norm)(len(rows), eps=norm.eps, momentum=norm.momentum, affine=norm.affine,
                     track_running_stats=norm.track_running_stats).to(norm.weight)
    with torch.no_grad():
        new.weight.copy_(norm.weight[rows])
        new.bias.copy_(norm.bias[rows])
        if norm.track_running_stats:
            new.running_mean.copy_(norm.running_mean[rows])
            new.running_var.copy_(norm.running_var[rows])
            new.num_batches_tracked.copy_(norm.num_batches_tracked)
    return new.train(norm.training)


def shrink_model(model: nn.Module, kept: UnitIndex) -> nn.Module:
    """A copy of `model` (masks made permanent) in which each layer named in `kept` has only those output units:
    smaller Linear/Conv and BatchNorm modules, the next layer's input columns sliced to match.

    Outputs equal those of `model` when the removed units are masked (zero weight row, bias and BatchNorm affine).
    """
    for module in model.modules():  # the masked tensors of a training forward are no graph leaves: deepcopy refuses
        for name in [name for name, _ in module.named_buffers(recurse=False) if name.endswith("_mask")]:
            _refresh(module, name.removesuffix("_mask"))
    small = make_permanent(copy.deepcopy(model))
    links = {link.layer: link for link in unit_links(small)[0]}
    unknown = sorted(set(kept) - set(links))
    if unknown:
        raise ValueError(f"{type(model).__name__}: the units of layers {unknown} cannot be removed")
    rows: dict[str, torch.Tensor] = {}
    columns: dict[str, torch.Tensor] = {}
    for name, units in kept.items():
        link = links[name]
        index = torch.as_tensor(sorted(units), dtype=torch.long)
        if not len(index) or index.min() < 0 or index.max() >= n_units(small.get_submodule(name)):
            raise ValueError(f"layer '{name}': kept units {list(units)} out of range")
        rows[name] = index
        columns[link.consumer] = (index[:, None] * link.block + torch.arange(link.block)).flatten()
        for norm in link.norms:
            _replace(small, norm, _sliced_norm(small.get_submodule(norm), index))
    for name in sorted(set(rows) | set(columns)):
        _replace(small, name, _sliced_layer(small.get_submodule(name), rows.get(name), columns.get(name)))
    return small


def layer_weights(model: nn.Module, types: tuple[type[nn.Module], ...]) -> int:
    """Number of weights (not biases) of the modules of `types`."""
    return sum(module.weight.numel() for module in model.modules() if isinstance(module, types))


def iterative_structured_prune(
    model: nn.Module, fractions: Sequence[float], evaluate: Callable[[nn.Module], float],
    fine_tune: Callable[[nn.Module], None] | None = None, *, module_types: Sequence[str], norm: float = 1.0,
) -> tuple[list[PruningStep], nn.Module, dict[str, list[int]]]:
    """Remove `fractions` of the units of every removable layer in turn (lowest norm first), fine-tuning the masked
    `model` in place after each step; evaluate the smaller model built after each step.

    The first row is the unpruned model. Rows hold the fraction of units removed per layer as target, the fraction
    of Linear/Conv weights gone as sparsity and the smaller model's parameter counts. Returns the table, the last
    step's smaller model and its kept units per layer. ConfigError (pruning.methods) when no layer can lose units.
    """
    schedule = validated_schedule(fractions, "pruning.structured_sparsities")
    types = module_classes(module_types)
    links, reasons = unit_links(model, types)
    if not links:
        raise ConfigError("pruning.methods", f"structured pruning of {type(model).__name__}: no layer of "
                                             f"{list(module_types)} can lose units ({reasons})")
    dense_weights = layer_weights(model, types)

    def row(target: float, current: nn.Module) -> PruningStep:
        """Measure the (smaller) model as it is now."""
        n_parameters, n_nonzero = count_parameters(current)
        sparsity = 1.0 - layer_weights(current, types) / dense_weights
        return PruningStep("structured", target, sparsity, float(evaluate(current)), n_parameters, n_nonzero)

    table = [row(0.0, model)]
    small, kept = model, {}
    for fraction in schedule:
        remove_units(model, links, fraction, norm)
        if fine_tune is not None:
            fine_tune(model)
        kept = kept_units(model, links)
        small = shrink_model(model, kept)
        table.append(row(fraction, small))
    return table, small.eval(), kept
