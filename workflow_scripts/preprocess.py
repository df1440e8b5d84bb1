"""Rule preprocess: one ingested chunk to its preprocessed HDF5 file (raw features and representations per split)."""
import json
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.generate.quiet import stdout_to_log  # noqa: E402
from rootml.preprocess.chunk import preprocess_chunk  # noqa: E402

sm = snakemake  # noqa: F821
with stdout_to_log(sm.log[0]) as note:
    note(json.dumps(preprocess_chunk(sm.input[0], sm.output[0], config=sm.config)))
