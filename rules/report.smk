# Stage report: results/summary.md with every metric table and the list of figures
# (the HTML report: snakemake --report results/report.html).


rule summary:
    input:
        metrics="results/evaluation/metrics.md",
        figures="results/evaluation/figures",
        pruning=expand("results/prune/{model}/pruning.csv", model=PRUNED_RUNS),
        pruning_plot=["results/plots/pruning.png"] if PRUNED_RUNS else [],
        ranking=expand("results/ranking/{model}/comparison.csv", model=RANKED_RUNS),
        inputs="results/plots/jet_images.png",
    output:
        "results/summary.md",
    log:
        "logs/summary.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/summary.py"
