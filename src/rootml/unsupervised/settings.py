"""The settings of the latent-space, embedding and clustering analyses (the config's `explore` block)."""

from __future__ import annotations

from dataclasses import dataclass

from rootml.settings import Settings


@dataclass(frozen=True)
class ExploreSettings(Settings):
    """Which spaces, embeddings and clusterings, on how many test jets (config/schema.yaml)."""

    BLOCK = "explore"

    models: list[str] | None
    highlevel: bool
    embeddings: list[str]
    clustering: list[str]
    k_values: list[int]
    n_clusters: int | None
    choose_by: str
    max_jets: int
    num_threads: int | None

