"""Evaluation of trained models: metrics with uncertainties (metrics), metrics tables (tables), the evaluation
figures (evaluate) and their names and captions (names, imported by the Snakefile without the heavy modules)."""
