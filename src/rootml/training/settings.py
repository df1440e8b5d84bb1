"""Trainer settings: the config's `training` defaults overlaid with a model entry's `training` overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from rootml.errors import ConfigError

SCHEDULES: tuple[str, ...] = ("cosine", "onecycle", "step", "constant")


@dataclass(frozen=True)
class TrainingSettings:
    """Resolved `training` block of one model (defaults as in config/schema.yaml)."""

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.01
    schedule: str = "cosine"
    warmup_epochs: int = 1
    patience: int = 5
    grad_clip: float | None = 5.0
    class_weights: list[float] | None = None
    max_jets_in_memory: int = 2_000_000
    num_threads: int | None = None

    @classmethod
    def resolve(cls, defaults: Mapping[str, Any], overrides: Mapping[str, Any], key: str) -> TrainingSettings:
        """Overlay `overrides` (the model entry's, config key `key`) on `defaults` (the `training` block)."""
        known = {field.name for field in fields(cls)}
        for block, block_key in ((defaults, "training"), (overrides, key)):
            unknown = sorted(set(block) - known)
            if unknown:
                raise ConfigError(f"{block_key}.{unknown[0]}", f"unknown training setting; known: {sorted(known)}")
        merged = {**defaults, **overrides}
        source = key if "schedule" in overrides else "training"
        if merged.get("schedule", cls.schedule) not in SCHEDULES:
            raise ConfigError(f"{source}.schedule", f"got {merged['schedule']!r}, expected one of {list(SCHEDULES)}")
        for name in ("epochs", "batch_size", "max_jets_in_memory"):
            if name in merged and (not isinstance(merged[name], int) or merged[name] < 1):
                raise ConfigError(f"{key if name in overrides else 'training'}.{name}",
                                  f"must be a positive integer, got {merged[name]!r}")
        return cls(**merged)

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (for model_config.json)."""
        return asdict(self)
