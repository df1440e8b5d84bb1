# Stage preprocess: per-chunk features and raw representations (split by event id), normalization and
# reweighting fitted on the training jets, shuffled + normalised + weighted files per split, input plots.
from rootml.preprocess.layout import CHUNK_KEYS, FIT_KEYS, PREPARE_KEYS, prepared_files, preprocessed_files


rule preprocess:
    input:
        parquet="data/ingested/{sample}/{chunk}.parquet",
    output:
        h5="data/preprocessed/{sample}/{chunk}.h5",
    log:
        "logs/preprocess/{sample}/{chunk}.log",
    conda:
        "../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        config=config_subset(config, CHUNK_KEYS),
    script:
        "../workflow_scripts/preprocess.py"


rule fit_preprocessing:
    input:
        chunks=preprocessed_files(config),
    output:
        normalization="results/normalization.json",
        reweighting="results/reweighting.json",
    log:
        "logs/fit_preprocessing.log",
    conda:
        "../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    params:
        config=config_subset(config, FIT_KEYS),
    script:
        "../workflow_scripts/fit_preprocessing.py"


rule prepare:
    input:
        chunks=preprocessed_files(config),
        normalization="results/normalization.json",
        reweighting="results/reweighting.json",
    output:
        **prepared_files("{split}"),
    log:
        "logs/prepare/{split}.log",
    wildcard_constraints:
        split="train|val|test",
    conda:
        "../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    params:
        config=config_subset(config, PREPARE_KEYS),
    script:
        "../workflow_scripts/prepare.py"


rule plot_inputs:
    input:
        **prepared_files("train"),
    output:
        features=report(
            directory("results/plots/inputs"),
            patterns=["{name}.png"],
            caption="captions/inputs.rst",
            category="Inputs",
            subcategory="Feature distributions",
        ),
        images=report("results/plots/jet_images.png", caption="captions/jet_images.rst", category="Inputs"),
        images_pdf="results/plots/jet_images.pdf",
    log:
        "logs/plot_inputs.log",
    conda:
        "../envs/preprocess.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    script:
        "../workflow_scripts/plot_inputs.py"
