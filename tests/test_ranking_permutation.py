"""Permutation importance of particle-feature channels (whole rows move between jets, padding stays padding) and
of image channels, and its input checks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from rootml.ranking.metrics import TASK_METRICS, Metric
from rootml.ranking.permutation import permutation_importance

N_JETS, N_CHANNELS, N_SLOTS = 400, 3, 10
METRICS = TASK_METRICS["classification"]


@pytest.fixture(scope="module")
def particles() -> dict[str, np.ndarray]:
    """Padded particle features (n, C, P) whose channel 1 carries the class; mask (n, P) with 2..P real slots."""
    rng = np.random.default_rng(4)
    label = rng.integers(0, 2, N_JETS)
    mask = np.arange(N_SLOTS)[None, :] < rng.integers(2, N_SLOTS + 1, N_JETS)[:, None]
    features = rng.normal(size=(N_JETS, N_CHANNELS, N_SLOTS)).astype(np.float32)
    features[:, 1] += 1.5 * (2 * label[:, None] - 1)
    return {"features": features * mask[:, None, :], "mask": mask, "label": label}


def channel_mean_model(channel: int, calls: list[dict[str, np.ndarray]] | None = None):
    """predict: class probabilities from the mean of one channel over the real particles (records its inputs)."""
    def predict(inputs: dict[str, np.ndarray]) -> np.ndarray:
        if calls is not None:
            calls.append({key: value.copy() for key, value in inputs.items()})
        mask = inputs["mask"].reshape(len(inputs["mask"]), -1).astype(bool)
        mean = (inputs["features"][:, channel] * mask).sum(axis=1) / mask.sum(axis=1)
        p = expit(3 * mean)
        return np.stack([1 - p, p], axis=1)
    return predict


def test_particle_channels_move_whole_rows_and_keep_padding(particles: dict[str, np.ndarray]) -> None:
    calls: list[dict[str, np.ndarray]] = []
    inputs = {"features": particles["features"], "mask": particles["mask"]}
    table, baseline = permutation_importance(
        channel_mean_model(1, calls), inputs, particles["label"], np.ones(N_JETS), METRICS, key="features",
        feature_names=["a", "b", "c"], mask_key="mask", n_repeats=2, seed=0)
    assert baseline["auc"] > 0.95
    assert table.loc["b", "auc_drop_mean"] > 0.3 and table.loc["b", "loss_increase_mean"] > 0.3
    np.testing.assert_array_equal(table.loc[["a", "c"], ["loss_increase_mean", "auc_drop_mean"]].to_numpy(), 0.0)
    np.testing.assert_array_equal(table.loc[["a", "c"], ["loss_ratio_mean", "auc_ratio_mean"]].to_numpy(), 1.0)
    assert len(calls) == 1 + 3 * 2
    mask, original = particles["mask"], particles["features"]
    for call_index, channel in ((1, 0), (3, 1), (6, 2)):
        permuted = calls[call_index]["features"]
        others = [c for c in range(N_CHANNELS) if c != channel]
        np.testing.assert_array_equal(permuted[:, others], original[:, others])
        np.testing.assert_array_equal(permuted[:, channel][~mask], 0.0)
        assert not np.array_equal(permuted[:, channel], original[:, channel])
        # each jet's real slots hold the same slots of one donor jet's row (where the donor is padded: 0)
        same = (permuted[:, None, channel] == original[None, :, channel]) | ~mask[:, None, :]
        assert same.all(axis=2).any(axis=1).all()
    # the inputs are left untouched
    np.testing.assert_array_equal(inputs["features"], original)


def test_image_channels(particles: dict[str, np.ndarray]) -> None:
    rng = np.random.default_rng(1)
    label = particles["label"]
    image = rng.random((N_JETS, 2, 5, 5)).astype(np.float32)
    image[:, 1] += label[:, None, None]

    def predict(inputs: dict[str, np.ndarray]) -> np.ndarray:
        p = expit(4 * (inputs["image"][:, 1].mean(axis=(1, 2)) - 1.0))
        return np.stack([1 - p, p], axis=1)

    table, _ = permutation_importance(predict, {"image": image}, label, np.ones(N_JETS), METRICS, key="image",
                                      feature_names=["neutral", "charged"], n_repeats=3)
    assert table.loc["charged", "auc_drop_mean"] > 0.4
    assert table.loc["neutral", "auc_drop_mean"] == 0.0 and table.loc["neutral", "auc_drop_std"] == 0.0


def test_regression_metric_and_weights() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(500, 2))
    target = 3 * x[:, 0]
    weights = rng.uniform(0.5, 2.0, 500)
    table, baseline = permutation_importance(
        lambda inputs: 3 * inputs["highlevel"][:, 0], {"highlevel": x}, target, weights, TASK_METRICS["regression"],
        key="highlevel", feature_names=["x", "noise"], n_repeats=3)
    assert baseline == {"mse": 0.0}
    # shuffling x makes the squared error 9 * 2 * var(x) on average
    assert 12 < table.loc["x", "mse_increase_mean"] < 24
    assert table.loc["noise", "mse_increase_mean"] == 0.0
    assert np.isinf(table.loc["x", "mse_ratio_mean"])


def test_bad_arguments(particles: dict[str, np.ndarray]) -> None:
    inputs = {"features": particles["features"], "mask": particles["mask"]}
    args = (channel_mean_model(1), inputs, particles["label"], np.ones(N_JETS), METRICS)
    with pytest.raises(ValueError, match="3 features along axis 1, 2 names"):
        permutation_importance(*args, key="features", feature_names=["a", "b"])
    with pytest.raises(KeyError, match="'points'"):
        permutation_importance(*args, key="points", feature_names=["a", "b"])
    with pytest.raises(ValueError, match="does not match a feature slice"):
        permutation_importance(channel_mean_model(1), {**inputs, "short": particles["mask"][:, :4]}, *args[2:],
                               key="features", feature_names=["a", "b", "c"], mask_key="short")
    with pytest.raises(ValueError, match="n_repeats"):
        permutation_importance(*args, key="features", feature_names=["a", "b", "c"], n_repeats=0)
    assert Metric("x", lambda *a: 0.0, True).degradation == "drop"
