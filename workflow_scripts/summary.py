"""Rule summary: results/summary.md from the evaluation, pruning and ranking outputs."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.report import write_summary  # noqa: E402

sm = snakemake  # noqa: F821
write_summary(Path(sm.output[0]), evaluation_dir=Path(sm.input.metrics).parent,
              prune_dirs=[Path(p).parent for p in sm.input.pruning],
              rank_dirs=[Path(p).parent for p in sm.input.ranking], figures_root=Path(sm.output[0]).parent)
