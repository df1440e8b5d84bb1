"""Hyper-parameter specs: a default, a JSON schema and a description each, with validation of given values.

Torch-free (as is rootml.models.specs), so that planning the workflow never imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema

from rootml.errors import ConfigError

# the options of the `activation` hyper-parameter -> the torch.nn module class each names
ACTIVATION_MODULES: dict[str, str] = {
    "relu": "ReLU",
    "gelu": "GELU",
    "elu": "ELU",
    "silu": "SiLU",
    "tanh": "Tanh",
    "leaky_relu": "LeakyReLU",
}


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


def activation_param(default: str = "relu") -> HParam:
    """The shared `activation` hyper-parameter."""
    return choice(default, list(ACTIVATION_MODULES), "non-linearity between layers")


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
