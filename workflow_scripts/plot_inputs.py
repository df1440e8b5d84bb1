"""Rule plot_inputs: per-class distributions of every input feature and the average images (train split)."""
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.plotting.inputs import plot_inputs


def main(sm) -> None:
    """Plot the rule's prepared training files (the average images when the rule has the images figure)."""
    outputs = dict(sm.output.items())
    images = Path(outputs["images"]).with_suffix("") if "images" in outputs else None
    written = plot_inputs(dict(sm.input.items()), sm.output.features, images)
    logging.getLogger("rootml.plotting").info("wrote %d figures", len(written))


run_job(snakemake, main)
