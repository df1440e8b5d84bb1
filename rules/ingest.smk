# Stage ingest: any TTree (or hls4ml / top-tagging HDF5) -> canonical parquet, one file per input chunk.


rule ingest:
    input:
        source=ingest_input,
    output:
        parquet="data/ingested/{sample}/{chunk}.parquet",
    log:
        "logs/ingest/{sample}/{chunk}.log",
    conda:
        "../envs/ingest.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        sample=lambda wildcards: config["samples"][wildcards.sample],  # any change of the sample's block reruns it
        classes=config["classes"],
    script:
        "../workflow_scripts/ingest.py"
