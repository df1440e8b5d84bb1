"""The comparison table of methods, the feature-selection curve on the synthetic dataset, and every ranking plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from rootml.plotting.ranking import (
    plot_importance_panels,
    plot_ranking_comparison,
    plot_selection_curves,
    plot_shap_bar,
    plot_shap_beeswarm,
    plot_shap_waterfall,
)
from rootml.ranking.compare import compare_rankings, method_importances
from rootml.ranking.metrics import TASK_METRICS
from rootml.ranking.selection import selection_curve
from rootml.ranking.shap_values import shap_importance, tree_shap
from rootml.ranking.xgb import xgb_importance
from test_ranking_methods import NAMES, informative_jets


def test_compare_rankings_ranks_normalises_and_orders() -> None:
    table = compare_rankings({
        "a": pd.Series({"x": 10.0, "y": 5.0, "z": 0.0}),
        "b": pd.Series({"x": 0.2, "y": 0.4, "z": -0.1}),
        "c": pd.Series({"x": 3.0, "y": 1.0}),
    })
    assert list(table.index) == ["x", "y", "z"]
    assert table.loc["x", ["rank_a", "rank_b", "rank_c"]].tolist() == [1.0, 2.0, 1.0]
    assert table.loc["z", "rank_b"] == 3.0 and np.isnan(table.loc["z", "rank_c"])
    np.testing.assert_allclose(table["importance_a"], [1.0, 0.5, 0.0])
    np.testing.assert_allclose(table["importance_b"], [0.5, 1.0, -0.25])
    np.testing.assert_allclose(table["mean_rank"], [4 / 3, 5 / 3, 3.0])
    with pytest.raises(ValueError, match="no feature importances"):
        compare_rankings({})


def test_method_importances_names_every_method() -> None:
    x, y = informative_jets(1000, 2)
    booster = xgb.XGBClassifier(n_estimators=10, max_depth=2, n_jobs=1).fit(x, y)
    permutation = pd.DataFrame({"loss_increase_mean": np.arange(8.0), "auc_drop_mean": -np.arange(8.0)}, index=NAMES)
    shap_table = shap_importance(tree_shap(booster, x[:50], NAMES, ["s"]))
    methods = method_importances(xgb_importance(booster, NAMES), permutation, TASK_METRICS["classification"],
                                 shap_table)
    assert list(methods) == ["xgb_weight", "xgb_cover", "xgb_gain", "xgb_total_gain", "xgb_total_cover",
                             "permutation_loss", "permutation_auc", "shap"]
    assert methods["permutation_auc"]["x7"] == -7.0
    assert method_importances() == {}


def test_selection_curve_saturates_after_the_informative_features() -> None:
    x, y = informative_jets(3000, 0)
    x_test, y_test = informative_jets(2000, 1)
    trained: list[list[str]] = []

    def logistic_auc(features: list[str]) -> float:
        columns = [NAMES.index(name) for name in features]
        trained.append(features)
        model = LogisticRegression().fit(x[:, columns], y)
        return float(roc_auc_score(y_test, model.predict_proba(x_test[:, columns])[:, 1]))

    ranking = ["x2", "x5", "x0", "x7", "x1", "x3", "x4", "x6"]
    curve = selection_curve(logistic_auc, ranking)
    assert curve["k"].tolist() == list(range(1, 9)) and curve["added"].tolist() == ranking
    assert trained[2] == ["x2", "x5", "x0"]
    auc = curve.set_index("k")["metric"]
    assert auc[1] < 0.85 and auc[2] > 0.95 and auc[3] - auc[2] > 0.002
    assert (auc[3:] - auc[3]).abs().max() < 0.003  # no gain from the noise features
    assert len(selection_curve(logistic_auc, ranking, k_max=3)) == 3
    with pytest.raises(ValueError, match="at least one feature"):
        selection_curve(logistic_auc, [])


def assert_written(paths: list[Path]) -> None:
    """A PDF and a PNG, both non-empty."""
    assert sorted(path.suffix for path in paths) == [".pdf", ".png"]
    assert all(path.stat().st_size > 1000 for path in paths)


def test_plots_write_pdf_and_png(tmp_path: Path) -> None:
    x, y = informative_jets(1500, 3, n_classes=3)
    booster = xgb.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1).fit(x, y)
    xgb_table = xgb_importance(booster, NAMES)
    assert_written(plot_importance_panels(xgb_table, {"gain": "gain", "weight": "weight"}, tmp_path / "xgb",
                                          title="BDT"))
    errors = xgb_table.assign(gain_std=0.1 * xgb_table["gain"])
    assert_written(plot_importance_panels(errors, {"gain": "gain"}, tmp_path / "err", errors={"gain": "gain_std"}))
    with pytest.raises(ValueError, match="missing"):
        plot_importance_panels(xgb_table, {"nope": "x"}, tmp_path / "bad")
    explanation = tree_shap(booster, x[:80], NAMES, ["g", "q", "t"])
    per_output = {name: explanation[:, :, k] for k, name in enumerate(["g", "q", "t"])}
    assert_written(plot_shap_bar(per_output, tmp_path / "shap_bar"))
    assert_written(plot_shap_bar({"g": per_output["g"]}, tmp_path / "shap_bar_one"))
    assert_written(plot_shap_beeswarm(per_output["q"], tmp_path / "beeswarm", title="q"))
    assert_written(plot_shap_waterfall(explanation[0, :, 1], tmp_path / "waterfall", title="jet 0"))
    comparison = compare_rankings(method_importances(xgb_table, shap_table=shap_importance(explanation)))
    assert_written(plot_ranking_comparison(comparison, tmp_path / "comparison"))
    with pytest.raises(ValueError, match="not a ranking comparison"):
        plot_ranking_comparison(xgb_table, tmp_path / "bad")
    curve = pd.DataFrame({"k": [1, 2, 3], "added": ["x2", "x5", "x0"], "metric": [0.8, 0.95, 0.96]})
    assert_written(plot_selection_curves({"bdt": curve}, tmp_path / "selection"))
    assert_written(plot_selection_curves({"bdt": curve, "mlp": curve.assign(metric=[0.7, 0.9, 0.93])},
                                         tmp_path / "selection_two", metric_label="Test AUC"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{stem}.{suffix}" for stem in ("xgb", "err", "shap_bar", "shap_bar_one", "beeswarm", "waterfall",
                                        "comparison", "selection", "selection_two") for suffix in ("pdf", "png"))


def test_beeswarm_is_the_same_whatever_numpys_global_random_state(tmp_path: Path) -> None:
    """shap jitters the beeswarm's dots with np.random: the figure is seeded, so every run writes the same bytes, and
    the caller's global random state is left as it was."""
    x, labels = informative_jets(300, seed=5)
    booster = xgb.train({"objective": "binary:logistic", "max_depth": 2}, xgb.DMatrix(x, label=labels == 2), 10)
    explanation = tree_shap(booster, x[:80], NAMES, ["t"])[:, :, 0]
    pictures = []
    for state in (1, 2):
        np.random.seed(state)
        plot_shap_beeswarm(explanation, tmp_path / f"beeswarm{state}")
        assert np.random.randint(1 << 30) == np.random.RandomState(state).randint(1 << 30)
        pictures.append((tmp_path / f"beeswarm{state}.png").read_bytes())
    assert pictures[0] == pictures[1]
