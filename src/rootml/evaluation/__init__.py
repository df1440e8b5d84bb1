"""Evaluation of trained models: metrics with uncertainties, metrics tables, and the evaluation figures."""

from rootml.evaluation.evaluate import evaluate_models, expected_figures

__all__ = ["evaluate_models", "expected_figures"]
