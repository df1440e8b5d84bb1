# Stage evaluate: metrics with uncertainties for every model run, and the evaluation figures.
from rootml.evaluation.names import expected_figures


def evaluation_settings(config) -> dict:
    """The evaluate block with its class defaults filled in: signal = last class, background = the others."""
    settings = dict(config["evaluate"])
    settings.setdefault("signal", [config["classes"][-1]])
    settings.setdefault("background", [c for c in config["classes"] if c not in settings["signal"]])
    return settings


EVALUATION = evaluation_settings(config)


rule evaluate:
    input:
        expand("results/models/{model}/{file}", model=MODEL_RUNS,
               file=["predictions_test.parquet", "predictions_train.parquet", "history.json"]),
    output:
        metrics="results/evaluation/metrics.csv",
        table="results/evaluation/metrics.md",
        figures=report(
            directory("results/evaluation/figures"),
            patterns=["{name}.png"],
            caption="captions/evaluation.rst",
            category="Evaluation",
        ),
    log:
        "logs/evaluate.log",
    params:
        settings=EVALUATION,
        captions=expected_figures(MODEL_RUNS, EVALUATION["signal"], EVALUATION["background"],
                                  EVALUATION["efficiencies"], EVALUATION["reference_model"],
                                  EVALUATION["sculpting"]["observable"], classes=config["classes"]),
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    conda:
        "../envs/train.yaml"
    script:
        "../workflow_scripts/evaluate.py"
