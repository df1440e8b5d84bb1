"""A set autoencoder for anomaly detection on particle clouds: a permutation-invariant Deep Sets / PFN encoder and
an MLP decoder to a fixed number of particles, scored by their masked Chamfer distance to the jet's real particles.

The particle features are standardised first with the mean and spread of each feature over the real particles of
the background training jets (autoencoder.Standardise, filled by the trainer). The encoder maps each real particle
through Phi, pools (sum or mean) over the real particles and maps the pooled vector to `latent_dim`; the decoder maps
the latent to `n_out` particles of the set's C features. Reconstruction and input are sets, compared without an
order: the per-jet score is the Chamfer distance in the standardised feature space, the mean over the real particles
of the squared distance to the nearest reconstructed particle plus the mean over the reconstructed particles of the
squared distance to the nearest real particle (padded slots count in neither). forward returns the reconstruction
(B, C, n_out) (what ONNX exports), anomaly_score the distance (B,), latent the bottleneck (what explore embeds).
"""

from __future__ import annotations

import torch
from torch import nn

from rootml.models.autoencoder import Standardise
from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.layers import classifier_head, dense_stack, masked_mean, masked_sum
from rootml.models.specs import FAMILY_SPECS


def chamfer_distance(reconstructed: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-jet (B,) symmetric Chamfer distance between `reconstructed` (B, C, K) and the real particles of `target`
    (B, C, P) with `mask` (B, 1, P): mean squared distance of each real particle to its nearest reconstructed one
    plus that of each reconstructed particle to its nearest real one; 0 for a jet without real particles.

    Written here: the Chamfer losses of the point-cloud libraries (pytorch3d, kaolin) are not a dependency and take
    no mask of padded slots, so a batch of jets of different particle counts would count its padding."""
    # (B, P, K), computed directly: through |x|^2 + |y|^2 - 2 x.y, cancellation leaves a set ~1e-3 from itself
    squared = torch.cdist(target.float().transpose(1, 2), reconstructed.float().transpose(1, 2),
                          compute_mode="donot_use_mm_for_euclid_dist").square()
    real = mask.float().squeeze(1)  # (B, P)
    n_real = real.sum(dim=1)
    to_reconstructed = (squared.min(dim=2).values * real).sum(dim=1) / n_real.clamp(min=1.0)
    padded = (real == 0).unsqueeze(2)  # a padded slot is never the nearest real particle
    to_real = squared.masked_fill(padded, torch.finfo(squared.dtype).max).min(dim=1).values.mean(dim=1)
    return torch.where(n_real > 0, to_reconstructed + to_real, torch.zeros_like(n_real))


class SetAutoencoder(nn.Module):
    """Deep Sets encoder of `features` (B, C, P) with `mask` (B, 1, P) and an MLP decoder to (B, C, n_out)."""

    input_keys: tuple[str, ...] = ("features", "mask")
    # what the trainer standardises on the background (training/run.py): `features`, over the real particles (`mask`)
    standardised_input: str = "features"
    standardised_mask: str | None = "mask"

    def __init__(
        self, n_features: int, phi_sizes: list[int], pooling: str, encoder_sizes: list[int], latent_dim: int,
        decoder_sizes: list[int], n_out: int, activation: str, standardise: bool,
    ) -> None:
        super().__init__()
        self.standardise = Standardise((n_features, 1), standardise)  # one centre and scale per feature
        self.phi = dense_stack(n_features, phi_sizes, activation)
        self.pool = masked_sum if pooling == "sum" else masked_mean
        self.encoder = classifier_head(phi_sizes[-1], encoder_sizes, latent_dim, activation, 0.0)
        self.decoder = nn.Sequential(*classifier_head(latent_dim, decoder_sizes, n_features * n_out, activation, 0.0),
                                     nn.Unflatten(1, (n_features, n_out)))

    def latent(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The bottleneck of each jet (B, latent_dim), invariant under permutations and padding of its particles."""
        per_particle = self.phi(self.standardise(features).transpose(1, 2)).transpose(1, 2)  # (B, L, P)
        return self.encoder(self.pool(per_particle, mask))

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The reconstructed particles (B, C, n_out), in the standardised feature space."""
        return self.decoder(self.latent(features, mask))

    def anomaly_score(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Chamfer distance of each jet's reconstruction to its standardised real particles (B,), in float32."""
        return chamfer_distance(self(features, mask), self.standardise(features), mask)

    validation_loss = anomaly_score


def build(spec: BuildSpec) -> SetAutoencoder:
    """A set autoencoder for `spec.dim` particle features (n_outputs is not used: the output is the set)."""
    return SetAutoencoder(spec.dim, **spec.hp)


FAMILY = ModelFamily.bind(FAMILY_SPECS["set_autoencoder"], build)
