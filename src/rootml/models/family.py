"""A model family bound to its builder: validates a model's hyper-parameters and inputs, then builds it seeded."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from rootml.errors import ConfigError
from rootml.models.hparams import resolve_hparams
from rootml.models.sets import MultiSetModel, set_feature_dims
from rootml.models.specs import SET_EMBED_DIM, FamilySpec, set_input


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
class ModelFamily(FamilySpec):
    """A family's spec and its builder, which gets `BuildSpec.dim` = the size of the input `input_of` names.

    Torch models are built with torch's RNG seeded by `seed`. A set family given several sets (inputs
    `<set>/features`, ...) builds its model for `set_embed_dim` features inside a MultiSetModel; given one set
    (inputs features, ...) it builds exactly its own model.
    """

    build: Callable[[BuildSpec], Any]

    @classmethod
    def bind(cls, spec: FamilySpec, build: Callable[[BuildSpec], Any]) -> ModelFamily:
        """The family of `spec`, built by `build`."""
        return cls(**vars(spec), build=build)

    def __call__(
        self, input_dims: Mapping[str, int | tuple[int, ...]], n_outputs: int, *, seed: int = 0,
        config_key: str | None = None, **hparams: Any,
    ) -> Any:
        """Validate the hyper-parameters and inputs, then build the model deterministically from `seed`."""
        key = config_key or self.name
        resolved = resolve_hparams(self.hparams, hparams, key)
        width = resolved.pop(SET_EMBED_DIM, None)
        input_key = self.input_of(resolved)
        sets = set_feature_dims(input_dims) if input_key == "features" and input_key not in input_dims else {}
        if sets and self.one_set:
            raise ConfigError(key, f"model family '{self.name}' reads one set, got the sets {sorted(sets)}")
        sizes = {set_input(name, input_key): dim for name, dim in sets.items()} or {
            name: dim for name, dim in input_dims.items() if name == input_key}
        if not sizes:
            raise ConfigError(key, f"model family '{self.name}' needs input '{input_key}', got {sorted(input_dims)}")
        expected_rank = 3 if input_key == "image" else 0
        for name, dim in sizes.items():
            if (len(dim) if isinstance(dim, Sequence) else 0) != expected_rank:
                shape = "(channels, H, W)" if expected_rank else "an int"
                raise ConfigError(key, f"input '{name}' size must be {shape}, got {dim!r}")
        if n_outputs < 1:
            raise ConfigError(key, f"n_outputs must be >= 1, got {n_outputs}")
        dim = width if sets else sizes[input_key]
        spec = BuildSpec(tuple(dim) if expected_rank else int(dim), n_outputs, resolved, seed, key)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.build(spec)
            return MultiSetModel(model, {s: int(d) for s, d in sets.items()}, width) if sets else model
