"""Rule plot_pruning: the metric-versus-sparsity figure of every pruned model."""
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.plotting.pruning import plot_metric_vs_sparsity


def main(sm) -> None:
    """Plot the pruning tables of the rule's models, labelled with their metric."""
    summaries = [json.loads(Path(path).read_text()) for path in sm.input.summaries]
    tables = {name: pd.read_csv(path) for name, path in zip(sm.params.models, sm.input.tables)}
    plot_metric_vs_sparsity(tables, Path(sm.output.png).with_suffix(""), metric_label=summaries[0]["metric"].upper())


run_job(snakemake, main)
