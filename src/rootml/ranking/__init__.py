"""Feature ranking: XGBoost importances, permutation importance, SHAP values, their comparison and the
feature-selection curve; `rank_model` is the entry point of the rank rule.
"""

from rootml.ranking.run import DEFAULT_SETTINGS, rank_model

__all__ = ["DEFAULT_SETTINGS", "rank_model"]
