# Stage prune: iterative magnitude pruning with fine-tuning, ONNX export checked with onnxruntime,
# latency table; one job per torch model (first seed copy), then the metric-versus-sparsity figure.
PRUNED_RUNS = [run for run, entry in MODEL_RUNS.items() if entry["family"] != "bdt" and entry["seed_index"] == 0]


rule prune:
    input:
        model="results/models/{model}/model_config.json",
        data=train_input,
    output:
        table="results/prune/{model}/pruning.csv",
        summary="results/prune/{model}/pruning.json",
        weights="results/prune/{model}/model_pruned.pt",
        onnx="results/prune/{model}/model.onnx",
        latency="results/prune/{model}/latency.csv",
    log:
        "logs/prune/{model}.log",
    wildcard_constraints:
        model="|".join(PRUNED_RUNS) or "__none__",
    params:
        settings=config["pruning"],  # reprune when the pruning settings change
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/prune.py"


rule plot_pruning:
    input:
        expand("results/prune/{model}/pruning.json", model=PRUNED_RUNS),
    output:
        png=report("results/plots/pruning.png", caption="captions/pruning.rst", category="Pruning"),
        pdf="results/plots/pruning.pdf",
    log:
        "logs/plot_pruning.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/plot_pruning.py"
