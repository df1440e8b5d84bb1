"""Rule train: one model run -> its trained-model files (resumes from its checkpoint when present)."""
import sys
from dataclasses import replace

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.config import ModelRun
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split
from rootml.training.files import ModelFiles
from rootml.training.run import train_model


def main(sm) -> None:
    """Train the rule's model run on its prepared inputs."""
    run = ModelRun.from_dict(sm.params.run)
    if run.training.num_threads is None:  # the rule's threads bound torch's CPU threads unless the config sets them
        run = replace(run, training=replace(run.training, num_threads=sm.threads))
    train_model(run, sm.params.classes, prepared_by_split(dict(sm.input.items())), ModelFiles.of_outputs(sm.output),
                progress=False)


run_job(snakemake, main)
