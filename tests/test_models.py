"""Model zoo: shapes, permutation and padding invariance, learning on separable toy data, config errors; models on
one set are today's models bit for bit, models on several sets join them into one sequence."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable

import jsonschema
import numpy as np
import pytest
import torch

from rootml.errors import ConfigError
from rootml.models.particlenet import knn
from rootml.models.registry import MODEL_FAMILIES, build_model
from rootml.models.specs import family_schema
from rootml.training.device import configure_torch

N_FEATURES, N_HIGHLEVEL, IMAGE = 6, 5, (1, 12, 12)
DIMS = {"features": N_FEATURES, "points": 2, "highlevel": N_HIGHLEVEL, "image": IMAGE}
SET_KEYS = ("features", "points", "vectors", "mask")
N_SV_FEATURES = 3
# two sets: the jet's particles and its secondary vertices (inputs <set>/<name>)
TWO_SET_DIMS = {"part/features": N_FEATURES, "part/points": 2, "part/vectors": 4,
                "sv/features": N_SV_FEATURES, "sv/points": 2, "sv/vectors": 4}

# tiny versions of every torch family (name, family, hyper-parameters)
TORCH_MODELS = [
    ("mlp", "mlp", {"hidden": [16, 16], "batchnorm": True}),
    ("cnn", "cnn", {"channels": [4, 8], "fc_params": [16]}),
    ("deepsets", "deepsets", {"phi_sizes": [16, 16], "f_sizes": [16]}),
    ("deepsets_mean", "deepsets", {"phi_sizes": [16], "f_sizes": [16], "pooling": "mean"}),
    ("particlenet", "particlenet", {"k": 4, "conv_params": [[16, 16], [16, 24]], "fc_params": [16]}),
    ("particlenet_nofusion", "particlenet", {"k": 3, "conv_params": [[8]], "fc_params": [], "use_fusion": False}),
    ("interaction_net", "interaction_net", {"edge_sizes": [16, 8], "node_sizes": [16], "fc_params": [16]}),
    ("transformer", "transformer", {"embed_dims": [16], "num_heads": 2, "num_layers": 2, "num_cls_layers": 1}),
    ("transformer_mean", "transformer", {"embed_dims": [16], "num_heads": 2, "num_layers": 1, "pooling": "mean"}),
    ("transformer_pairs", "transformer", {"embed_dims": [16], "num_heads": 2, "num_layers": 2, "num_cls_layers": 1,
                                          "pair_features": True, "pair_embed_dims": [8]}),
    ("gravnet", "gravnet", {"dense_sizes": [16], "filters": [16, 16], "propagate_dims": 8, "k": 4,
                            "fc_params": [16]}),
    ("garnet", "garnet", {"n_aggregators": [4, 4], "n_propagate": [8, 8], "n_filters": [16, 16], "fc_params": [16]}),
    ("garnet_full", "garnet", {"n_aggregators": [4], "n_propagate": [8], "n_filters": [16], "simplified": False,
                               "output_activation": "tanh", "fc_params": [16]}),
    ("dynedge", "dynedge", {"k": 4, "conv_params": [[16, 16], [16]], "post_sizes": [16, 8], "readout_sizes": [8]}),
    ("lorentznet", "lorentznet", {"n_hidden": 16, "n_layers": 2}),
    ("cnn_film", "cnn", {"channels": [4, 8], "fc_params": [16], "film": [f"hl{i}" for i in range(N_HIGHLEVEL)],
                         "film_hidden": [8]}),
]
PARTICLE_MODELS = [m for m in TORCH_MODELS if m[1] in ("deepsets", "particlenet", "interaction_net", "transformer")]
# sha256 (first 16 hex digits) of the parameter names and bytes of each particle model built with seed 7 before sets
# existed (git f8a6e89): a model of one set is that model, weight for weight
TODAYS_WEIGHTS = {
    "deepsets": "4e4cd3ed14ad251e", "deepsets_mean": "01600718e5f23839", "particlenet": "c381ef4569c9d3cd",
    "particlenet_nofusion": "72eae19e9d3746dc", "interaction_net": "1b328a34a8750597",
    "transformer": "84121bbf5856437c", "transformer_mean": "63eee22fc2d2839c", "transformer_pairs": "7b510c7742485236",
}
# every torch family, and each set family on two sets
LEARNING = [(*model, False) for model in TORCH_MODELS] + [
    (f"{name}_two_sets", family, hparams, True) for name, family, hparams in PARTICLE_MODELS]
AUTOENCODERS = [("ae_dense", {"hidden": [8], "latent_dim": 2}),
                ("ae_image", {"input": "image", "channels": [4, 8], "latent_dim": 4})]


def particle_batch(
    n_real: list[int], n_max: int, seed: int, shift: float = 0.0, n_features: int = N_FEATURES, n_coordinates: int = 2,
) -> dict[str, torch.Tensor]:
    """Random jets with `n_real` particles each, padded to `n_max` with zeros (weaver layout)."""
    gen = torch.Generator().manual_seed(seed)
    batch = len(n_real)
    mask = (torch.arange(n_max).expand(batch, n_max) < torch.tensor(n_real).unsqueeze(1)).float().unsqueeze(1)
    features = (torch.randn(batch, n_features, n_max, generator=gen) + shift) * mask
    points = torch.randn(batch, n_coordinates, n_max, generator=gen) * 0.4 * mask
    pt = torch.rand(batch, n_max, generator=gen) * 50 + 1
    eta, phi = points[:, 0] + 0.5, points[:, 1] + 1.0
    vectors = torch.stack((pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta), pt * torch.cosh(eta)),
                          dim=1) * mask
    return {"features": features, "points": points, "mask": mask, "vectors": vectors,
            "highlevel": torch.randn(batch, N_HIGHLEVEL, generator=gen) + shift,
            "image": torch.randn(batch, *IMAGE, generator=gen) + shift}


def two_set_batch(n_real: list[int], n_max: int, seed: int, shift: float = 0.0) -> dict[str, torch.Tensor]:
    """particle_batch as set `part`, and a set `sv` of N_SV_FEATURES features, n_max // 2 slots, n // 2 + 1 real."""
    part = particle_batch(n_real, n_max, seed, shift)
    sv = particle_batch([min(n // 2 + 1, n_max // 2) for n in n_real], n_max // 2, seed + 1, shift, N_SV_FEATURES)
    return {**{f"part/{key}": part[key] for key in SET_KEYS}, **{f"sv/{key}": sv[key] for key in SET_KEYS}}


def run(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Call a model with the batch tensors its input_keys name."""
    return model(*(batch[key] for key in model.input_keys))


def each_set_input(batch: dict[str, torch.Tensor], prefix: str,
                   change: Callable[[str, torch.Tensor], torch.Tensor]) -> dict[str, torch.Tensor]:
    """The batch with change(name, tensor) applied to the inputs of the set whose keys start with `prefix`."""
    return {key: change(key.removeprefix(prefix), value) if key.startswith(prefix) and key.removeprefix(prefix) in
            SET_KEYS else value for key, value in batch.items()}


def assert_set_invariance(model: torch.nn.Module, batch: dict[str, torch.Tensor], prefixes: list[str]) -> None:
    """For each set (its keys start with a prefix): shuffling its slots (padded ones interleaved), adding or removing
    padding, or junk in padded slots leaves the output unchanged; changing a real element does not."""
    reference = run(model, batch)
    for prefix in prefixes:
        mask = batch[prefix + "mask"]
        perm = torch.randperm(mask.size(-1), generator=torch.Generator().manual_seed(4))
        assert not torch.equal(mask[..., perm], mask)
        n_used = int(mask.sum(dim=-1).max())
        changes = [lambda name, value: value[..., perm], lambda name, value: torch.nn.functional.pad(value, (0, 7)),
                   lambda name, value: value[..., :n_used],
                   lambda name, value: value if name == "mask" else value + (1 - mask) * 3.0]
        for change in changes:
            torch.testing.assert_close(run(model, each_set_input(batch, prefix, change)), reference, atol=1e-5,
                                       rtol=1e-5)
        moved = {**batch, prefix + "features": batch[prefix + "features"].clone(),
                 prefix + "points": batch[prefix + "points"].clone()}
        moved[prefix + "features"][0, :, 0] += 1.0
        moved[prefix + "points"][0, :, 0] += 0.3
        assert not torch.allclose(run(model, moved)[0], reference[0], atol=1e-4)


@pytest.mark.parametrize("n_outputs", [2, 5, 1])
@pytest.mark.parametrize("name,family,hparams", TORCH_MODELS, ids=[m[0] for m in TORCH_MODELS])
def test_output_shape(name: str, family: str, hparams: dict, n_outputs: int) -> None:
    """Every torch family maps a batch to (B, n_outputs) finite outputs, in train and eval mode."""
    model = build_model(family, DIMS, n_outputs, **hparams)
    batch = particle_batch([7, 1, 12, 3], 12, seed=1)
    assert run(model, batch).shape == (4, n_outputs)
    out = run(model.eval(), batch)
    assert out.shape == (4, n_outputs) and torch.isfinite(out).all()


@pytest.mark.parametrize("name,hparams", AUTOENCODERS, ids=[a[0] for a in AUTOENCODERS])
def test_autoencoder_shapes(name: str, hparams: dict) -> None:
    """Autoencoders reconstruct their input's shape and score each jet with a non-negative MSE."""
    model = build_model("autoencoder", DIMS, 2, **hparams).eval()
    batch = particle_batch([3, 3, 3], 3, seed=2)
    (key,) = model.input_keys
    assert run(model, batch).shape == batch[key].shape
    score = model.anomaly_score(batch[key])
    assert score.shape == (3,) and (score >= 0).all()
    assert torch.allclose(score, ((run(model, batch) - batch[key]) ** 2).flatten(1).mean(1))


def test_odd_image_size_round_trips() -> None:
    """The image autoencoder gives back odd-sized images (33x33) unchanged in shape."""
    model = build_model("autoencoder", {"image": (2, 33, 33)}, 1, input="image", channels=[4, 4, 4])
    assert model(torch.zeros(2, 2, 33, 33)).shape == (2, 2, 33, 33)


@pytest.mark.parametrize("name,family,hparams", PARTICLE_MODELS, ids=[m[0] for m in PARTICLE_MODELS])
def test_permutation_and_padding_invariance(name: str, family: str, hparams: dict) -> None:
    """Shuffling particles (padded ones interleaved), adding or removing padding, or junk in padded slots
    leaves the output unchanged, also for jets with fewer particles than kNN neighbours."""
    model = build_model(family, DIMS, 3, **hparams).eval()
    assert_set_invariance(model, particle_batch([9, 2, 1, 6, 9], 10, seed=3), [""])


@pytest.mark.parametrize("name,family,hparams", PARTICLE_MODELS, ids=[m[0] for m in PARTICLE_MODELS])
def test_one_set_models_are_todays_models(name: str, family: str, hparams: dict) -> None:
    """On one set (inputs features, points, vectors, mask) every set family builds exactly the model it built before
    sets existed: the same parameters, created in the same order, with the same weights from the same seed."""
    model = build_model(family, DIMS, 2, seed=7, **hparams)
    digest = hashlib.sha256()
    for key, tensor in model.state_dict().items():
        digest.update(key.encode())
        digest.update(tensor.numpy().tobytes())
    assert digest.hexdigest()[:16] == TODAYS_WEIGHTS[name]
    assert type(model).__module__ == f"rootml.models.{family}"


@pytest.mark.parametrize("name,family,hparams", PARTICLE_MODELS, ids=[m[0] for m in PARTICLE_MODELS])
def test_two_set_models_join_their_sets(name: str, family: str, hparams: dict) -> None:
    """On two sets the family's own model runs on the joined sequence: inputs <set>/<name> in set order, one
    embedding per set to set_embed_dim (the model's feature width) and a set-type vector each; the output is
    invariant under each set's slot order and padding, and a real element of either set matters."""
    model = build_model(family, TWO_SET_DIMS, 3, seed=2, set_embed_dim=12, **hparams).eval()
    keys = build_model(family, DIMS, 3, **hparams).input_keys
    assert model.input_keys == tuple(f"{name}/{key}" for name in ("part", "sv") for key in keys)
    assert (model.embed["part"].in_features, model.embed["sv"].in_features) == (N_FEATURES, N_SV_FEATURES)
    assert model.set_type.shape == (2, 12, 1)
    assert type(model.core).__module__ == f"rootml.models.{family}"
    again = build_model(family, TWO_SET_DIMS, 3, seed=2, set_embed_dim=12, **hparams).state_dict()
    assert all(torch.equal(tensor, again[key]) for key, tensor in model.state_dict().items())
    assert_set_invariance(model, two_set_batch([9, 2, 1, 6, 9], 10, seed=3), ["part/", "sv/"])


def test_particlenet_graph_on_three_coordinates() -> None:
    """ParticleNet on a set with three coordinates (hits in x, y, z) builds its kNN graph in all three: it stays
    invariant under slot order and padding, and moving elements along z alone changes its output."""
    model = build_model("particlenet", {"features": N_FEATURES, "points": 3}, 3, seed=1, k=3, conv_params=[[16]],
                        fc_params=[16]).eval()
    batch = particle_batch([9, 2, 1, 6, 9], 10, seed=3, n_coordinates=3)
    assert_set_invariance(model, batch, [""])
    stretched = {**batch, "points": batch["points"] * torch.tensor([1.0, 1.0, 5.0]).view(1, 3, 1)}
    assert not torch.equal(knn(stretched["points"], batch["mask"], 3)[0], knn(batch["points"], batch["mask"], 3)[0])
    assert not torch.allclose(run(model, stretched), run(model, batch), atol=1e-4)


def test_knn_neighbours_are_real_and_nearest() -> None:
    """kNN returns, for each real particle, its nearest other real particles; padded slots never appear."""
    coords = torch.tensor([[[0.0, 1.0, 3.0, 0.2, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]])  # particle 4 is padded
    mask = torch.tensor([[[1.0, 1.0, 1.0, 1.0, 0.0]]])
    index, valid = knn(coords, mask, k=5)
    nearest_of_0 = index[0, 0][valid[0, 0, 0] > 0].tolist()
    assert nearest_of_0 == [3, 1, 2]  # distances 0.2, 1, 3; not itself, not the padded particle
    assert valid[0, 0].sum(dim=-1).tolist() == [3, 3, 3, 3, 0]


def separable_batch(
    n: int, seed: int, make: Callable[..., dict[str, torch.Tensor]] = particle_batch,
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Two classes whose inputs (made by `make`) differ by a mean shift of 1 (half of each), 2-9 particles per jet."""
    labels = torch.arange(n) % 2
    gen = torch.Generator().manual_seed(seed)
    n_real = torch.randint(2, 10, (n,), generator=gen).tolist()
    batch = make(n_real, 10, seed, shift=0.0)
    signal = make(n_real, 10, seed + 1, shift=1.0)
    chosen = {k: torch.where(labels.view(-1, *[1] * (v.dim() - 1)) == 1, signal[k], v) for k, v in batch.items()}
    return chosen, labels


@pytest.mark.parametrize("name,family,hparams,two_sets", LEARNING, ids=[case[0] for case in LEARNING])
def test_training_reduces_loss(name: str, family: str, hparams: dict, two_sets: bool) -> None:
    """A few Adam steps on a separable toy task lower the held-out cross-entropy by a clear margin (set families:
    on one set and on two)."""
    make, dims = (two_set_batch, TWO_SET_DIMS) if two_sets else (particle_batch, DIMS)
    batch, labels = separable_batch(128, 5, make)
    held_out, held_labels = separable_batch(128, 50, make)
    model = build_model(family, dims, 2, seed=7, **hparams)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = torch.nn.CrossEntropyLoss()

    def held_out_loss() -> float:
        model.eval()
        with torch.no_grad():
            loss = loss_fn(run(model, held_out), held_labels).item()
        model.train()
        return loss

    before = held_out_loss()
    for _ in range(25):
        optimizer.zero_grad()
        loss_fn(run(model, batch), labels).backward()
        optimizer.step()
    assert held_out_loss() < 0.7 * before



@pytest.fixture
def configured_torch():
    """configure_torch(2) for one test, then torch's previous threads and deterministic mode back."""
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    configure_torch(2)
    yield
    torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name,family,hparams,two_sets", LEARNING, ids=[case[0] for case in LEARNING])
def test_backward_is_deterministic_on_two_threads(name: str, family: str, hparams: dict, two_sets: bool,
                                                  configured_torch) -> None:
    """As the trainer configures torch, every family's backward pass (on one set and on two) has deterministic
    kernels and repeats bit for bit."""
    make, dims = (two_set_batch, TWO_SET_DIMS) if two_sets else (particle_batch, DIMS)
    batch, labels = separable_batch(256, 3, make)  # large enough for torch's parallel CPU kernels

    def gradients() -> list[torch.Tensor]:
        model = build_model(family, dims, 2, seed=7, **hparams)
        with torch.random.fork_rng():  # the same dropout masks in both passes
            torch.manual_seed(11)
            torch.nn.functional.cross_entropy(run(model, batch), labels).backward()
        return [parameter.grad for parameter in model.parameters() if parameter.grad is not None]

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*deterministic.*")  # warn_only's message for a missing kernel
        first, second = gradients(), gradients()
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))

def one_prong_images(n: int, gen: torch.Generator) -> torch.Tensor:
    """Background jet images: one centred Gaussian blob of random width and intensity (a 2-parameter family)."""
    grid = torch.arange(IMAGE[1]) - (IMAGE[1] - 1) / 2
    r2 = grid.view(-1, 1) ** 2 + grid.view(1, -1) ** 2
    width = 1.0 + 2.0 * torch.rand(n, 1, 1, 1, generator=gen)
    return (0.5 + torch.rand(n, 1, 1, 1, generator=gen)) * torch.exp(-r2 / (2 * width**2))


@pytest.mark.parametrize("name,hparams", AUTOENCODERS, ids=[a[0] for a in AUTOENCODERS])
def test_autoencoder_learns_background(name: str, hparams: dict) -> None:
    """Trained on background lying on a 2-dimensional manifold, the autoencoder's reconstruction error
    drops, and off-manifold (signal) jets score higher than unseen background."""
    gen = torch.Generator().manual_seed(8)
    if hparams.get("input") == "image":
        def background(n: int) -> torch.Tensor:
            return one_prong_images(n, gen)

        def signal(n: int) -> torch.Tensor:  # two prongs, off-centre
            return torch.roll(one_prong_images(n, gen), 3, dims=-1) + torch.roll(one_prong_images(n, gen), -3, dims=-2)
    else:
        basis = torch.randn(2, N_HIGHLEVEL, generator=gen)

        def background(n: int) -> torch.Tensor:
            return torch.randn(n, 2, generator=gen) @ basis

        def signal(n: int) -> torch.Tensor:
            return torch.randn(n, N_HIGHLEVEL, generator=gen) * 2.0

    model = build_model("autoencoder", DIMS, 1, seed=9, **hparams)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    train = background(256)
    before = model.anomaly_score(train).mean().item()
    for _ in range(60):
        optimizer.zero_grad()
        model.anomaly_score(train).mean().backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        assert model.anomaly_score(train).mean().item() < 0.5 * before
        assert model.anomaly_score(signal(256)).mean() > 2 * model.anomaly_score(background(256)).mean()


def bdt_data(n: int, seed: int, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs per class, separated along the first two features."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    x = rng.normal(size=(n, N_HIGHLEVEL)).astype(np.float32)
    x[:, 0] += 2.0 * y
    x[:, 1] -= 1.5 * y
    return x, y


@pytest.mark.parametrize("n_classes", [2, 5])
def test_bdt_classifier_learns(n_classes: int) -> None:
    """The BDT's validation log-loss falls, it separates the classes, and early stopping cuts the rounds."""
    x, y = bdt_data(2000, 10, n_classes)
    xv, yv = bdt_data(1000, 11, n_classes)
    model = build_model("bdt", DIMS, n_classes, seed=3, n_estimators=300, max_depth=3, early_stopping_rounds=5)
    model.set_params(n_jobs=1)
    model.fit(x, y, eval_set=[(xv, yv)], verbose=False)
    curve = next(iter(model.evals_result()["validation_0"].values()))
    assert curve[-1] < 0.6 * curve[0]
    assert model.predict_proba(xv).shape == (1000, n_classes)
    # classes 2.5 sigma apart: the Bayes accuracy is 0.89 (2 classes), 0.83 (5 classes)
    assert (model.predict(xv) == yv).mean() > (0.85 if n_classes == 2 else 0.75)
    assert model.best_iteration < 299


def test_bdt_regressor_and_seed() -> None:
    """n_outputs == 1 gives a regressor that fits a smooth target; the seed makes fits reproducible."""
    x, _ = bdt_data(1500, 12, 2)
    target = 3 * x[:, 0] - x[:, 1] ** 2
    fits = []
    for seed in (1, 1, 2):
        model = build_model("bdt", DIMS, 1, seed=seed, n_estimators=60, subsample=0.5, early_stopping_rounds=0)
        model.set_params(n_jobs=1)
        fits.append(model.fit(x, target).predict(x))
    assert np.mean((fits[0] - target) ** 2) < 0.1 * np.var(target)
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])


def test_seed_fixes_weights_without_touching_global_rng() -> None:
    """The same seed gives identical weights, another seed different ones; torch's global RNG is untouched."""
    state = torch.random.get_rng_state()
    first, again, other = (build_model("particlenet", DIMS, 2, seed=s).state_dict() for s in (4, 4, 5))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


@pytest.mark.parametrize("family,hparams,key,words", [
    ("mlp", {"hiden": [8]}, "models.m.hiden", "unknown hyper-parameter"),
    ("bdt", {"max_depth": 0}, "models.m.max_depth", "minimum"),
    ("bdt", {"subsample": 0.0}, "models.m.subsample", "less than or equal to the minimum"),
    ("mlp", {"dropout": "high"}, "models.m.dropout", "not of type"),
    ("particlenet", {"conv_params": [[16], []]}, "models.m.conv_params", "should be non-empty"),
    ("autoencoder", {"input": "particles"}, "models.m.input", "is not one of"),
    ("transformer", {"embed_dims": [30], "num_heads": 4}, "models.m.num_heads", "must divide"),
    ("cnn", {"channels": [4, 4, 4, 4, 4]}, "models.m.channels", "poolings do not fit"),
    ("cnn", {"kernel_size": 4}, "models.m.kernel_size", "must be odd"),
    ("resnet", {}, "models.m.family", "unknown model family"),
])
def test_bad_hparams_name_the_key(family: str, hparams: dict, key: str, words: str) -> None:
    """Unknown or invalid hyper-parameters raise ConfigError naming the full config key."""
    with pytest.raises(ConfigError, match=words) as error:
        build_model(family, DIMS, 2, config_key="models.m", **hparams)
    assert error.value.key == key


def test_missing_input_is_a_config_error() -> None:
    """A family paired with a representation that lacks its input names the model's key."""
    with pytest.raises(ConfigError, match="needs input 'features'") as error:
        build_model("deepsets", {"highlevel": 4}, 2)
    assert error.value.key == "deepsets"
    with pytest.raises(ConfigError, match=r"\(channels, H, W\)"):
        build_model("cnn", {"image": 33}, 2)


@pytest.mark.parametrize("family", sorted(MODEL_FAMILIES))
def test_schema_accepts_defaults_and_rejects_unknown_keys(family: str) -> None:
    """Each family's JSON schema accepts its defaults and forbids unknown keys."""
    schema = family_schema(family)
    defaults = {name: prop["default"] for name, prop in schema["properties"].items()}
    jsonschema.validate(defaults, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"not_a_param": 1}, schema)
