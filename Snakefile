# rootml: ROOT files -> trained, explained and pruned models -> paper figures, as one DAG.
# Run: snakemake --cores all   (config/config.yaml; override with --configfile / --config key=value)
import sys
from datetime import datetime, timezone
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

sys.path.insert(0, str(Path(workflow.basedir) / "src"))
from rootml.provenance import write_provenance  # noqa: E402
from rootml.settings import validated  # noqa: E402

# config/config.yaml is the default run; configs given with --configfile are complete and replace it (several are
# merged in order, later files overriding earlier ones); --config key=value overrides either
if not workflow.config_settings.configfiles:

    configfile: "config/config.yaml"


config.update(validated(config))  # checked against config/schema.yaml, every default filled in


include: "rules/common.smk"
include: "rules/generate.smk"
include: "rules/ingest.smk"
include: "rules/preprocess.smk"
include: "rules/train.smk"
include: "rules/prune.smk"
include: "rules/quantize.smk"
include: "rules/firmware.smk"
include: "rules/evaluate.smk"
include: "rules/folds.smk"
include: "rules/rank.smk"
include: "rules/explore.smk"
include: "rules/report.smk"


STARTED = datetime.now(timezone.utc)


onsuccess:
    write_provenance("results/provenance.json", config, workflow.basedir, STARTED)


rule all:
    default_target: True
    input:
        "results/summary.md",
