"""profiles/htcondor: keys the HTCondor executor plugin reads, and every planned job's HTCondor resources.

No HTCondor pool can run here, so the plan is checked with a dry run, and the plugin's real submit
description with a run that stops at the submission (the plugin logs the description first with --verbose).
The plugin (0.3.0) maps threads to request_cpus and ignores mem_mb, disk_mb, runtime and gpu, so the profile
and the rules must give HTCondor's own names: these tests fail when they drift apart.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
import warnings
from pathlib import Path

import pytest
import yaml

with warnings.catch_warnings():  # the HTCondor bindings warn on import when no pool is configured
    warnings.simplefilter("ignore", UserWarning)
    import snakemake_executor_plugin_htcondor as plugin

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "htcondor"
TINY = {
    "seed": 11,
    "classes": ["q", "W"],
    "samples": {
        "q": {"label": "q", "generate": {"process": "quark", "chunks": 1, "jets_per_chunk": 100}},
        "W": {"label": "W", "generate": {"process": "wqq", "chunks": 2, "jets_per_chunk": 100}},
    },
    "models": {"mlp": {"family": "mlp"}, "bdt": {"family": "bdt"}},
    "resources": {"train_gpus": 1},
}
JOB = re.compile(r"^(local)?rule (\w+):\n(.*?)(?=^\S)", re.MULTILINE | re.DOTALL)
RESOURCE = re.compile(r"(\w+)=([^,\n]+)")


def _profile() -> dict:
    """The parsed profiles/htcondor/config.yaml."""
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def _planned_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a dry run plans for the pool (target rules without output stay local)."""
    jobs = []
    for local, rule, body in JOB.findall(output):
        fields = dict(line.strip().split(": ", 1) for line in body.splitlines() if ": " in line)
        if not local and "output" in fields:
            jobs.append((rule, dict(RESOURCE.findall(fields["resources"]))))
    return jobs


@pytest.fixture(scope="module")
def dry_run(run_snakemake, tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, dict[str, str]]]:
    """The tiny config (two models, one GPU per torch training job) planned through the HTCondor profile."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONDOR_CONFIG", "/dev/null")  # no pool here: silences the bindings' warning
        result = run_snakemake(tmp_path_factory.mktemp("htcondor_plan"), TINY, "--workflow-profile", str(PROFILE),
                               "--dry-run")
    assert result.returncode == 0, result.stdout
    return _planned_jobs(result.stdout)


def test_profile_uses_only_keys_the_plugin_reads() -> None:
    profile = _profile()
    assert profile["executor"] == "htcondor"
    fields = {f.name for f in dataclasses.fields(plugin.ExecutorSettings)}
    settings = [key for key in profile if key.startswith("htcondor-")]
    assert settings and all(key.removeprefix("htcondor-").replace("-", "_") in fields for key in settings)
    source = inspect.getsource(plugin)
    names = set(profile["default-resources"]) | {k for rule in profile["set-resources"].values() for k in rule}
    unread = sorted(n for n in names if not n.startswith("classad_") and f'"{n}"' not in source)
    assert unread == [], f"the HTCondor plugin never reads {unread}"
    assert {"htcondor_request_mem_mb", "htcondor_request_disk_mb", "request_gpus"} <= names


def test_every_planned_job_has_its_memory_and_time_in_htcondor_names(dry_run) -> None:
    rules = {rule for rule, _ in dry_run}
    assert {"generate", "ingest", "train"} <= rules
    assert sum(rule == "generate" for rule, _ in dry_run) == 3
    missing = sorted(rules - set(_profile()["set-resources"]))
    assert missing == [], f"profiles/htcondor has no set-resources entry for rules {missing}"
    for rule, res in dry_run:
        assert res["htcondor_request_mem_mb"] == res["mem_mb"], (rule, res)
        assert int(res["classad_MaxRuntime"]) == 60 * int(res["runtime"]), (rule, res)
        assert res["getenv"] == "True" and "htcondor_request_disk_mb" in res, (rule, res)


def test_every_planned_job_asks_htcondor_for_its_gpus(dry_run) -> None:
    gpus = {(rule, res.get("gpu", "0"), res["request_gpus"]) for rule, res in dry_run}
    assert any(rule == "train" and gpu == "1" for rule, gpu, _ in gpus)  # the mlp asks for the configured GPU
    wrong = sorted(g for g in gpus if g[1] != g[2])
    assert wrong == [], ("jobs whose request_gpus (HTCondor) differs from gpu (rule, gpu, request_gpus): "
                         f"{wrong}; the rule must declare request_gpus with the same value as gpu")


def test_submit_description_of_a_real_submission(run_snakemake, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CONDOR_CONFIG", "/dev/null")  # no schedd: the first submission fails
    result = run_snakemake(tmp_path, TINY, "--workflow-profile", str(PROFILE), "--verbose", timeout=300)
    assert result.returncode != 0
    descriptions = re.findall(r"HTCondor submit subscription: (\{.*\})", result.stdout)
    assert descriptions, result.stdout
    submit = ast.literal_eval(descriptions[0])
    assert "--target-jobs generate:" in submit["arguments"]  # only the generate jobs are ready at the start
    assert Path(submit["executable"]).resolve() == Path(sys.executable).resolve()  # this environment's Python
    assert submit["arguments"].startswith("-m snakemake ")
    assert submit["request_cpus"] == "1" and submit["request_memory"] == "1000MB"
    assert submit["request_disk"] == 1000 * 1024 and submit["request_gpus"] == 0  # KiB
    assert submit["+MaxRuntime"] == 1800 and submit["getenv"] is True
    assert submit["log"].startswith("logs/htcondor/")
    assert not (tmp_path / "data").exists()
