"""Rule plot_pruning: the metric-versus-sparsity figure of every pruned model."""
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.plotting.pruning import plot_metric_vs_sparsity  # noqa: E402

sm = snakemake  # noqa: F821
summaries = {Path(path).parent.name: json.loads(Path(path).read_text()) for path in sm.input}
tables = {name: pd.read_csv(Path(path).with_name("pruning.csv")) for name, path in zip(summaries, sm.input)}
metric = next(iter(summaries.values()))["metric"]
plot_metric_vs_sparsity(tables, Path(sm.output.png).with_suffix(""), metric_label=metric.upper())
