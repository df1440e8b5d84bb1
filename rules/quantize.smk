# Stage quantize: onnxruntime's static int8 model of the float ONNX export (checked, timed), and weights and layer
# outputs fake-quantized to each bit width, calibrated (PTQ) and fine-tuned (QAT); one job per torch model (first seed
# copy): every classifier unless quantization.models names the entries.
QUANTIZED_RUNS = runs_where(
    lambda run: run.family != "bdt"
    and run.primary
    and (
        run.task == "classification"
        if config["quantization"]["models"] is None
        else run.model in config["quantization"]["models"]
    )
)


rule quantize:
    input:
        unpack(trained_input),
    output:
        table="results/quantize/{model}/quantization.csv",
        summary="results/quantize/{model}/quantization.json",
        onnx_int8="results/quantize/{model}/model_int8.onnx",
        latency="results/quantize/{model}/latency.csv",
        plots=report(
            directory("results/quantize/{model}/plots"),
            patterns=["{name}.png"],
            caption="captions/quantization.rst",
            category="Quantization",
            subcategory="{model}",
        ),
    log:
        "logs/quantize/{model}.log",
    wildcard_constraints:
        model=one_of(QUANTIZED_RUNS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=90,
    params:
        settings=config["quantization"],  # requantize when the quantization settings change
    script:
        "../workflow_scripts/quantize.py"
