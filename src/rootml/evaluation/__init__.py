"""Evaluation of trained models: test metrics of prediction tables with uncertainties (metrics, computed by
rootml.metrics), metrics tables (tables), the evaluation figures (evaluate) and their captions (captions, imported by
the Snakefile without the heavy modules)."""
