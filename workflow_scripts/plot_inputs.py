"""Rule plot_inputs: per-class distributions of every input feature and the average jet images (train split)."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.plotting.inputs import plot_inputs
from rootml.preprocess.layout import REPRESENTATIONS


def main(sm) -> None:
    """Plot the rule's prepared training files."""
    written = plot_inputs({representation: sm.input[representation] for representation in REPRESENTATIONS},
                          sm.output.features, Path(sm.output.images).with_suffix(""))
    logging.getLogger("rootml.plotting").info("wrote %d figures", len(written))


run_job(snakemake, main)
