"""The buildable model families (importing torch and XGBoost), and build_model, which builds any of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rootml.errors import ConfigError
from rootml.models import (
    autoencoder,
    bdt,
    cnn,
    deepsets,
    dynedge,
    garnet,
    gravnet,
    interaction_net,
    lorentznet,
    mlp,
    particlenet,
    set_autoencoder,
    transformer,
    vae,
)
from rootml.models.family import ModelFamily

MODEL_FAMILIES: dict[str, ModelFamily] = {
    module.FAMILY.name: module.FAMILY
    for module in (bdt, mlp, cnn, deepsets, particlenet, interaction_net, transformer, autoencoder, vae,
                   set_autoencoder, gravnet, garnet, dynedge, lorentznet)
}


def build_model(
    family: str, input_dims: Mapping[str, int | tuple[int, ...]], n_outputs: int, *, seed: int = 0,
    config_key: str | None = None, **hparams: Any,
) -> Any:
    """Build a model of `family` (a torch nn.Module, or an XGBoost estimator for 'bdt').

    input_dims: sizes of the available inputs, e.g. {"highlevel": F}, {"features": C, "points": D},
    {"part/features": C1, "muons/features": C2} (several sets), {"image": (channels, H, W)}. seed fixes the
    initial weights (and XGBoost's random_state).
    config_key (default: the family name) prefixes the key named by ConfigErrors, e.g. "models.pnet".
    """
    if family not in MODEL_FAMILIES:
        raise ConfigError(f"{config_key}.family" if config_key else "family",
                          f"unknown model family '{family}'; known: {sorted(MODEL_FAMILIES)}")
    return MODEL_FAMILIES[family](input_dims, n_outputs, seed=seed, config_key=config_key, **hparams)
