"""The tiny pipeline (tests/configs/tiny.yaml, every rule up to training and pruning: conftest.SLURM_TARGETS)
submitted through profiles/slurm to a single-node Slurm cluster gives the files of the shared local run of the same
config: Slurm works, and the same config run twice gives the same files (the reproducibility check of the suite).

The session fixture (conftest.slurm_tiny_run, started in the background when the session begins) installs
(Debian slurm-wlm + munge) and starts the cluster with tests/cluster/slurm_up.sh;
the test skips only when those packages cannot be installed. Files are compared byte for byte, except where
the format itself embeds wall-clock values: ROOT files (uproot writes creation times and random UUIDs) are
compared by content, timing fields (VOLATILE_KEYS) are left out of JSON, CSV, markdown tables and torch
files, and figures of timings (TIMING_FIGURES) are not compared.
"""

from __future__ import annotations

import filecmp
import json
import math
import re
from concurrent.futures import Future
from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import torch
import uproot

from conftest import SLURM_TARGETS, completed_slurm_jobs

pytestmark = pytest.mark.slow  # runs the real Snakemake workflow

COMPARED = ("data", "results")
# Keys / columns that hold wall-clock times, durations, speeds or the machine and command line of a run.
VOLATILE_KEYS = frozenset({"seconds", "started", "finished", "elapsed_s", "host", "command", "latency_ms",
                           "throughput_per_s", "int8_speedup", "speedup_cpu_1", "speedup_cpu_1024", "compile_s",
                           "predict_s"})
# figures of those timings (the prune and quantize stages' latency figures)
TIMING_FIGURES = frozenset({"latency.png", "latency.pdf"})
# what other tests add to the shared local run (the HTML report) is not part of a run of the workflow
NOT_COMPARED = frozenset({"results/report.html"})


def _without_volatile(value: object) -> object:
    """`value` with every mapping entry named in VOLATILE_KEYS removed, recursively."""
    if isinstance(value, dict):
        return {k: _without_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, (list, tuple)):
        return type(value)(_without_volatile(v) for v in value)
    return value


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    """The raw bytes of a tensor's elements (any dtype, bfloat16 included, which numpy lacks)."""
    return tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def _same_objects(a: object, b: object) -> bool:
    """Exact equality of nested dicts, sequences, tensors, arrays (bit for bit) and scalars (NaN equals NaN)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype \
            and a.shape == b.shape and _tensor_bytes(a) == _tensor_bytes(b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()  # bit-exact, NaN included
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same_objects(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same_objects(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return type(a) is type(b) and a == b


def _same_root(a: Path, b: Path) -> bool:
    """Same keys, classes and branch contents (uproot stamps each file with its creation time and a UUID)."""
    with uproot.open(a) as fa, uproot.open(b) as fb:
        if fa.classnames() != fb.classnames():
            return False
        for key, classname in fa.classnames().items():
            if classname != "TTree":
                raise AssertionError(f"{a}: no content comparison for {key} of class {classname}")
            ta, tb = fa[key], fb[key]
            if ta.typenames() != tb.typenames() or ta.num_entries != tb.num_entries:
                return False
            if not ak.array_equal(ta.arrays(library="ak"), tb.arrays(library="ak"), equal_nan=True):
                return False
    return True


def _markdown_without_volatile(text: str) -> list[str]:
    """Lines of a markdown document, its tables without the columns named in VOLATILE_KEYS (padding ignored)."""
    lines, drop, in_table = [], set(), False
    for line in text.splitlines():
        is_row = line.startswith("|")
        if is_row:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not in_table:  # the first row of a table names its columns
                drop = {i for i, cell in enumerate(cells) if cell in VOLATILE_KEYS}
            line = "|".join(cell for i, cell in enumerate(cells) if i not in drop)
        in_table = is_row
        lines.append(line)
    return lines


def _same_file(a: Path, b: Path) -> bool:
    """Whether two output files hold the same content, timing fields aside (see the module docstring)."""
    if a.suffix == ".root":
        return _same_root(a, b)
    if a.suffix == ".json":
        return _same_objects(_without_volatile(json.loads(a.read_text())), _without_volatile(json.loads(b.read_text())))
    if a.suffix == ".md":
        return _markdown_without_volatile(a.read_text()) == _markdown_without_volatile(b.read_text())
    if a.suffix == ".csv":
        da, db = pd.read_csv(a), pd.read_csv(b)
        return da.drop(columns=VOLATILE_KEYS & set(da), errors="ignore").equals(
            db.drop(columns=VOLATILE_KEYS & set(db), errors="ignore"))
    if a.suffix == ".pt":
        # our own outputs of this test; checkpoints hold the per-epoch seconds of the history
        load = dict(map_location="cpu", weights_only=False)
        return _same_objects(_without_volatile(torch.load(a, **load)), _without_volatile(torch.load(b, **load)))
    return filecmp.cmp(a, b, shallow=False)


def output_differences(first: Path, second: Path, *, part: bool = False) -> list[str]:
    """Relative paths under data/ and results/ that exist in only one run folder or differ in content; with `part`,
    the first run made some of the second's targets, and files only in the second are expected."""
    def files(root: Path) -> set[str]:
        """Relative paths of the compared files of one run."""
        return {str(p.relative_to(root)) for top in COMPARED if (root / top).is_dir()
                for p in (root / top).rglob("*") if p.is_file()}

    in_first, in_second = files(first) - NOT_COMPARED, files(second) - NOT_COMPARED
    problems = [f"only in {first.name}: {p}" for p in sorted(in_first - in_second)]
    problems += [] if part else [f"only in {second.name}: {p}" for p in sorted(in_second - in_first)]
    problems += [f"differs: {p}" for p in sorted(in_first & in_second)
                 if Path(p).name not in TIMING_FIGURES and not _same_file(first / p, second / p)]
    return problems


def test_slurm_profile_reproduces_the_local_run(slurm_tiny_run: Future, tiny_run: Path) -> None:
    slurm = slurm_tiny_run.result()
    if slurm.result is None:
        pytest.skip(f"Slurm test skipped: slurm-wlm and munge could not be installed: {slurm.not_installed}")
    on_slurm = slurm.result
    assert on_slurm.returncode == 0, on_slurm.stdout

    submitted = on_slurm.stdout.count("has been submitted with SLURM jobid")
    remote = re.findall(r"^rule (\w+):$", on_slurm.stdout, flags=re.MULTILINE)  # local rules print "localrule"
    assert {"generate", "ingest", "preprocess", "prepare", "train", "train_bdt", "prune"} <= set(remote)
    assert submitted == len(remote)
    assert completed_slurm_jobs(slurm.state) - slurm.jobs_before == submitted

    assert (tiny_run / "results" / "models" / "pnet" / "metrics.json").is_file()
    assert all((slurm.workdir / target).is_file() for target in SLURM_TARGETS)
    assert output_differences(slurm.workdir, tiny_run, part=True) == []


def test_output_comparison_ignores_only_timing(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    columns = {"jet_pt": np.array([510.5, 620.25], dtype=np.float32), "jet_nparticles": np.array([31, 47])}
    for run, host in ((first, "node1"), (second, "node2")):
        (run / "results" / "models" / "m").mkdir(parents=True)
        (run / "data" / "raw").mkdir(parents=True)
        with uproot.recreate(run / "data" / "raw" / "0000.root") as f:  # different creation time and UUID
            f.mktree("tree", {k: v.dtype for k, v in columns.items()})
            f["tree"].extend(columns)
        history = {"epoch": [0], "train_loss": [0.5], "seconds": [1.0 if run is first else 2.0]}
        (run / "results" / "models" / "m" / "history.json").write_text(json.dumps(history))
        pd.DataFrame(history).to_csv(run / "results" / "models" / "m" / "history.csv", index=False)
        (run / "results" / "provenance.json").write_text(json.dumps({"host": host, "config_hash": "ab"}))
        latency = "0.1062 " if run is first else "0.13541"
        (run / "results" / "summary.md").write_text(
            f"# Summary\n\n| backend | latency_ms | metric |\n|:--|--:|--:|\n| onnx | {latency} | 0.81 |\n")
        torch.save({"model": {"w": torch.ones(3)}, "history": history}, run / "results" / "models" / "m" / "c.pt")
        (run / "data" / "x.parquet").write_bytes(b"PAR1 same")
    assert not filecmp.cmp(first / "data/raw/0000.root", second / "data/raw/0000.root", shallow=False)
    assert output_differences(first, second) == []

    columns["jet_pt"][1] = 620.5
    with uproot.recreate(second / "data" / "raw" / "0000.root") as f:
        f.mktree("tree", {k: v.dtype for k, v in columns.items()})
        f["tree"].extend(columns)
    (second / "results" / "provenance.json").write_text(json.dumps({"host": "node2", "config_hash": "cd"}))
    torch.save({"model": {"w": torch.zeros(3)}, "history": {}}, second / "results" / "models" / "m" / "c.pt")
    (second / "data" / "x.parquet").write_bytes(b"PAR1 sane")
    (second / "results" / "summary.md").write_text(
        "# Summary\n\n| backend | latency_ms | metric |\n|:--|--:|--:|\n| onnx | 0.1062 | 0.82 |\n")
    (second / "results" / "extra.png").write_bytes(b"")
    assert output_differences(first, second, part=True) == [
        "differs: data/raw/0000.root", "differs: data/x.parquet", "differs: results/models/m/c.pt",
        "differs: results/provenance.json", "differs: results/summary.md"]
    assert output_differences(first, second) == [
        "only in second: results/extra.png", "differs: data/raw/0000.root", "differs: data/x.parquet",
        "differs: results/models/m/c.pt", "differs: results/provenance.json", "differs: results/summary.md"]
