"""Small pieces shared by the model families: hyper-parameter specs, activations, MLP stacks, masked pooling."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema
import torch
from torch import nn

from rootml.errors import ConfigError


@dataclass(frozen=True)
class HParam:
    """One hyper-parameter: its default and the JSON schema its value must satisfy."""

    default: Any
    schema: Mapping[str, Any]
    doc: str


def integer(default: int, doc: str, minimum: int = 1) -> HParam:
    """An integer hyper-parameter with a lower bound."""
    return HParam(default, {"type": "integer", "minimum": minimum}, doc)


def number(
    default: float, doc: str, minimum: float = 0.0, maximum: float | None = None, positive: bool = False,
) -> HParam:
    """A real hyper-parameter in [minimum, maximum] (in (0, maximum] when `positive`)."""
    schema: dict[str, Any] = {"type": "number", "exclusiveMinimum" if positive else "minimum": minimum}
    if maximum is not None:
        schema["maximum"] = maximum
    return HParam(default, schema, doc)


def boolean(default: bool, doc: str) -> HParam:
    """A true/false hyper-parameter."""
    return HParam(default, {"type": "boolean"}, doc)


def choice(default: str, options: Sequence[str], doc: str) -> HParam:
    """A string hyper-parameter taking one of `options`."""
    return HParam(default, {"type": "string", "enum": list(options)}, doc)


def int_list(default: list[int], doc: str, min_items: int = 1) -> HParam:
    """A list of positive integers (layer widths)."""
    return HParam(default, {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": min_items}, doc)


def int_lists(default: list[list[int]], doc: str) -> HParam:
    """A non-empty list of non-empty lists of positive integers (widths of the layers of each block)."""
    inner = {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1}
    return HParam(default, {"type": "array", "items": inner, "minItems": 1}, doc)


def hparams_schema(hparams: Mapping[str, HParam]) -> dict[str, Any]:
    """JSON schema of a family's hyper-parameter mapping (every key optional, no unknown keys)."""
    properties = {
        name: {**spec.schema, "default": spec.default, "description": spec.doc} for name, spec in hparams.items()
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def resolve_hparams(hparams: Mapping[str, HParam], given: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Defaults overlaid with `given`, validated; ConfigError names `key`.<hyper-parameter> at fault."""
    unknown = sorted(set(given) - set(hparams))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}", f"unknown hyper-parameter; known: {sorted(hparams)}")
    for name, value in given.items():
        try:
            jsonschema.validate(value, hparams[name].schema)
        except jsonschema.ValidationError as error:
            raise ConfigError(f"{key}.{name}", f"got {value!r}: {error.message}") from None
    return {name: given.get(name, spec.default) for name, spec in hparams.items()}


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": nn.LeakyReLU,
}


def activation_param(default: str = "relu") -> HParam:
    """The shared `activation` hyper-parameter."""
    return choice(default, list(ACTIVATIONS), "non-linearity between layers")


def dense_stack(
    in_dim: int, widths: Sequence[int], activation: str, dropout: float = 0.0, batchnorm: bool = False,
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout] for each width (acts on the last axis)."""
    layers: list[nn.Module] = []
    for width in widths:
        layers.append(nn.Linear(in_dim, width))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        in_dim = width
    return nn.Sequential(*layers)


def classifier_head(
    in_dim: int, widths: Sequence[int], n_outputs: int, activation: str, dropout: float, batchnorm: bool = False,
) -> nn.Sequential:
    """Dense hidden layers then a linear layer to `n_outputs` (logits or regression values)."""
    hidden = dense_stack(in_dim, widths, activation, dropout, batchnorm)
    return nn.Sequential(*hidden, nn.Linear(widths[-1] if widths else in_dim, n_outputs))


def masked_sum(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Sum over particles of x (B, C, N) keeping only real ones (mask (B, 1, N)) -> (B, C)."""
    return (x * mask).sum(dim=-1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the real particles of x (B, C, N) -> (B, C); empty jets give 0."""
    return masked_sum(x, mask) / mask.sum(dim=-1).clamp(min=1.0)


@dataclass(frozen=True)
class BuildSpec:
    """What a family's builder gets: the input size, outputs, validated hyper-parameters, seed, config key."""

    dim: int | tuple[int, ...]
    n_outputs: int
    hp: Mapping[str, Any]
    seed: int
    key: str

    def error(self, name: str, message: str) -> ConfigError:
        """A ConfigError for hyper-parameter `name` of this model, with its full config key."""
        return ConfigError(f"{self.key}.{name}", message)


@dataclass(frozen=True)
class ModelFamily:
    """A model family: its hyper-parameters, the input that sizes it, and its builder.

    `input_of(hparams)` names the input whose size `BuildSpec.dim` carries: an int for "highlevel" and
    "features", (channels, H, W) for "image". Torch models are built with torch's RNG seeded by `seed`.
    """

    name: str
    hparams: Mapping[str, HParam]
    input_of: Callable[[Mapping[str, Any]], str]
    build: Callable[[BuildSpec], Any]

    def __call__(
        self, input_dims: Mapping[str, int | tuple[int, ...]], n_outputs: int, *, seed: int = 0,
        config_key: str | None = None, **hparams: Any,
    ) -> Any:
        """Validate the hyper-parameters and inputs, then build the model deterministically from `seed`."""
        key = config_key or self.name
        resolved = resolve_hparams(self.hparams, hparams, key)
        input_key = self.input_of(resolved)
        if input_key not in input_dims:
            raise ConfigError(key, f"model family '{self.name}' needs input '{input_key}', got {sorted(input_dims)}")
        dim = input_dims[input_key]
        expected_rank = 3 if input_key == "image" else 0
        if (len(dim) if isinstance(dim, Sequence) else 0) != expected_rank:
            shape = "(channels, H, W)" if expected_rank else "an int"
            raise ConfigError(key, f"input '{input_key}' size must be {shape}, got {dim!r}")
        if n_outputs < 1:
            raise ConfigError(key, f"n_outputs must be >= 1, got {n_outputs}")
        spec = BuildSpec(tuple(dim) if expected_rank else int(dim), n_outputs, resolved, seed, key)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.build(spec)
