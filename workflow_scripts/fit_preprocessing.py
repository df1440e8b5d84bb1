"""Rule fit_preprocessing: normalization and reweighting fitted on the training jets of every chunk."""
import json
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")  # noqa: F821 (snakemake is injected)
from rootml.generate.quiet import stdout_to_log  # noqa: E402
from rootml.preprocess.fit import fit_preprocessing  # noqa: E402

sm = snakemake  # noqa: F821
with stdout_to_log(sm.log[0]) as note:
    fitted = fit_preprocessing(sm.input, sm.output.normalization, sm.output.reweighting, config=sm.config)
    note(json.dumps({"n_jets": fitted["normalization"]["n_jets"],
                     "train_sum_of_weights": fitted["reweighting"]["train_sum_of_weights"]}))
