"""Trainer settings: the config's `training` block overlaid with a model entry's `training` overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rootml.settings import Settings, resolve_block


@dataclass(frozen=True)
class TrainingSettings(Settings):
    """Resolved `training` block of one model (config/schema.yaml documents each key and holds the defaults)."""

    BLOCK = "training"

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    schedule: str
    warmup_epochs: int
    patience: int
    grad_clip: float | None
    class_weights: list[float] | None
    max_jets_in_memory: int
    num_threads: int | None
    mc_dropout: int  # MC dropout passes after training (rootml.training.mc_dropout); 0: off
    folds: int  # k-fold cross-validation: rootml.config.model_runs makes a run of each fold (rootml.training.folds)
    decorrelation: dict[str, Any] | None  # DisCo (rootml.training.disco); signal/background filled by rootml.config

    @classmethod
    def resolve(cls, defaults: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None,
                key: str) -> TrainingSettings:
        """The `training` block `defaults` with a model's `overrides` (config key `key`) on top, both checked."""
        base = resolve_block(cls.BLOCK, defaults)
        return cls(**{**base, **resolve_block("$defs/training_overrides", overrides, key)})
