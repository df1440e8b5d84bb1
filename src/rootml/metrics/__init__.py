"""Metric computations shared by training, evaluation, ranking and plotting, on plain arrays: signal-vs-background
ROC, AUC and rejection (binary), per-class AUCs, accuracy and cross entropy (multiclass), residual mse, bias and
resolution (regression), the cut at a signal efficiency and the sculpting it causes (sculpting), jet weights and
their Poisson bootstrap (weights, bootstrap), and the name suffix of a signal efficiency (names, importable without
numpy, scipy or scikit-learn)."""
