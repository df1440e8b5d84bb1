"""The run config's schema (config/schema.yaml, config/models.schema.json): validation with every default filled in,
and the base of the typed settings of each config block, so that a default lives in the schema and nowhere else."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, ClassVar, Self

import jsonschema
import yaml
from jsonschema import Draft202012Validator, validators
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from rootml.errors import ConfigError, did_you_mean

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
SCHEMA_PATH = CONFIG_DIR / "schema.yaml"


def _fill_defaults(validator_class: type) -> type:
    """A validator class that also sets each missing property to a copy of its schema default (jsonschema's FAQ)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator: Any, properties: Mapping[str, Any], instance: Any,
                     schema: Mapping[str, Any]) -> Iterator[jsonschema.ValidationError]:
        """Fill the defaults of `properties` into the object `instance`, then validate them."""
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


_FillingValidator = _fill_defaults(Draft202012Validator)


@functools.cache
def _schema() -> tuple[dict[str, Any], Registry]:
    """The run schema (with its file URI as $id) and a registry that resolves models.schema.json next to it."""
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    schema["$id"] = SCHEMA_PATH.as_uri()
    models_path = CONFIG_DIR / "models.schema.json"
    models = json.loads(models_path.read_text())
    # without its own $schema, the referenced file is validated by the filling validator too (jsonschema switches
    # to the plain validator of a subschema's $schema dialect, and the models' defaults would stay unfilled)
    models.pop("$schema", None)
    registry = Registry().with_resources([
        (schema["$id"], DRAFT202012.create_resource(schema)),
        (models_path.as_uri(), DRAFT202012.create_resource(models)),
    ])
    return schema, registry


def _key(prefix: str, path: Any) -> str:
    """Dotted config key of a validation error's instance path under `prefix`."""
    return ".".join([*([prefix] if prefix else []), *(str(part) for part in path)])


def _config_error(error: jsonschema.ValidationError, prefix: str) -> ConfigError:
    """A ConfigError for the most relevant schema violation: key path, the problem, and for an unknown key the
    allowed keys and the nearest one."""
    key = _key(prefix, error.absolute_path)
    if "propertyNames" in error.absolute_schema_path:  # the error is about a key of the object, not its value
        return ConfigError(_key(key, [error.instance]), f"not an allowed name: {error.message}")
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(name for name in error.instance if name not in allowed)
        if unknown:
            return ConfigError(_key(key, [unknown[0]]),
                               f"unknown key; allowed keys: {allowed}{did_you_mean(unknown[0], allowed)}")
    return ConfigError(key or "(top level)", error.message)


def _validate(instance: Any, schema: Mapping[str, Any], prefix: str) -> None:
    """Validate `instance` in place (defaults filled in); ConfigError with the key path under `prefix`."""
    _, registry = _schema()
    error = jsonschema.exceptions.best_match(_FillingValidator(schema, registry=registry).iter_errors(instance))
    if error is not None:
        raise _config_error(error, prefix)


def validated(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the whole run config, checked against the schema, with every default filled in."""
    filled = copy.deepcopy(dict(config))
    schema, _ = _schema()
    _validate(filled, schema, "")
    return filled


def block_schema(block: str) -> dict[str, Any]:
    """The schema of one top-level block (e.g. 'pruning') or of a $defs entry ('$defs/training_overrides')."""
    pointer = block if block.startswith("$defs/") else f"properties/{block}"
    return {"$ref": f"{SCHEMA_PATH.as_uri()}#/{pointer}"}


def resolve_block(block: str, given: Mapping[str, Any] | None, key: str | None = None) -> dict[str, Any]:
    """One config block (`given`, possibly partial) checked against its schema, with its defaults filled in."""
    filled = copy.deepcopy(dict(given or {}))
    _validate(filled, block_schema(block), key or block)
    return filled


class Settings:
    """Typed, resolved settings of one config block (a frozen dataclass per block, fields named as the schema's keys).

    The fields carry no defaults of their own: from_config fills them from the schema, the one source of defaults.
    """

    BLOCK: ClassVar[str]

    @classmethod
    def from_config(cls, block: Mapping[str, Any] | None = None) -> Self:
        """The settings of the config block `block` (None or partial: the schema's defaults for the rest)."""
        return cls(**resolve_block(cls.BLOCK, block))

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (rule params, the settings recorded in a stage's JSON summary)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def field_names(cls) -> list[str]:
        """Names of the dataclass fields, in order."""
        return [field.name for field in fields(cls)]  # type: ignore[arg-type]
