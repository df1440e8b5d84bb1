"""Rule prepare: the shuffled, normalised and weighted highlevel/particles/images files of one split."""
import json
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.generate.quiet import stdout_to_log  # noqa: E402
from rootml.preprocess.prepare import prepare_split  # noqa: E402

sm = snakemake  # noqa: F821
with stdout_to_log(sm.log[0]) as note:
    summary = prepare_split(
        sm.input.chunks, sm.wildcards.split, Path(sm.output[0]).parent,
        normalization=json.loads(Path(sm.input.normalization).read_text()),
        reweighting=json.loads(Path(sm.input.reweighting).read_text()), config=sm.config,
    )
    note(json.dumps(summary))
