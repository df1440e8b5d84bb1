"""Rule rank: feature importances of one trained model."""
import sys
from dataclasses import replace

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split
from rootml.ranking.run import RankFiles, rank_model
from rootml.ranking.settings import RankingSettings


def main(sm) -> None:
    """Rank the rule's model with the ranking settings; the rule's threads unless they set num_threads."""
    settings = RankingSettings.from_config(sm.params.settings)
    settings = replace(settings, num_threads=settings.num_threads or sm.threads)
    rank_model(sm.input.config, sm.input.weights, prepared_by_split(dict(sm.input.items())),
               RankFiles.of_outputs(sm.output), settings)


run_job(snakemake, main)
