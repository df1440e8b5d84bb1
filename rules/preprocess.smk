# Stage preprocess: per-chunk features and raw representations (split by event id), normalization and
# reweighting fitted on the training jets, shuffled + normalised + weighted files per split, input plots.
from rootml.preprocess.layout import chunk_settings, prepared_files, preprocessed_files


rule preprocess:
    input:
        "data/ingested/{sample}/{chunk}.parquet",
    output:
        "data/preprocessed/{sample}/{chunk}.h5",
    log:
        "logs/preprocess/{sample}/{chunk}.log",
    params:
        settings=chunk_settings(config),  # reruns the chunks when a setting they depend on changes
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/preprocess.yaml"
    script:
        "../workflow_scripts/preprocess.py"


rule fit_preprocessing:
    input:
        preprocessed_files(config),
    output:
        normalization="results/normalization.json",
        reweighting="results/reweighting.json",
    log:
        "logs/fit_preprocessing.log",
    params:
        normalization=config["preprocess"]["normalization"],  # refit when these settings change
        reweighting=config["preprocess"]["reweighting"],
    threads: 1
    resources:
        mem_mb=1500,
        runtime=60,
    conda:
        "../envs/preprocess.yaml"
    script:
        "../workflow_scripts/fit_preprocessing.py"


rule prepare:
    input:
        chunks=preprocessed_files(config),
        normalization="results/normalization.json",
        reweighting="results/reweighting.json",
    output:
        prepared_files("{split}"),
    log:
        "logs/prepare/{split}.log",
    wildcard_constraints:
        split="train|val|test",
    params:
        observers=config["features"]["observers"],  # rewrite when the carried observers change
    threads: 1
    resources:
        mem_mb=2000,
        runtime=120,
    conda:
        "../envs/preprocess.yaml"
    script:
        "../workflow_scripts/prepare.py"


rule plot_inputs:
    input:
        prepared_files("train"),
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
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../envs/preprocess.yaml"
    script:
        "../workflow_scripts/plot_inputs.py"
