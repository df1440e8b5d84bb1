"""Scaling of the workflow itself: Snakemake planning time for many chunks, and ingest job memory per chunk size.

Run: .venv/bin/python benchmarks/planning.py [--chunks 10 100 1000] [--jets 10000] [--scale 10]
1. Planning: the default run config (config/config.yaml: every stage, every model) with its five
   generated samples split into 10, 100 and 1000 chunks in all; times `snakemake --dry-run` (the real
   CLI, as a user or a cluster submit host runs it: start-up, parsing, schema validation, DAG) and
   prints seconds, planned jobs and milliseconds per job.
2. Memory: one ingest job (the real rule through `snakemake --cores 1`) on a JetClass-style ROOT file
   of --jets jets and of scale x --jets jets (benchmarks/ingest.py writes them). Prints the peak RSS of
   the job's script process and of the Snakemake process that runs it, the run's wall seconds (Snakemake
   start-up included), and the 10x / 1x ratio (a chunk-streaming ingest keeps it near 1; the rule asks
   for mem_mb=2000).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

from ingest import write_jetclass  # benchmarks/ingest.py (this script's folder is on sys.path)

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
ENV = {**os.environ, "CONDOR_CONFIG": "/dev/null",
       "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
POLL_S = 0.005


def snakemake_command(workdir: Path, config: dict, *args: str) -> list[str]:
    """The snakemake CLI on the repository's Snakefile in `workdir` with `config` written there."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    return [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile",
            str(workdir / "config.yaml"), "--workflow-profile", "none", *args]


def chunked_config(n_chunks: int) -> dict:
    """The default run config with its generated samples split into `n_chunks` chunks in all."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    names = list(config["samples"])
    for index, name in enumerate(names):
        share = n_chunks // len(names) + (index < n_chunks % len(names))
        config["samples"][name]["generate"]["chunks"] = max(share, 1)
    return config


def planning_time(workdir: Path, n_chunks: int) -> tuple[float, int]:
    """Wall seconds of `snakemake --dry-run` for `n_chunks` chunks, and the number of jobs it plans."""
    command = snakemake_command(workdir, chunked_config(n_chunks), "--cores", "1", "--dry-run", "--quiet", "rules")
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"dry run for {n_chunks} chunks failed:\n{done.stdout}\n{done.stderr}")
    total = re.search(r"^total\s+(\d+)\s*$", done.stdout + done.stderr, flags=re.MULTILINE)
    return seconds, int(total.group(1)) if total else -1


def _vm_hwm_kib(pid: int) -> int:
    """Peak resident set size (VmHWM) of a live process, in KiB."""
    # psutil reports the current RSS only; the kernel's high-water mark catches peaks between polls.
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def job_peaks(command: list[str], script: str) -> dict[str, float]:
    """Run `command`; peak RSS (MB) of its Snakemake process and of the job process running `script`; seconds."""
    start = time.perf_counter()
    proc = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    peaks = {"snakemake": 0, "job": 0}
    while proc.poll() is None:
        for child in [proc, *proc.children(recursive=True)]:
            try:
                cmdline = " ".join(child.cmdline())
                role = "job" if script in cmdline and ".snakemake/scripts" in cmdline else \
                    "snakemake" if child.pid == proc.pid else None
                if role:
                    peaks[role] = max(peaks[role], _vm_hwm_kib(child.pid))
            except (psutil.Error, FileNotFoundError, ProcessLookupError):
                continue  # the process ended between listing and reading
        time.sleep(POLL_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr.read().decode()}")
    return {**{role: kib / 1024 for role, kib in peaks.items()}, "seconds": time.perf_counter() - start}


def ingest_memory(folder: Path, n_jets: int) -> dict[str, float]:
    """Peak RSS (MB) of the ingest job for one JetClass-style chunk of `n_jets` jets."""
    path = write_jetclass(folder / f"jets_{n_jets}.root", n_jets, mean_particles=40)
    classes = ["g", "q", "W", "Z", "t"]
    config = {"classes": classes, "seed": 1,
              "samples": {"bench": {"files": [str(path)], "labels": {c: f"label_{c} == 1" for c in classes}}}}
    command = snakemake_command(folder / f"run_{n_jets}", config, "--cores", "1",
                                "data/ingested/bench/0000.parquet")
    return {"size_mb": path.stat().st_size / 1e6, **job_peaks(command, "ingest.py")}


def main() -> None:
    """Print planning times per chunk count and ingest job peaks for 1x and scale x jets per chunk."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--jets", type=int, default=10_000, help="jets per chunk at 1x")
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("Snakemake dry run of the default run config (all stages and models):")
        print(f"  {'chunks':>7} {'jobs':>7} {'seconds':>8} {'ms/job':>7}")
        plans = []
        for n_chunks in args.chunks:
            seconds, jobs = planning_time(folder / f"plan_{n_chunks}", n_chunks)
            plans.append((jobs, seconds))
            print(f"  {n_chunks:>7} {jobs:>7} {seconds:>8.2f} {1000 * seconds / jobs:>7.2f}")
        (few_jobs, few_s), (many_jobs, many_s) = plans[0], plans[-1]
        if many_jobs > few_jobs:
            marginal = (many_s - few_s) / (many_jobs - few_jobs)
            print(f"  each further job: {1000 * marginal:.2f} ms; fixed start-up: {few_s - few_jobs * marginal:.1f} s")
        print(f"Ingest job peak RSS (VmHWM polled every {1000 * POLL_S:.0f} ms), JetClass-style chunks:")
        print(f"  {'jets':>8} {'file MB':>8} {'job MB':>8} {'snakemake MB':>13} {'run s':>6}")
        peaks = {}
        for n_jets in (args.jets, args.scale * args.jets):
            peaks[n_jets] = ingest_memory(folder, n_jets)
            p = peaks[n_jets]
            print(f"  {n_jets:>8} {p['size_mb']:>8.1f} {p['job']:>8.0f} {p['snakemake']:>13.0f} {p['seconds']:>6.1f}")
        ratio = peaks[args.scale * args.jets]["job"] / peaks[args.jets]["job"]
        print(f"  job peak ratio {args.scale}x / 1x: {ratio:.2f}")


if __name__ == "__main__":
    main()
