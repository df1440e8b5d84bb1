"""Represent stage: particle graphs and jet images built from padded particle clouds."""
