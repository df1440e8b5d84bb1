"""Boosted decision trees: an XGBoost classifier or regressor on the high-level features."""

from __future__ import annotations

import xgboost as xgb

from rootml.models.common import BuildSpec, ModelFamily, integer, number

INPUT_KEYS: tuple[str, ...] = ("highlevel",)

HPARAMS = {
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
}


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


FAMILY = ModelFamily("bdt", HPARAMS, lambda hp: "highlevel", build)
