"""Rule firmware: one trained model -> its emulated firmware's metric against the fixed-point precision."""
import sys
from dataclasses import replace

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.firmware.run import FirmwareFiles, emulate_model
from rootml.firmware.settings import FirmwareSettings
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split


def main(sm) -> None:
    """Emulate the rule's model with the firmware settings; the rule's threads unless they set num_threads."""
    settings = FirmwareSettings.from_config(sm.params.settings)
    settings = replace(settings, num_threads=settings.num_threads or sm.threads)
    emulate_model(sm.input.config, sm.input.weights, prepared_by_split(dict(sm.input.items())),
                  FirmwareFiles.of_outputs(sm.output), settings)


run_job(snakemake, main)
