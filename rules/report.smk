# Stage report: results/summary.md with every metric table and the list of figures
# (the HTML report: snakemake --report results/report.html).
from rootml.preprocess.layout import images_of


rule summary:
    input:
        metrics_md="results/evaluation/metrics.md",
        metrics_csv="results/evaluation/metrics.csv",
        pruning=expand("results/prune/{model}/pruning.csv", model=PRUNED_RUNS),
        latency=expand("results/prune/{model}/latency.csv", model=PRUNED_RUNS),
        ranking=expand("results/ranking/{model}/comparison.csv", model=RANKED_RUNS),
        quantization=expand("results/quantize/{model}/quantization.json", model=QUANTIZED_RUNS),
        firmware=expand("results/firmware/{model}/firmware.csv", model=FIRMWARE_RUNS),
        clusters=expand("results/explore/{space}/clusters.csv", space=EXPLORED_SPACES),
        folds=expand("results/folds/{model}/metrics.csv", model=FOLD_GROUPS),
        figures=[
            "results/evaluation/figures",
            "results/plots/inputs",
            *(["results/plots/jet_images.png"] if images_of(config) else []),
            *(["results/plots/pruning.png"] if PRUNED_RUNS else []),
            *expand("results/prune/{model}/plots", model=PRUNED_RUNS),
            *expand("results/quantize/{model}/plots", model=QUANTIZED_RUNS),
            *expand("results/firmware/{model}/plots", model=FIRMWARE_RUNS),
            *expand("results/ranking/{model}/plots", model=RANKED_RUNS),
            *expand("results/explore/{space}/plots", space=EXPLORED_SPACES),
            *expand("results/folds/{model}/roc.png", model=FOLD_GROUPS),
        ],
    output:
        summary="results/summary.md",
    log:
        "logs/summary.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        pruned=PRUNED_RUNS,
        ranked=RANKED_RUNS,
        quantized=QUANTIZED_RUNS,
        emulated=FIRMWARE_RUNS,
        folded=list(FOLD_GROUPS),
    script:
        "../workflow_scripts/summary.py"
