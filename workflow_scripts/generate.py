"""Rule generate: one chunk of Pythia 8 + FastJet jets for one sample."""
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.generate import generate_chunk
from rootml.generate.settings import GenerateSettings
from rootml.job import run_job


def main(sm) -> None:
    """Generate the chunk's jets into the rule's ROOT output."""
    generate_chunk(sm.output.root, **sm.params.chunk, classes=sm.params.classes,
                   settings=GenerateSettings.from_config(sm.params.settings))


run_job(snakemake, main)
