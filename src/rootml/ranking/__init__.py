"""Feature ranking: XGBoost importances, permutation importance, SHAP values, their comparison and the
feature-selection curve; `run.rank_model` is the entry point of the rank rule.
"""
