"""Preprocessing: splits, reweighting and normalization fitted on the training split."""
