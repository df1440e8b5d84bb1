# Stage rank: feature importances of each ranked model (XGBoost weight/cover/gain, permutation, SHAP,
# feature-selection curve), one job per model run, then nothing else: the plots are the job's own.
RANKED_RUNS = [
    run for run, entry in MODEL_RUNS.items()
    if entry["seed_index"] == 0 and (config["ranking"]["models"] is None or entry["model"] in config["ranking"]["models"])
]


def rank_input(wildcards) -> list[str]:
    """The trained model and the prepared files it is ranked (and, for the selection curve, retrained) on."""
    return [f"results/models/{wildcards.model}/model_config.json", *train_input(wildcards)]


rule rank:
    input:
        rank_input,
    output:
        summary="results/ranking/{model}/ranking.json",
        comparison="results/ranking/{model}/comparison.csv",
        plots=report(
            directory("results/ranking/{model}/plots"),
            patterns=["{name}.png"],
            caption="captions/ranking.rst",
            category="Feature ranking",
            subcategory="{model}",
        ),
    log:
        "logs/rank/{model}.log",
    wildcard_constraints:
        model="|".join(RANKED_RUNS) or "__none__",
    params:
        settings={key: value for key, value in config["ranking"].items() if key != "models"},
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/rank.py"
