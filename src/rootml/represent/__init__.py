"""Represent stage: kNN graphs and images built from the padded elements of a set."""
