"""Rule prepare: the shuffled, normalised and weighted prepared files (highlevel, images, one per set) of one split."""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.prepare import prepare_split


def main(sm) -> None:
    """Write the rule's prepared files of its split (its named outputs: representation -> file)."""
    summary = prepare_split(
        sm.input.chunks, sm.wildcards.split, dict(sm.output.items()),
        normalization=json.loads(Path(sm.input.normalization).read_text()),
        reweighting=json.loads(Path(sm.input.reweighting).read_text()), config=sm.params.config,
    )
    logging.getLogger("rootml.preprocess").info(json.dumps(summary))


run_job(snakemake, main)
