# Stage evaluate: metrics with uncertainties for every model run, and the evaluation figures.
from rootml.evaluation.captions import expected_figures
from rootml.evaluation.settings import EvaluateSettings
from rootml.features.available import observer_columns

EVALUATION = EvaluateSettings.for_run(config["evaluate"], config["classes"], observer_columns(config))


rule evaluate:
    input:
        configs=evaluated_files("config"),
        test=evaluated_files("predictions_test"),
        train=evaluated_files("predictions_train"),
        history=evaluated_files("history"),
    output:
        metrics_csv="results/evaluation/metrics.csv",
        metrics_md="results/evaluation/metrics.md",
        figures=report(
            directory("results/evaluation/figures"),
            patterns=["{name}.png"],
            caption="captions/evaluation.rst",
            category="Evaluation",
        ),
    log:
        "logs/evaluate.log",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        models=list(MODEL_RUNS),
        # the figure captions, read by the report (captions/evaluation.rst)
        captions=expected_figures(
            {name: run.as_dict() for name, run in MODEL_RUNS.items()},
            EVALUATION.signal,
            EVALUATION.background,
            EVALUATION.efficiencies,
            EVALUATION.reference_model,
            EVALUATION.sculpting["observable"],
            classes=config["classes"],
        ),
        classes=config["classes"],
        settings=EVALUATION.as_dict(),
        seed=config["seed"],
    script:
        "../workflow_scripts/evaluate.py"
