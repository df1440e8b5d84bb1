"""Rule preprocess: one ingested chunk to its preprocessed HDF5 file (raw features and representations per split)."""
import json
import logging
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.chunk import preprocess_chunk


def main(sm) -> None:
    """Preprocess the rule's ingested chunk."""
    counts = preprocess_chunk(sm.input.parquet, sm.output.h5, config=sm.params.config)
    logging.getLogger("rootml.preprocess").info(json.dumps(counts))


run_job(snakemake, main)
