"""Rule quantize: one trained torch model -> int8 ONNX model, its check and latency, PTQ/QAT metric per bit width."""
import sys
from dataclasses import replace

sys.path.insert(0, f"{snakemake.scriptdir}/../src")
from rootml.job import run_job
from rootml.preprocess.layout import prepared_by_split
from rootml.quantize.run import QuantizeFiles, quantize_model
from rootml.quantize.settings import QuantizationSettings


def main(sm) -> None:
    """Quantize the rule's model with the quantization settings; the rule's threads unless they set num_threads."""
    settings = QuantizationSettings.from_config(sm.params.settings)
    settings = replace(settings, num_threads=settings.num_threads or sm.threads)
    quantize_model(sm.input.config, sm.input.weights, prepared_by_split(dict(sm.input.items())),
                   QuantizeFiles.of_outputs(sm.output), settings)


run_job(snakemake, main)
