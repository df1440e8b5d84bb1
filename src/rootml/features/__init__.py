"""Jet features for the preprocessing stage: substructure, high-level jet features, constituent features."""
