"""Boosted decision trees: an XGBoost classifier or regressor on the high-level features."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rootml.models.family import BuildSpec, ModelFamily
from rootml.models.specs import FAMILY_SPECS

if TYPE_CHECKING:
    import xgboost as xgb

INPUT_KEYS: tuple[str, ...] = ("highlevel",)


def build(spec: BuildSpec) -> xgb.XGBClassifier | xgb.XGBRegressor:
    """XGBRegressor for n_outputs == 1, else XGBClassifier (binary or multi-class, inferred from the labels).

    Seeded by `spec.seed`; with early stopping, `fit` needs `eval_set=[(X_val, y_val)]`.
    """
    import xgboost as xgb  # on use: the torch jobs that import the registry skip XGBoost's and scikit-learn's ~2 s

    hp = dict(spec.hp)
    hp["early_stopping_rounds"] = hp["early_stopping_rounds"] or None
    common = dict(tree_method="hist", random_state=spec.seed, **hp)
    if spec.n_outputs == 1:
        return xgb.XGBRegressor(objective="reg:squarederror", eval_metric="rmse", **common)
    return xgb.XGBClassifier(eval_metric="logloss" if spec.n_outputs == 2 else "mlogloss", **common)


FAMILY = ModelFamily.bind(FAMILY_SPECS["bdt"], build)
