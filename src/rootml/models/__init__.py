"""The model zoo: one module per family, and a registry that builds any of them from the config.

Conventions: torch models are nn.Modules whose class attribute `input_keys` names the batch keys their
`forward(*tensors)` takes, in order, and which return (B, n_outputs). Classification always uses one
logit per class (binary = 2 logits, for CrossEntropyLoss); n_outputs == 1 means regression. Particle
inputs use weaver's layout: features (B, C, N), points (B, 2, N), mask (B, 1, N) (1 real, 0 padded).
Autoencoders return the reconstruction of their input and have `anomaly_score(x) -> (B,)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rootml.errors import ConfigError
from rootml.models import autoencoder, bdt, cnn, deepsets, interaction_net, mlp, particlenet, transformer
from rootml.models.common import ModelFamily, hparams_schema

MODEL_FAMILIES: dict[str, ModelFamily] = {
    module.FAMILY.name: module.FAMILY
    for module in (bdt, mlp, cnn, deepsets, particlenet, interaction_net, transformer, autoencoder)
}


def build_model(
    family: str, input_dims: Mapping[str, int | tuple[int, ...]], n_outputs: int, *, seed: int = 0,
    config_key: str | None = None, **hparams: Any,
) -> Any:
    """Build a model of `family` (a torch nn.Module, or an XGBoost estimator for 'bdt').

    input_dims: sizes of the available inputs, e.g. {"highlevel": F}, {"features": C, "points": 2},
    {"image": (channels, H, W)}. seed fixes the initial weights (and XGBoost's random_state).
    config_key (default: the family name) prefixes the key named by ConfigErrors, e.g. "models.pnet".
    """
    if family not in MODEL_FAMILIES:
        raise ConfigError(f"{config_key}.family" if config_key else "family",
                          f"unknown model family '{family}'; known: {sorted(MODEL_FAMILIES)}")
    return MODEL_FAMILIES[family](input_dims, n_outputs, seed=seed, config_key=config_key, **hparams)


def family_schema(family: str) -> dict[str, Any]:
    """JSON schema of the hyper-parameters of `family` (for config/schema.yaml)."""
    return hparams_schema(MODEL_FAMILIES[family].hparams)
