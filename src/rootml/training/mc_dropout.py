"""Monte Carlo dropout (Gal and Ghahramani, arXiv:1506.02142): a trained classifier run `training.mc_dropout` times
with only its dropout layers in training mode (batch norm stays in eval mode), the mean and per-jet standard
deviation of its class probabilities written as score_mcd_{class} and score_mcd_std_{class}."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from rootml.errors import ConfigError
from rootml.training.data import SplitReader
from rootml.training.device import ComputeDevice
from rootml.training.inference import Collected, collect, torch_forward
from rootml.training.objectives import Classification, Objective

DROPOUT_TYPES = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)


def dropout_layers(model: Any) -> list[nn.Module]:
    """The dropout modules of a torch model (none for anything else, such as an XGBoost model)."""
    return [m for m in model.modules() if isinstance(m, DROPOUT_TYPES)] if isinstance(model, nn.Module) else []


def check_mc_dropout(model: Any, objective: Objective, passes: int, key: str) -> None:
    """ConfigError naming `key` (models.<name>.training.mc_dropout) when MC dropout is asked of a model without
    dropout layers or of a task other than classification."""
    if passes <= 0:
        return
    if not isinstance(objective, Classification):
        raise ConfigError(key, f"MC dropout predicts class probabilities; this model's task is '{objective.task}'")
    if not dropout_layers(model):
        raise ConfigError(key, f"{passes} MC dropout passes need dropout layers, and this model has none "
                               "(set its hparams.dropout above 0, or mc_dropout to 0)")


@contextmanager
def dropout_active(model: nn.Module) -> Iterator[None]:
    """The model with its dropout layers (only those) in training mode, back in eval mode afterwards."""
    layers = dropout_layers(model)
    for layer in layers:
        layer.train()
    try:
        yield
    finally:
        for layer in layers:
            layer.eval()


@dataclass(frozen=True)
class McDropout:
    """What MC dropout predictions need: the trained model, its objective and device, the passes and their seed."""

    model: nn.Module
    objective: Classification
    device: ComputeDevice
    passes: int
    seed: int
    input_keys: list[str]
    batch_size: int

    def samples(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """Class probabilities of each pass (B, passes, n_classes) for one batch."""
        forward = torch_forward(self.model, self.objective, self.device)
        with dropout_active(self.model):
            return np.stack([self.objective.scores(forward(batch)) for _ in range(self.passes)], axis=1)

    def columns(self, reader: SplitReader, max_rows: int | None, collected: Collected) -> dict[str, np.ndarray]:
        """score_mcd_{class} (mean over the passes) and score_mcd_std_{class} (their standard deviation) of the jets
        of `reader` (the first `max_rows`), in file order as `collected`; the passes seeded by `seed`."""
        torch.manual_seed(self.seed)
        samples = collect(self.samples, reader, self.input_keys, [], self.batch_size, max_rows=max_rows).outputs
        if len(samples) != len(collected.outputs):
            raise ValueError(f"MC dropout ran over {len(samples)} jets, the predictions hold {len(collected.outputs)}")
        mean, std = samples.mean(axis=1), samples.std(axis=1)
        classes: Sequence[str] = self.objective.classes
        return {**{f"score_mcd_{name}": mean[:, i].astype(np.float32) for i, name in enumerate(classes)},
                **{f"score_mcd_std_{name}": std[:, i].astype(np.float32) for i, name in enumerate(classes)}}
