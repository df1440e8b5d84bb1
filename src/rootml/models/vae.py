"""β-variational autoencoders for anomaly detection: the autoencoders' layouts (dense on high-level features,
convolutional on jet images, rootml.models.autoencoder) with a Gaussian latent.

The input is standardised on the background as the autoencoders' is (autoencoder.Standardise; reconstructions and
their errors are in those units). The encoder gives the mean and log-variance of q(z|x), the decoder mirrors it. In
training mode z is sampled by reparameterisation and anomaly_score is the per-jet objective: reconstruction MSE
(mean over the inputs) + β_eff · KL (q(z|x) against the unit Gaussian prior), where β_eff = beta · min(1, steps /
anneal_steps) grows with the optimiser steps, counted in the buffer `steps` (saved in the state dict, so a resumed or
fine-tuned model keeps its weight). In eval mode nothing is sampled (z = mean) and anomaly_score is the configured
`score`; anomaly_scores gives all of them; validation_loss (what picks the best epoch) is the combined score
whatever `score` is. forward returns the reconstruction (from the mean in eval mode: what ONNX exports); latent(x)
is the mean, the latent the explore stage embeds.
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models import autoencoder
from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.specs import FAMILY_SPECS

SCORES: tuple[str, ...] = tuple(FAMILY_SPECS["vae"].hparams["score"].schema["enum"])
# |log-variance| cap: the standard deviation exp(logvar / 2) stays finite in float16 under mixed precision
LOGVAR_LIMIT = 15.0


def per_jet_mse(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each jet's reconstruction (B,), in float32."""
    return (reconstruction.float() - x.float()).square().flatten(1).mean(dim=1)


def kl_divergence(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, 1)) of each jet (B,), summed over the latent dimensions, in float32."""
    mean, logvar = mean.float(), logvar.float()
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar).sum(dim=1)


def reparameterise(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """A sample z = mean + exp(logvar / 2) · ε, ε ~ N(0, 1) (torch's global RNG), differentiable in both."""
    return mean + torch.randn_like(mean) * (0.5 * logvar).exp()


class GaussianEncoder(nn.Module):
    """An autoencoder's encoder whose bottleneck layer gives the mean of q(z|x), with a log-variance head beside it."""

    def __init__(self, encoder: nn.Sequential) -> None:
        super().__init__()
        *trunk, bottleneck = encoder
        if not isinstance(bottleneck, nn.Linear):
            raise TypeError(f"the encoder must end in its nn.Linear bottleneck, not {type(bottleneck).__name__}")
        self.trunk = nn.Sequential(*trunk)
        self.mean = bottleneck
        self.logvar = nn.Linear(bottleneck.in_features, bottleneck.out_features)

    def distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z|x), each (B, latent_dim); the log-variance within ±LOGVAR_LIMIT."""
        hidden = self.trunk(x)
        return self.mean(hidden), self.logvar(hidden).clamp(-LOGVAR_LIMIT, LOGVAR_LIMIT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of q(z|x) (B, latent_dim)."""
        return self.mean(self.trunk(x))


class VariationalAutoencoder(nn.Module):
    """A β-VAE on the input of an autoencoder (`highlevel` or `image`), built from that autoencoder's layers."""

    def __init__(self, base: autoencoder.Autoencoder, beta: float, anneal_steps: int, score: str) -> None:
        super().__init__()
        if score not in SCORES:
            raise ValueError(f"unknown VAE score {score!r}; known: {list(SCORES)}")
        self.input_keys: tuple[str, ...] = tuple(base.input_keys)
        self.standardised_input, self.standardised_mask = base.standardised_input, base.standardised_mask
        self.standardise = base.standardise
        self.encoder = GaussianEncoder(base.encoder)
        self.decoder = base.decoder
        self.beta, self.anneal_steps, self.score = float(beta), int(anneal_steps), score
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def kl_weight(self) -> torch.Tensor:
        """β_eff = beta · min(1, steps / anneal_steps) (beta when anneal_steps is 0), a scalar tensor."""
        if self.anneal_steps == 0:
            return torch.full((), self.beta, device=self.steps.device)
        return self.beta * (self.steps.float() / self.anneal_steps).clamp(max=1.0)

    def latent(self, x: torch.Tensor) -> torch.Tensor:
        """The mean of q(z|x) of each jet (B, latent_dim)."""
        return self.encoder(self.standardise(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction of the standardised x: from a sampled z in training mode, from the mean in eval mode."""
        if not self.training:
            return self.decoder(self.latent(x))
        return self.decoder(reparameterise(*self.encoder.distribution(self.standardise(x))))

    def anomaly_scores(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every score of each jet (B,), without sampling (z = mean): reconstruction, kl, combined (reconstruction +
        beta · kl), latent_distance (|mean|)."""
        x = self.standardise(x)
        mean, logvar = self.encoder.distribution(x)
        reconstruction, kl = per_jet_mse(self.decoder(mean), x), kl_divergence(mean, logvar)
        return {"reconstruction": reconstruction, "kl": kl, "combined": reconstruction + self.beta * kl,
                "latent_distance": mean.float().norm(dim=1)}

    def validation_loss(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic objective of each jet (B,): the combined score, whichever score is configured."""
        return self.anomaly_scores(x)["combined"]

    def anomaly_score(self, x: torch.Tensor) -> torch.Tensor:
        """Per jet (B,): the training objective in training mode (one more optimiser step counted), else `score`."""
        if not self.training:
            return self.anomaly_scores(x)[self.score]
        x = self.standardise(x)
        mean, logvar = self.encoder.distribution(x)
        loss = per_jet_mse(self.decoder(reparameterise(mean, logvar)), x) + self.kl_weight() * kl_divergence(
            mean, logvar)
        self.steps += 1
        return loss


def build(spec: BuildSpec) -> VariationalAutoencoder:
    """A VAE on the layout of the dense or convolutional autoencoder of the same hyper-parameters."""
    hp = spec.hp
    return VariationalAutoencoder(autoencoder.build(spec), hp["beta"], hp["anneal_steps"], hp["score"])


FAMILY = ModelFamily.bind(FAMILY_SPECS["vae"], build)
