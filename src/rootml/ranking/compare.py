"""One table ranking the features by every method: ranks and normalised importances side by side."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from rootml.ranking.metrics import Metric
from rootml.ranking.xgb import IMPORTANCE_TYPES


def method_importances(
    xgb_table: pd.DataFrame | None = None, permutation_table: pd.DataFrame | None = None,
    permutation_metrics: tuple[Metric, ...] = (), shap_table: pd.DataFrame | None = None,
) -> dict[str, pd.Series]:
    """Importance series (higher = more important) per method: xgb_{type}, permutation_{metric}, shap."""
    methods: dict[str, pd.Series] = {}
    if xgb_table is not None:
        methods.update({f"xgb_{kind}": xgb_table[kind] for kind in IMPORTANCE_TYPES})
    if permutation_table is not None:
        methods.update({f"permutation_{metric.name}": permutation_table[f"{metric.name}_{metric.degradation}_mean"]
                        for metric in permutation_metrics})
    if shap_table is not None:
        methods["shap"] = shap_table["mean_abs_shap"]
    return methods


def compare_rankings(importances: Mapping[str, pd.Series]) -> pd.DataFrame:
    """rank_{method} (1 = most important), importance_{method} (divided by the method's largest |value|) and
    mean_rank over the methods, one row per feature, ordered by mean rank."""
    if not importances:
        raise ValueError("no feature importances to compare")
    frame = pd.DataFrame(dict(importances))
    frame.index.name = "feature"
    ranks = frame.rank(ascending=False, method="min")
    scale = frame.abs().max().replace(0.0, 1.0)
    table = pd.concat([ranks.add_prefix("rank_"), (frame / scale).add_prefix("importance_")], axis=1)
    table["mean_rank"] = ranks.mean(axis=1)
    return table.sort_values(["mean_rank", *ranks.columns.map("rank_{}".format)], kind="stable")
