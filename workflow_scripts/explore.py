"""Rules explore and explore_highlevel: embeddings and clustering of one model's latent or hidden space, or of the
high-level features."""
import sys
from dataclasses import replace

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split
from rootml.unsupervised.run import ExploreFiles, explore_highlevel, explore_model
from rootml.unsupervised.settings import ExploreSettings


def main(sm) -> None:
    """Explore the rule's space with the explore settings; the rule's threads unless they set num_threads."""
    settings = ExploreSettings.from_config(sm.params.settings)
    settings = replace(settings, num_threads=settings.num_threads or sm.threads)
    test = prepared_by_split(dict(sm.input.items()))["test"]
    out = ExploreFiles.of_outputs(sm.output)
    if "config" in sm.input.keys():
        explore_model(sm.input.config, sm.input.weights, test, out, settings, sm.params.seed)
    else:
        explore_highlevel(test["highlevel"], out, settings, sm.params.seed)


run_job(snakemake, main)
