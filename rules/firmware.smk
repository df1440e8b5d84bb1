# Stage firmware: FPGA firmware emulation (hls4ml for the MLP and a simplified GarNet, conifer for the BDT) compiled
# with g++, the metric against the fixed-point precision; one job per entry of firmware.models (first seed copy).
from rootml.firmware.settings import firmware_runs

FIRMWARE_RUNS = firmware_runs(config["firmware"]["models"], MODEL_RUNS)


rule firmware:
    input:
        unpack(trained_input),  # the model and its prepared splits (evaluated on eval_split, profiled on profile_split)
    output:
        table="results/firmware/{model}/firmware.csv",
        summary="results/firmware/{model}/firmware.json",
        plots=report(
            directory("results/firmware/{model}/plots"),
            patterns=["{name}.png"],
            caption="captions/firmware.rst",
            category="Firmware",
            subcategory="{model}",
        ),
    log:
        "logs/firmware/{model}.log",
    wildcard_constraints:
        model=one_of(FIRMWARE_RUNS),
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        settings=config["firmware"],  # re-emulate when the firmware settings change
    script:
        "../workflow_scripts/firmware.py"
