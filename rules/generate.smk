# Stage generate: Pythia 8 + FastJet anti-kT jets written as JetClass-style ROOT files (no download).


rule generate:
    output:
        root="data/raw/{sample}/{chunk}.root",
    log:
        "logs/generate/{sample}/{chunk}.log",
    wildcard_constraints:
        sample="|".join(GENERATED) or "__none__",
    conda:
        "../envs/generate.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        chunk=generate_params,
        classes=config["classes"],
        settings=config["generate"],
    script:
        "../workflow_scripts/generate.py"
