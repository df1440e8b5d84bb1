"""DisCo mass decorrelation (Kasieczka, Shih, arXiv:2001.05310): the training loss gains strength * dCorr^2 of the
signal-vs-background discriminant and an observer (the jet mass) over each batch's background jets, jet weights
included, following the authors' `distance_corr` (github.com/gkasieczka/DisCo, power 1).

Hand-written in torch: the term must be differentiable in the batch's outputs, which no library's distance
correlation (dcor, scipy) is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from rootml.config import ModelRun
from rootml.errors import ConfigError
from rootml.training.data import SplitReader


def double_centred(values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """The weighted double-centred distance matrix A_ij = a_ij - ā_i - ā_j + ā of |x_i - x_j| (weights of mean 1)."""
    distances = (values[:, None] - values[None, :]).abs()
    row_means = (distances * weight).mean(dim=1)
    return distances - row_means[:, None] - row_means[None, :] + (row_means * weight).mean()


def distance_correlation(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Squared distance correlation dCorr^2(x, y) = dCov^2(x, y) / sqrt(dCov^2(x, x) dCov^2(y, y)) of two 1-D samples,
    each pair weighted by w_i w_j (V-statistic; 0 for independent samples as n grows, 1 for y = a x + b, a > 0)."""
    x, y = x.double().flatten(), y.double().flatten()
    weight = torch.ones_like(x) if weight is None else weight.double().flatten()
    weight = weight / weight.mean()  # the reference's normedweight: sum N
    a, b = double_centred(x, weight), double_centred(y, weight)

    def covariance(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """Weighted mean of left_ij * right_ij over all pairs."""
        return ((left * right * weight).mean(dim=1) * weight).mean()

    denominator = (covariance(a, a) * covariance(b, b)).sqrt()
    return (covariance(a, b) / denominator.clamp(min=torch.finfo(torch.float64).tiny)).float()


def signal_discriminant(logits: torch.Tensor, signal: Sequence[int], background: Sequence[int]) -> torch.Tensor:
    """sum(p_signal) / (sum(p_signal) + sum(p_background)) of the softmax (rootml.evaluation.metrics
    signal_vs_background, differentiable)."""
    probabilities = torch.softmax(logits.float(), dim=1)
    p_signal = probabilities[:, list(signal)].sum(dim=1)
    p_background = probabilities[:, list(background)].sum(dim=1)
    return p_signal / (p_signal + p_background).clamp(min=torch.finfo(torch.float32).tiny)


@dataclass(frozen=True)
class DiscoPenalty:
    """strength * dCorr^2(discriminant, observable) over the background jets of a batch, with their weights
    (a trainer BatchPenalty)."""

    strength: float
    observable: str  # the observer dataset, obs_<name>
    signal: tuple[int, ...]
    background: tuple[int, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The observer dataset read with each batch."""
        return (self.observable,)

    def __call__(self, outputs: torch.Tensor, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The batch's DisCo term (0 with fewer than two background jets)."""
        selected = torch.isin(batch["label"], torch.tensor(self.background, device=outputs.device))
        if int(selected.sum()) < 2:
            return outputs.new_zeros((), dtype=torch.float32)
        score = signal_discriminant(outputs[selected], self.signal, self.background)
        return self.strength * distance_correlation(score, batch[self.observable][selected],
                                                    batch["weight"][selected])


def disco_penalty(run: ModelRun, classes: Sequence[str], reader: SplitReader) -> DiscoPenalty | None:
    """The run's DisCo term (None without training.decorrelation); ConfigError naming the key when the observable is
    not an observer of the prepared data."""
    block = run.training.decorrelation
    if block is None:
        return None
    column = f"obs_{block['observable']}"
    if column not in reader.datasets:
        observers = [name.removeprefix("obs_") for name in reader.observers]
        raise ConfigError(f"{run.key}.training.decorrelation.observable",
                          f"'{block['observable']}' is not an observer of the prepared data: {observers}")
    index = {name: i for i, name in enumerate(classes)}
    return DiscoPenalty(float(block["strength"]), column, tuple(index[name] for name in block["signal"]),
                        tuple(index[name] for name in block["background"]))
