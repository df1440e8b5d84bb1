"""The model zoo: one module per family, and a registry that builds any of them from the config.

Layout: `hparams` (hyper-parameter specs) and `specs` (each family's hyper-parameters and input) are
torch-free, so planning the workflow stays light; `layers` (shared torch layers), `family` (a spec bound
to its builder), `sets` (the front-end of a model on several sets), the family modules and `registry`
(MODEL_FAMILIES, build_model) import torch or XGBoost.
The package itself imports nothing: `rootml.models.registry` has MODEL_FAMILIES and build_model.

Conventions: torch models are nn.Modules whose attribute `input_keys` names the batch keys their
`forward(*tensors)` takes, in order, and which return (B, n_outputs). Classification always uses one
logit per class (binary = 2 logits, for CrossEntropyLoss); n_outputs == 1 means regression. Set inputs
(a jet's particles, an event's muons, ...) use weaver's layout: features (B, C, N), points (B, D, N) (the set's
coordinates), vectors (B, 4, N), mask (B, 1, N) (1 real, 0 padded); a model of several sets reads them as
`<set>/features`, ... (`sets`). The anomaly families (autoencoder, vae, set_autoencoder) return the
reconstruction of their standardised input and have `anomaly_score(*inputs) -> (B,)`,
`validation_loss(*inputs) -> (B,)` and `latent(*inputs)`.
"""
