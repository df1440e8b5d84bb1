"""Rule ingest: one input file (ROOT or HDF5) to one canonical parquet file."""
import json
import logging
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.ingest import SampleSpec, ingest_file
from rootml.job import run_job


def main(sm) -> None:
    """Ingest the rule's input file with its sample's settings."""
    spec = SampleSpec.from_config(sm.wildcards.sample, sm.params.sample, sm.params.classes)
    counts = ingest_file(sm.input.source, sm.output.parquet, spec=spec, file_index=int(sm.wildcards.chunk),
                         classes=sm.params.classes)
    logging.getLogger("rootml.ingest").info("%s -> %s: %s", sm.input.source, sm.output.parquet, json.dumps(counts))


run_job(snakemake, main)
