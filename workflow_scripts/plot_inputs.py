"""Rule plot_inputs: per-class distributions of every input feature and the average jet images (train split)."""
import sys
from pathlib import Path

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.generate.quiet import stdout_to_log  # noqa: E402
from rootml.plotting.inputs import plot_inputs  # noqa: E402

sm = snakemake  # noqa: F821
with stdout_to_log(sm.log[0]) as note:
    written = plot_inputs(Path(sm.input[0]).parent, sm.output.features, Path(sm.output.images).with_suffix(""))
    note("\n".join(map(str, written)))
