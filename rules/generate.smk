# Stage generate: Pythia 8 + FastJet anti-kT jets written as JetClass-style ROOT files (no download).


rule generate:
    output:
        "data/raw/{sample}/{chunk}.root",
    log:
        "logs/generate/{sample}/{chunk}.log",
    wildcard_constraints:
        sample="|".join(GENERATED) or "__none__",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/generate.yaml"
    script:
        "../workflow_scripts/generate.py"
