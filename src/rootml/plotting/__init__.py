"""Figures: the shared mplhep style and the plots of each stage, written as PDF and PNG."""
