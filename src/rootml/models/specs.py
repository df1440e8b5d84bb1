"""What configures each model family and what it reads: its hyper-parameters and the input that sizes it.

Torch- and XGBoost-free: the workflow plans its jobs (and config/models.schema.json is generated) from these
specs alone. Each family's module (rootml.models.<family>) binds its spec to the builder of its model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rootml.models.hparams import (
    HParam,
    activation_param,
    boolean,
    choice,
    hparams_schema,
    int_list,
    int_lists,
    integer,
    number,
)

# The datasets of a set (data/prepared/{split}/<set>.h5) the models read, each with the set's slots on the last axis:
# features (n, C, P), points (n, D, P: the set's coordinates), vectors (n, 4, P), mask (n, P). A model of one set reads
# them under these names, a model of several sets as `<set>/<name>` (set_input).
SET_INPUTS: tuple[str, ...] = ("features", "points", "vectors", "mask")
SET_EMBED_DIM = "set_embed_dim"  # the hyper-parameter of every set family: the common width of several sets


def set_input(set_name: str, name: str) -> str:
    """The input key of dataset `name` of set `set_name` in a model of several sets."""
    return f"{set_name}/{name}"


def set_input_parts(key: str) -> tuple[str | None, str]:
    """(set, dataset) of an input key: (None, key) for the keys of a model of one set and for the other inputs."""
    set_name, _, name = key.rpartition("/")
    return set_name or None, name


@dataclass(frozen=True)
class FamilySpec:
    """A model family's name, its hyper-parameters, and `input_of(hparams)`: the input key that sizes the model.

    The input is "highlevel" or "features" (sized by an int: the families on sets) or "image" (sized by (channels,
    H, W)). uses_coordinates: the model builds its graph on the sets' coordinates (input `points`). anomaly: an
    anomaly detector (a model with `anomaly_score(x) -> (B,)`), trained with `task: anomaly` and only with it.
    one_set: a set family that reads exactly one set (models.<name>.sets names one), never several joined.
    scalars: the hyper-parameter (if any) listing high-level features (features.highlevel) the model also reads,
    as input "highlevel" (their columns in the prepared order); a run of it then reads the highlevel representation too.
    """

    name: str
    hparams: Mapping[str, HParam]
    input_of: Callable[[Mapping[str, Any]], str]
    uses_coordinates: bool = field(default=False, kw_only=True)
    anomaly: bool = field(default=False, kw_only=True)
    one_set: bool = field(default=False, kw_only=True)
    scalars: str | None = field(default=None, kw_only=True)


def set_family(
    name: str, hparams: Mapping[str, HParam], *, uses_coordinates: bool = False, anomaly: bool = False,
    one_set: bool = False,
) -> FamilySpec:
    """A family on the sets: its own hyper-parameters and (unless it reads one set only) the width to which it
    embeds each of several sets."""
    embed_dim = integer(32, "with several sets: width of each set's learned linear embedding (plus a learned "
                            "set-type embedding) before the sets are joined into one sequence; unused with one set")
    return FamilySpec(name, {**hparams, **({} if one_set else {SET_EMBED_DIM: embed_dim})}, lambda hp: "features",
                      uses_coordinates=uses_coordinates, anomaly=anomaly, one_set=one_set)


BDT = FamilySpec("bdt", {
    "n_estimators": integer(500, "maximum number of boosting rounds"),
    "max_depth": integer(6, "maximum tree depth"),
    "learning_rate": number(0.1, "shrinkage of each tree's contribution", maximum=1.0, positive=True),
    "subsample": number(0.8, "fraction of training jets drawn for each tree", maximum=1.0, positive=True),
    "colsample_bytree": number(1.0, "fraction of features drawn for each tree", maximum=1.0, positive=True),
    "min_child_weight": number(1.0, "minimum summed hessian (weight) in a leaf"),
    "reg_lambda": number(1.0, "L2 regularisation of leaf weights"),
    "max_bin": integer(256, "histogram bins per feature (tree_method hist)", minimum=2),
    "early_stopping_rounds": integer(20, "stop after this many rounds without improvement on eval_set (0: off)",
                                     minimum=0),
}, lambda hp: "highlevel")

MLP = FamilySpec("mlp", {
    "hidden": int_list([64, 64, 64], "widths of the hidden layers"),
    "dropout": number(0.1, "dropout after each hidden layer", maximum=0.9),
    "batchnorm": boolean(False, "BatchNorm1d after each hidden linear layer"),
    "activation": activation_param(),
}, lambda hp: "highlevel")

CNN = FamilySpec("cnn", {
    "channels": int_list([16, 32, 32], "output channels of each conv block (conv, [BN], activation, 2x2 max-pool)"),
    "kernel_size": integer(3, "odd square kernel size of the convolutions ('same' padding)"),
    "batchnorm": boolean(True, "BatchNorm2d after each convolution"),
    "fc_params": int_list([64], "widths of the dense layers after flattening", min_items=0),
    "dropout": number(0.1, "dropout in the dense layers", maximum=0.9),
    "activation": activation_param(),
    "film": HParam([], {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
                   "high-level features (of features.highlevel) that modulate each conv block (FiLM, "
                   "arXiv:1709.07871): an MLP maps them to a per-channel gamma and beta, x -> gamma x + beta after the "
                   "block's normalisation; the MLP's last layer starts at zero (gamma 1, beta 0); empty: no FiLM"),
    "film_hidden": int_list([32], "widths of the hidden layers of the FiLM MLP (film not empty)", min_items=0),
}, lambda hp: "image", scalars="film")

DEEPSETS = set_family("deepsets", {
    "phi_sizes": int_list([64, 64, 128], "per-particle network Phi widths (last = latent size)"),
    "f_sizes": int_list([64, 64], "jet-level network F widths"),
    "pooling": choice("sum", ["sum", "mean"], "aggregation of the per-particle latents over the real particles"),
    "dropout": number(0.0, "dropout in the F network", maximum=0.9),
    "activation": activation_param(),
})

PARTICLENET = set_family("particlenet", {
    "k": integer(7, "neighbours per particle in every EdgeConv block"),
    "conv_params": int_lists([[32, 32, 32], [64, 64, 64]], "channels of the layers of each EdgeConv block"),
    "fc_params": int_list([128], "widths of the dense layers after pooling", min_items=0),
    "dropout": number(0.1, "dropout in the dense layers", maximum=0.9),
    "use_fusion": boolean(True, "concatenate all EdgeConv outputs and mix them (1x1 conv) before pooling"),
}, uses_coordinates=True)

INTERACTION_NET = set_family("interaction_net", {
    "edge_sizes": int_list([32, 32], "f_R widths on each (receiver, sender) pair (last = edge latent size)"),
    "node_sizes": int_list([32, 32], "f_O widths on (particle, summed edge latents) (last = node latent size)"),
    "fc_params": int_list([32], "phi_C widths on the summed node latents", min_items=0),
    "dropout": number(0.0, "dropout in phi_C", maximum=0.9),
    "activation": activation_param(),
})

GRAVNET = set_family("gravnet", {
    "dense_sizes": int_list([32, 32], "tanh dense layers on each element (and the jet's mean) at the start of each "
                                      "block"),
    "filters": int_list([32, 32, 32], "output width of the GravNet layer of each block (one entry per block)"),
    "space_dims": integer(4, "dimensions of the learned coordinate space S in which each layer finds neighbours"),
    "propagate_dims": integer(16, "width of the learned features F_LR passed from the neighbours"),
    "k": integer(10, "neighbours per element in every GravNet layer (weighted by exp(-10 d^2) in S)"),
    "fc_params": int_list([64], "widths of the dense layers after the masked mean and max pooling", min_items=0),
    "dropout": number(0.1, "dropout in the dense layers after pooling", maximum=0.9),
})

GARNET = set_family("garnet", {
    "n_aggregators": int_list([4, 4], "aggregators of each GarNet layer of the stack (one entry per layer)"),
    "n_propagate": int_list([8, 8], "learned features each layer sends to its aggregators (one entry per layer)"),
    "n_filters": int_list([16, 16], "output features of each layer (one entry per layer; last = pooled width)"),
    "simplified": boolean(True, "hls4ml's FPGA variant: mean aggregation only, no max, no concatenation of the "
                                "input and edge weights (the only variant hls4ml converts)"),
    "output_activation": choice("linear", ["linear", "tanh"], "activation of each layer's output (hls4ml "
                                                              "converts only linear)"),
    "fc_params": int_list([32], "widths of the dense layers after the mean over the real elements", min_items=0),
    "dropout": number(0.0, "dropout in the dense layers after pooling", maximum=0.9),
    "activation": activation_param(),
})

DYNEDGE = set_family("dynedge", {
    "k": integer(8, "neighbours per element in every EdgeConv layer"),
    "conv_params": int_lists([[32, 32], [32, 32], [32, 32]], "widths of the edge MLP of each EdgeConv layer; the "
                                                             "first layer's graph is built on the set's coordinates, "
                                                             "each next one's on the previous layer's output"),
    "post_sizes": int_list([64, 32], "post-processing MLP on the concatenated input and EdgeConv outputs"),
    "readout_sizes": int_list([32], "readout MLP widths after min, max, sum and mean pooling", min_items=0),
    "dropout": number(0.0, "dropout in the readout MLP", maximum=0.9),
    "activation": activation_param("leaky_relu"),
}, uses_coordinates=True)

TRANSFORMER = set_family("transformer", {
    "embed_dims": int_list([64, 64], "widths of the per-particle embedding (last = model width)"),
    "num_heads": integer(4, "attention heads (must divide the model width)"),
    "num_layers": integer(3, "particle self-attention blocks"),
    "num_cls_layers": integer(2, "class-attention blocks (pooling: cls)"),
    "ffn_ratio": integer(4, "feed-forward width / model width"),
    "dropout": number(0.1, "dropout in the attention blocks and the head", maximum=0.9),
    "pooling": choice("cls", ["cls", "mean"], "class token with class attention, or masked mean over particles"),
    "pair_features": boolean(
        False, "ParT interaction bias from ln kT, ln z, ln dR, ln m^2 of particle pairs; adds input 'vectors'"),
    "pair_embed_dims": int_list([16, 16], "widths of the pair-feature embedding (pair_features: true)"),
    "fc_params": int_list([], "widths of the dense layers of the head", min_items=0),
    "activation": activation_param("gelu"),
})

LORENTZNET = set_family("lorentznet", {
    "n_hidden": integer(32, "width of the node embeddings and edge messages (the paper: 72)"),
    "n_layers": integer(4, "Lorentz group equivariant blocks (the paper: 6)"),
    "c_weight": number(1.0e-3, "weight c of the four-momentum update x_i += c mean_j (x_i - x_j) phi_x(m_ij)",
                       positive=True),
    "dropout": number(0.0, "dropout in the decoder after the mean pooling", maximum=0.9),
    "momentum_scale": number(100.0, "GeV: the input four-momenta (px, py, pz, E) are divided by it, so that the "
                                    "Minkowski products psi normalises are O(1) to O(100) for TeV jets",
                             positive=True),
})

AUTOENCODER = FamilySpec("autoencoder", {
    "input": choice("highlevel", ["highlevel", "image"], "what to reconstruct: high-level features or jet images"),
    "hidden": int_list([32, 16], "encoder widths for input: highlevel (the decoder mirrors them)"),
    "channels": int_list([8, 16], "encoder conv channels for input: image, each followed by a 2x2 max-pool"),
    "latent_dim": integer(4, "size of the bottleneck"),
    "activation": activation_param(),
    "standardise": boolean(True, "standardise each input (feature or pixel) with the mean and spread of the "
                                 "background training jets before encoding (the error is in those units)"),
}, lambda hp: hp["input"], anomaly=True)

VAE = FamilySpec("vae", {
    **AUTOENCODER.hparams,
    "latent_dim": integer(4, "size of the Gaussian latent (the encoder gives its mean and log-variance)"),
    "beta": number(0.1, "weight of the KL divergence to the unit Gaussian prior against the per-jet reconstruction "
                        "MSE, a mean over the F inputs: 2/F is the ELBO of a unit-variance Gaussian decoder (0.17 for "
                        "12 features, 0.002 for 33x33 images); much larger values collapse the latent (KL -> 0)"),
    "anneal_steps": integer(100, "optimiser steps over which the KL weight grows linearly from 0 to beta (0: beta "
                                 "from the first step); keep it well below the training's steps", minimum=0),
    "score": choice("reconstruction", ["reconstruction", "kl", "combined", "latent_distance"],
                    "anomaly score of the trained model, also its validation loss (best epoch, early stopping): "
                    "reconstruction MSE from the latent mean, KL divergence, reconstruction + beta * KL, or the latent "
                    "mean's distance from the prior's centre (kl and latent_distance are smallest for an untrained "
                    "encoder, so the validation keeps early epochs: prefer reconstruction or combined)"),
}, lambda hp: hp["input"], anomaly=True)

SET_AUTOENCODER = set_family("set_autoencoder", {
    "phi_sizes": int_list([64, 64], "per-particle encoder network Phi widths"),
    "pooling": choice("mean", ["sum", "mean"], "aggregation of the per-particle latents over the real particles"),
    "encoder_sizes": int_list([64], "widths of the jet-level network from the pooled latents to the bottleneck",
                              min_items=0),
    "latent_dim": integer(8, "size of the bottleneck"),
    "decoder_sizes": int_list([64, 128], "widths of the decoder network from the bottleneck to the particles",
                              min_items=0),
    "n_out": integer(32, "particles the decoder reconstructs (each with the set's features), whatever the jet's "
                         "number of real particles"),
    "activation": activation_param(),
    "standardise": boolean(True, "standardise each particle feature with the mean and spread over the real "
                                 "particles of the background training jets before encoding (the Chamfer "
                                 "distance is in those units)"),
}, anomaly=True, one_set=True)

FAMILY_SPECS: dict[str, FamilySpec] = {
    spec.name: spec
    for spec in (BDT, MLP, CNN, DEEPSETS, PARTICLENET, INTERACTION_NET, TRANSFORMER, AUTOENCODER, VAE,
                 SET_AUTOENCODER, GRAVNET, GARNET, DYNEDGE, LORENTZNET)
}
ANOMALY_FAMILIES: tuple[str, ...] = tuple(name for name, spec in FAMILY_SPECS.items() if spec.anomaly)


def family_schema(family: str) -> dict[str, Any]:
    """JSON schema of the hyper-parameters of `family` (for config/models.schema.json)."""
    return hparams_schema(FAMILY_SPECS[family].hparams)
