"""XGBoost's built-in importances (weight, cover, gain, total_gain, total_cover) side by side."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import xgboost as xgb

IMPORTANCE_TYPES: tuple[str, ...] = ("weight", "cover", "gain", "total_gain", "total_cover")


def xgb_importance(model: xgb.Booster | xgb.XGBModel, feature_names: Sequence[str]) -> pd.DataFrame:
    """One column per importance type, one row per feature (0 for a feature no tree splits on)."""
    booster = model.get_booster() if isinstance(model, xgb.XGBModel) else model
    if booster.num_features() != len(feature_names):
        raise ValueError(f"the booster has {booster.num_features()} features, {len(feature_names)} names given")
    keys = booster.feature_names or [f"f{i}" for i in range(len(feature_names))]
    scores = {kind: booster.get_score(importance_type=kind) for kind in IMPORTANCE_TYPES}
    return pd.DataFrame({kind: [float(scores[kind].get(key, 0.0)) for key in keys] for kind in IMPORTANCE_TYPES},
                        index=pd.Index(list(feature_names), name="feature"))
