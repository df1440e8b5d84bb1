# Stage explore: latent spaces, embeddings (PCA, t-SNE, UMAP) and clustering of each listed torch model (first seed
# copy) and of the raw high-level features, on a sample of the test split; one job per space.
EXPLORED_RUNS = runs_where(lambda run: run.primary and run.model in config["explore"]["models"])
EXPLORED_SPACES = [
    *(f"models/{run}" for run in EXPLORED_RUNS),
    *(["highlevel"] if config["explore"]["highlevel"] else []),
]


rule explore:
    input:
        unpack(explore_input),
    output:
        summary="results/explore/models/{model}/explore.json",
        scores="results/explore/models/{model}/clusters.csv",
        plots=report(
            directory("results/explore/models/{model}/plots"),
            patterns=["{name}.png"],
            caption="captions/explore.rst",
            category="Latent spaces and clustering",
            subcategory="{model}",
        ),
    log:
        "logs/explore/{model}.log",
    wildcard_constraints:
        model=one_of(EXPLORED_RUNS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        settings=config["explore"],
        seed=config["seed"],
    script:
        "../workflow_scripts/explore.py"


rule explore_highlevel:
    input:
        **prepared_inputs(["highlevel"], ["test"]),
    output:
        summary="results/explore/highlevel/explore.json",
        scores="results/explore/highlevel/clusters.csv",
        plots=report(
            directory("results/explore/highlevel/plots"),
            patterns=["{name}.png"],
            caption="captions/explore.rst",
            category="Latent spaces and clustering",
            subcategory="high-level features",
        ),
    log:
        "logs/explore/highlevel.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=config["explore"],
        seed=config["seed"],
    script:
        "../workflow_scripts/explore.py"
