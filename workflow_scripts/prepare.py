"""Rule prepare: the shuffled, normalised and weighted highlevel/particles/images files of one split."""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.layout import REPRESENTATIONS
from rootml.preprocess.prepare import prepare_split


def main(sm) -> None:
    """Write the rule's prepared files of its split."""
    summary = prepare_split(
        sm.input.chunks, sm.wildcards.split, {representation: sm.output[representation]
                                              for representation in REPRESENTATIONS},
        normalization=json.loads(Path(sm.input.normalization).read_text()),
        reweighting=json.loads(Path(sm.input.reweighting).read_text()), config=sm.params.config,
    )
    logging.getLogger("rootml.preprocess").info(json.dumps(summary))


run_job(snakemake, main)
