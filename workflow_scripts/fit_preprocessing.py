"""Rule fit_preprocessing: normalization and reweighting fitted on the training jets of every chunk."""
import json
import logging
import sys

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.fit import fit_preprocessing


def main(sm) -> None:
    """Fit both on the rule's chunks and write the two JSON outputs."""
    fitted = fit_preprocessing(sm.input.chunks, sm.output.normalization, sm.output.reweighting,
                               config=sm.params.config)
    logging.getLogger("rootml.preprocess").info(json.dumps({
        "n_jets": fitted["normalization"]["n_jets"],
        "train_sum_of_weights": fitted["reweighting"]["train_sum_of_weights"]}))


run_job(snakemake, main)
