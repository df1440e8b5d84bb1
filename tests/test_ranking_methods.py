"""XGBoost importances, permutation importance and SHAP values on a synthetic dataset whose informative features
are known: the label depends strongly on x2 and x5, weakly on x0, not at all on the others.
`informative_jets` serves the other test_ranking_* modules."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch
import xgboost as xgb
from scipy.special import softmax

from rootml.ranking.metrics import TASK_METRICS
from rootml.ranking.permutation import permutation_importance
from rootml.ranking.shap_values import OutputOf, shap_importance, torch_shap, tree_shap
from rootml.ranking.xgb import IMPORTANCE_TYPES, xgb_importance

NAMES = [f"x{i}" for i in range(8)]
STRONG, WEAK = {"x2", "x5"}, "x0"
METRICS = TASK_METRICS["classification"]


def informative_jets(n: int, seed: int, n_classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, 8) float32 and labels: strongly driven by x2 and x5, weakly by x0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(NAMES))).astype(np.float32)
    if n_classes == 2:
        label = 2 * x[:, 2] - 2 * x[:, 5] + 0.6 * x[:, 0] + 0.5 * rng.logistic(size=n) > 0
    else:
        logits = np.stack([np.zeros(n), 2.5 * x[:, 2] + 0.8 * x[:, 0], 2.5 * x[:, 5] - 0.8 * x[:, 0]], axis=1)
        label = np.argmax(logits + rng.gumbel(scale=0.5, size=logits.shape), axis=1)
    return x, label.astype(np.int64)


def assert_informative_first(importance: dict[str, float] | object) -> None:
    """The two strong features rank first and second, the weak one third."""
    order = list(importance.sort_values(ascending=False, kind="stable").index)
    assert set(order[:2]) == STRONG, order
    assert order[2] == WEAK, order


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op torch thread: on a shared 2-core machine more threads make these small models many times slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def jets() -> dict[str, np.ndarray]:
    """Training and test jets of the binary problem."""
    x, y = informative_jets(4000, 0)
    x_test, y_test = informative_jets(2000, 1)
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test, "w_test": np.ones(len(y_test), np.float32)}


@pytest.fixture(scope="module")
def booster(jets: dict[str, np.ndarray]) -> xgb.XGBClassifier:
    """A small seeded BDT."""
    return xgb.XGBClassifier(n_estimators=60, max_depth=3, learning_rate=0.2, n_jobs=1, random_state=3).fit(
        jets["x"], jets["y"])


@pytest.fixture(scope="module")
def mlp(jets: dict[str, np.ndarray]) -> torch.nn.Module:
    """A tiny torch MLP (8 -> 16 -> 2 logits) trained for 300 Adam steps."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    x, y = torch.from_numpy(jets["x"]), torch.from_numpy(jets["y"])
    generator = torch.Generator().manual_seed(0)
    for _ in range(300):
        rows = torch.randint(0, len(x), (128,), generator=generator)
        loss = torch.nn.functional.cross_entropy(net(x[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net.eval()


def mlp_predict(net: torch.nn.Module):
    """predict(inputs) -> class probabilities of the torch MLP."""
    def predict(inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return softmax(net(torch.from_numpy(inputs["highlevel"])).numpy(), axis=1)
    return predict


def test_xgb_importances_rank_informative_first(booster: xgb.XGBClassifier) -> None:
    table = xgb_importance(booster, NAMES)
    assert list(table.columns) == list(IMPORTANCE_TYPES) and list(table.index) == NAMES
    for kind in IMPORTANCE_TYPES:
        assert_informative_first(table[kind])
    assert (table["weight"] == table["weight"].round()).all() and table["weight"].sum() > 60
    # total_gain is gain summed over the splits, i.e. gain times the number of splits (weight)
    np.testing.assert_allclose(table["total_gain"], table["gain"] * table["weight"], rtol=1e-4)
    booster_only = xgb_importance(booster.get_booster(), NAMES)
    np.testing.assert_allclose(booster_only.to_numpy(), table.to_numpy())
    with pytest.raises(ValueError, match="8 features, 3 names"):
        xgb_importance(booster, NAMES[:3])


@pytest.mark.parametrize("model", ["bdt", "mlp"])
def test_permutation_ranks_informative_first(model: str, jets: dict[str, np.ndarray], booster: xgb.XGBClassifier,
                                             mlp: torch.nn.Module) -> None:
    predict = mlp_predict(mlp) if model == "mlp" else (lambda inputs: booster.predict_proba(inputs["highlevel"]))
    args = (predict, {"highlevel": jets["x_test"]}, jets["y_test"], jets["w_test"], METRICS)
    table, baseline = permutation_importance(*args, key="highlevel", feature_names=NAMES, n_repeats=4, seed=11)
    assert baseline["auc"] > 0.95 and 0.1 < baseline["loss"] < 0.35
    for column in ("loss_increase_mean", "auc_drop_mean", "loss_ratio_mean", "auc_ratio_mean"):
        assert_informative_first(table[column])
    strong = table.loc[sorted(STRONG)]
    assert (strong["loss_increase_mean"] > 0.5).all() and (strong["auc_drop_mean"] > 0.2).all()
    assert (strong["loss_ratio_mean"] > 2).all() and (strong["auc_ratio_mean"] > 1.2).all()
    assert (strong["loss_increase_std"] > 0).all()
    noise = table.drop(index=[*STRONG, WEAK])
    assert (noise["loss_increase_mean"].abs() < 0.01).all() and (noise["auc_drop_mean"].abs() < 0.005).all()
    again, _ = permutation_importance(*args, key="highlevel", feature_names=NAMES, n_repeats=4, seed=11)
    other, _ = permutation_importance(*args, key="highlevel", feature_names=NAMES, n_repeats=4, seed=12)
    assert again.equals(table) and not other.equals(table)


def test_tree_shap_ranks_and_adds_up(jets: dict[str, np.ndarray], booster: xgb.XGBClassifier) -> None:
    data = jets["x_test"][:400]
    explanation = tree_shap(booster, data, NAMES, ["signal"])
    assert explanation.values.shape == (400, 8, 1) and explanation.output_names == ["signal"]
    margin = booster.predict(data, output_margin=True)
    np.testing.assert_allclose(explanation.values.sum(axis=1)[:, 0] + explanation.base_values[:, 0], margin,
                               atol=1e-4)
    table = shap_importance(explanation)
    assert_informative_first(table["mean_abs_shap"])
    np.testing.assert_allclose(table["mean_abs_shap_signal"], table["mean_abs_shap"])


def test_tree_shap_multiclass_explains_every_class() -> None:
    x, y = informative_jets(1500, 5, n_classes=3)
    model = xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1, random_state=0).fit(x, y)
    explanation = tree_shap(model, x[:100], NAMES, ["a", "b", "c"])
    assert explanation.values.shape == (100, 8, 3) and explanation.base_values.shape == (100, 3)
    table = shap_importance(explanation)
    assert_informative_first(table["mean_abs_shap"])
    # class b is driven by x2, class c by x5
    assert table["mean_abs_shap_b"].idxmax() == "x2" and table["mean_abs_shap_c"].idxmax() == "x5"
    with pytest.raises(ValueError, match="2 outputs"):
        tree_shap(model, x[:10], NAMES, ["a", "b"])


@pytest.mark.parametrize("explainer", ["deep", "gradient"])
def test_torch_shap_ranks_informative_first(explainer: str, jets: dict[str, np.ndarray], mlp: torch.nn.Module) -> None:
    data, background = jets["x_test"][:200], jets["x"][:100]
    explanation = torch_shap(mlp, data, background, NAMES, ["g", "q"], explainer=explainer, n_samples=50, seed=1)
    assert explanation.values.shape == (200, 8, 2)
    assert_informative_first(shap_importance(explanation)["mean_abs_shap"])
    with torch.no_grad():
        logits = mlp(torch.from_numpy(data)).numpy()
        expected = mlp(torch.from_numpy(background)).mean(dim=0).numpy()
    np.testing.assert_allclose(explanation.base_values[0], expected, rtol=1e-5)
    reconstructed = explanation.values.sum(axis=1) + explanation.base_values
    if explainer == "deep":  # DeepLIFT is exact for a ReLU network
        np.testing.assert_allclose(reconstructed, logits, atol=1e-4)
    else:  # expected gradients are a sampled estimate
        assert np.corrcoef(reconstructed[:, 1], logits[:, 1])[0, 1] > 0.99


def test_torch_shap_through_an_output_function(jets: dict[str, np.ndarray], mlp: torch.nn.Module) -> None:
    difference = OutputOf(mlp, lambda model, x: model(x)[:, 1] - model(x)[:, 0])
    explanation = torch_shap(difference, jets["x_test"][:100], jets["x"][:50], NAMES, ["log_odds"],
                             explainer="deep")
    assert explanation.values.shape == (100, 8, 1)
    with torch.no_grad():
        log_odds = difference(torch.from_numpy(jets["x_test"][:100])).numpy()[:, 0]
    np.testing.assert_allclose(explanation.values.sum(axis=1)[:, 0] + explanation.base_values[:, 0], log_odds,
                               atol=1e-4)
    with pytest.raises(ValueError, match="unknown SHAP explainer"):
        torch_shap(mlp, jets["x_test"][:5], jets["x"][:5], NAMES, ["g", "q"], explainer="kernel")
