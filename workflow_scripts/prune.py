"""Rule prune: one trained torch model -> pruning table, pruned weights, checked ONNX file, latency table."""
import sys
from dataclasses import replace

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split
from rootml.pruning.run import PruneFiles, prune_model
from rootml.pruning.settings import PruningSettings


def main(sm) -> None:
    """Prune the rule's model with the pruning settings; the rule's threads unless they set num_threads."""
    settings = PruningSettings.from_config(sm.params.settings)
    settings = replace(settings, num_threads=settings.num_threads or sm.threads)
    prune_model(sm.input.config, sm.input.weights, prepared_by_split(dict(sm.input.items())),
                PruneFiles.of_outputs(sm.output), settings)


run_job(snakemake, main)
