# Stage rank: feature importances of each ranked model (XGBoost weight/cover/gain, permutation, SHAP,
# feature-selection curve), one job per model run, then nothing else: the plots are the job's own.
RANKED_RUNS = runs_where(
    lambda run: run.primary and (config["ranking"]["models"] is None or run.model in config["ranking"]["models"])
)


rule rank:
    input:
        unpack(trained_input),  # the model, its test jets, and every split for the selection retraining
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
        model=one_of(RANKED_RUNS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        settings=config["ranking"],
    script:
        "../workflow_scripts/rank.py"
