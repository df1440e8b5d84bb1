# Stage ingest: any TTree (or hls4ml / top-tagging HDF5) -> canonical parquet, one file per input chunk.


rule ingest:
    input:
        ingest_input,
    output:
        "data/ingested/{sample}/{chunk}.parquet",
    log:
        "logs/ingest/{sample}/{chunk}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    conda:
        "../envs/ingest.yaml"
    script:
        "../workflow_scripts/ingest.py"
