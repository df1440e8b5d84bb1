"""Rule summary: results/summary.md from the evaluation, pruning, quantization, firmware, ranking, explore outputs."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.report import write_summary


def main(sm) -> None:
    """Write the summary of the rule's inputs."""
    write_summary(Path(sm.output.summary), metrics_md=Path(sm.input.metrics_md),
                  metrics_csv=Path(sm.input.metrics_csv),
                  pruned={name: (Path(table), Path(latency))
                          for name, table, latency in zip(sm.params.pruned, sm.input.pruning, sm.input.latency)},
                  ranked={name: Path(table) for name, table in zip(sm.params.ranked, sm.input.ranking)},
                  clusters=[Path(table) for table in sm.input.clusters],
                  quantized={name: Path(path) for name, path in zip(sm.params.quantized, sm.input.quantization)},
                  emulated={name: Path(table) for name, table in zip(sm.params.emulated, sm.input.firmware)},
                  folds={name: Path(table) for name, table in zip(sm.params.folded, sm.input.folds)},
                  figures=[Path(path) for path in sm.input.figures], relative_to=Path("results"))


run_job(snakemake, main)
