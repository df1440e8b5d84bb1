# Stage preprocess: per-chunk features and raw representations (split by event id), normalization and
# reweighting fitted on the training rows, shuffled + normalised + weighted files per split (highlevel, images when
# the run has images, one per set), input plots.
from rootml.preprocess.layout import (
    CHUNK_KEYS,
    FIT_KEYS,
    PREPARE_KEYS,
    images_of,
    prepared_files,
    preprocessed_files,
    stage_config,
)


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
        config=stage_config(config, CHUNK_KEYS),
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
        config=stage_config(config, FIT_KEYS),
    script:
        "../workflow_scripts/fit_preprocessing.py"


rule prepare:
    input:
        chunks=preprocessed_files(config),
        normalization="results/normalization.json",
        reweighting="results/reweighting.json",
    output:
        **prepared_files("{split}", config),
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
        config=stage_config(config, PREPARE_KEYS),
    script:
        "../workflow_scripts/prepare.py"


rule plot_inputs:
    input:
        **prepared_files("train", config),
    output:
        **(
            {
                "images": report(
                    "results/plots/jet_images.png",
                    caption="captions/jet_images.rst",
                    category="Inputs",
                ),
                "images_pdf": "results/plots/jet_images.pdf",
            }
            if images_of(config)
            else {}
        ),
        features=report(
            directory("results/plots/inputs"),
            patterns=["{name}.png"],
            caption="captions/inputs.rst",
            category="Inputs",
            subcategory="Feature distributions",
        ),
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
