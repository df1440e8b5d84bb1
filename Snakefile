# rootml: ROOT files -> trained, explained and pruned models -> paper figures, as one DAG.
# Run: snakemake --cores all   (config/config.yaml; override with --configfile / --config key=value)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "rules/common.smk"
include: "rules/generate.smk"
include: "rules/ingest.smk"
include: "rules/preprocess.smk"
include: "rules/train.smk"
include: "rules/prune.smk"
include: "rules/evaluate.smk"
include: "rules/rank.smk"
include: "rules/report.smk"


rule all:
    input:
        "results/summary.md",
    default_target: True
