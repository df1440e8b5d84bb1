"""The feature-ranking settings (the config's `ranking` block)."""

from __future__ import annotations

from dataclasses import dataclass

from rootml.settings import Settings


@dataclass(frozen=True)
class RankingSettings(Settings):
    """Which models and methods, on how many jets, with which SHAP and selection options (config/schema.yaml)."""

    BLOCK = "ranking"

    models: list[str] | None
    methods: list[str]
    max_jets: int | None
    n_repeats: int
    n_shap: int | None
    n_background: int
    shap_explainer: str
    shap_samples: int
    n_waterfall: int
    selection_by: str | None
    selection_k_max: int | None
    selection_max_jets: int | None
    num_threads: int | None

