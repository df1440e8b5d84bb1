"""Boosted decision trees: an XGBoost classifier or regressor on the high-level features."""

from __future__ import annotations

import xgboost as xgb

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.specs import FAMILY_SPECS

INPUT_KEYS: tuple[str, ...] = ("highlevel",)


def build(spec: BuildSpec) -> xgb.XGBClassifier | xgb.XGBRegressor:
    """XGBRegressor for n_outputs == 1, else XGBClassifier (binary or multi-class, inferred from the labels).

    Seeded by `spec.seed`; with early stopping, `fit` needs `eval_set=[(X_val, y_val)]`.
    """
    hp = dict(spec.hp)
    hp["early_stopping_rounds"] = hp["early_stopping_rounds"] or None
    common = dict(tree_method="hist", random_state=spec.seed, **hp)
    if spec.n_outputs == 1:
        return xgb.XGBRegressor(objective="reg:squarederror", eval_metric="rmse", **common)
    return xgb.XGBClassifier(eval_metric="logloss" if spec.n_outputs == 2 else "mlogloss", **common)


FAMILY = ModelFamily.bind(FAMILY_SPECS["bdt"], build)
