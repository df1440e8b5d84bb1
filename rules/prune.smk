# Stage prune: iterative magnitude and structured pruning with fine-tuning (L1, early stopping, rewinding), the
# smaller structured model, ONNX exports checked with onnxruntime, latency table; one job per torch model (first seed
# copy), then the metric-versus-sparsity figure.
PRUNED_RUNS = runs_where(
    lambda run: run.family != "bdt"
    and run.primary
    and (config["pruning"]["models"] is None or run.model in config["pruning"]["models"])
)


rule prune:
    input:
        unpack(trained_input),
    output:
        table="results/prune/{model}/pruning.csv",
        summary="results/prune/{model}/pruning.json",
        weights="results/prune/{model}/model_pruned.pt",
        onnx="results/prune/{model}/model.onnx",
        latency="results/prune/{model}/latency.csv",
        plots=report(
            directory("results/prune/{model}/plots"),
            patterns=["{name}.png"],
            caption="captions/prune.rst",
            category="Pruning",
            subcategory="{model}",
        ),
        structured=directory("results/prune/{model}/structured"),
    log:
        "logs/prune/{model}.log",
    wildcard_constraints:
        model=one_of(PRUNED_RUNS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        settings=config["pruning"],  # reprune when the pruning settings change
    script:
        "../workflow_scripts/prune.py"


rule plot_pruning:
    input:
        summaries=expand("results/prune/{model}/pruning.json", model=PRUNED_RUNS),
        tables=expand("results/prune/{model}/pruning.csv", model=PRUNED_RUNS),
    output:
        png=report("results/plots/pruning.png", caption="captions/pruning.rst", category="Pruning"),
        pdf="results/plots/pruning.pdf",
    log:
        "logs/plot_pruning.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        models=PRUNED_RUNS,
    script:
        "../workflow_scripts/plot_pruning.py"
