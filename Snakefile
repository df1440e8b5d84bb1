# rootml: ROOT files -> trained, explained and pruned models -> paper figures, as one DAG.
# Run: snakemake --cores all   (config/config.yaml; override with --configfile / --config key=value)
from datetime import datetime, timezone

from snakemake.utils import min_version, validate

min_version("9.0")


# config/config.yaml is the default run; configs given with --configfile are complete and replace it (several are
# merged in order, later files overriding earlier ones); --config key=value overrides either
if not workflow.config_settings.configfiles:

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

from rootml.provenance import write_provenance  # noqa: E402 (src/ is on the path once common.smk ran)

STARTED = datetime.now(timezone.utc)


onsuccess:
    write_provenance("results/provenance.json", config, workflow.basedir, STARTED)


rule all:
    input:
        "results/summary.md",
    default_target: True
