"""The job set-up of every rule script: logging, warnings, C-level output and a failure's traceback go to the rule's
log."""

from __future__ import annotations

import ctypes
import logging
import sys
import warnings
from pathlib import Path

import pytest

from rootml.errors import InputError
from rootml.job import job_logging, redirected_output

LIBC = ctypes.CDLL(None)


def test_everything_a_job_says_goes_to_its_log(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    log_path = tmp_path / "logs" / "rule" / "job.log"
    handlers = logging.getLogger().handlers[:]
    with job_logging(log_path) as log:
        log.info("a record")
        logging.getLogger("rootml.somewhere").info("another module's record")
        warnings.warn("a warning", UserWarning, stacklevel=1)
        print("python stdout")
        print("python stderr", file=sys.stderr)
        LIBC.puts(b"C stdout, as Pythia prints")
    text = log_path.read_text()
    for line in (
        "INFO rootml.job: a record",
        "INFO rootml.somewhere: another module's record",
        "UserWarning: a warning",
        "python stdout",
        "python stderr",
        "C stdout, as Pythia prints",
    ):
        assert line in text, line
    captured = capfd.readouterr()
    assert "a record" not in captured.out + captured.err and "C stdout" not in captured.out
    assert logging.getLogger().handlers == handlers  # the caller's logging is restored


def test_a_failing_job_logs_its_traceback_and_still_raises(tmp_path: Path) -> None:
    log_path = tmp_path / "job.log"

    def fail() -> None:
        """Raise the way a stage does on bad input."""
        raise InputError("no jets in the file", file="x.root")

    with pytest.raises(InputError, match="no jets"), job_logging(log_path):
        fail()
    text = log_path.read_text()
    assert "ERROR rootml.job: job failed" in text and "Traceback (most recent call last)" in text
    assert "in fail" in text and "InputError: no jets in the file | file 'x.root'" in text


def test_the_log_is_rewritten_for_each_run(tmp_path: Path) -> None:
    log_path = tmp_path / "job.log"
    log_path.write_text("an old run's line\n")
    with job_logging(log_path) as log:
        log.info("new run")
    assert "an old run's line" not in log_path.read_text() and "new run" in log_path.read_text()


def test_output_can_be_silenced(capfd: pytest.CaptureFixture[str]) -> None:
    with redirected_output(None):
        LIBC.puts(b"nobody hears this")
        print("nor this")
    captured = capfd.readouterr()
    assert "nobody" not in captured.out and "nor this" not in captured.out


@pytest.mark.slow
def test_a_failed_rule_leaves_its_traceback_in_the_rule_log(run_snakemake, tmp_path: Path, shared_data: Path) -> None:
    """A real Snakemake job that fails (a mapped branch the file lacks): the console names the log, and the log holds
    the traceback with the error naming branch and file."""
    config = {"classes": ["a"], "samples": {"hzz": {
        "label": "a", "files": [str(shared_data / "uproot-HZZ.root")], "tree": "events", "collection": "Jet",
        "branches": {"jet_px": "Jet_Px", "jet_py": "Jet_Py", "jet_pz": "Jet_Pz", "jet_energy": "Jet_E",
                     "jet_charge": "Jet_Charge"}}},
        "features": {"highlevel": ["jet_pt", "jet_eta", "jet_charge"]}}
    result = run_snakemake(tmp_path, config, "data/ingested/hzz/0000.parquet")
    assert result.returncode != 0
    assert "logs/ingest/hzz/0000.log" in result.stdout
    text = (tmp_path / "logs" / "ingest" / "hzz" / "0000.log").read_text()
    assert "Traceback (most recent call last)" in text and "InputError" in text
    assert "branch 'Jet_Charge'" in text and "uproot-HZZ.root" in text
    assert not (tmp_path / "data" / "ingested" / "hzz" / "0000.parquet").exists()
