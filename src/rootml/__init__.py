"""rootml: from ROOT files to trained, explained and pruned models, as one Snakemake DAG."""

__version__ = "0.1.0"
