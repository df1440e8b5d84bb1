"""Generate-stage throughput: rootml's whole chunk pipeline against a bare Pythia next() loop.

Run: .venv/bin/python benchmarks/generate.py [--events 300] [--rounds 2] [--processes qcd tbqq]
For each process, both run with the same Pythia settings and seed, on one core, alternating in
rounds so that a busy machine slows both alike; Pythia's initialisation is left out of both times.
The pipeline (rootml.generate.generate_chunk) does Pythia + extraction + anti-kT clustering +
truth matching + substructure + ROOT writing. Prints events/s of each and their ratio (goal >= 0.8).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rootml.generate import generate_chunk
from rootml.generate.events import start_pythia
from rootml.generate.processes import process_spec, pythia_settings
from rootml.generate.settings import GenerateSettings
from rootml.job import redirected_output

SEED = 12345
SETTINGS = GenerateSettings.from_config({"sqrt_s": 13000.0, "pt_min": 500.0, "pt_max": 700.0})
# jets asked of the pipeline per bare-loop event: about the jets per event of the least efficient
# process (tbqq), so that the pipeline runs at least as many events as the bare loop
JETS_PER_EVENT = 0.5


def bare_pythia_seconds(process: str, n_events: int, seed: int) -> float:
    """Seconds for n_events plain pythia.next() calls (after initialisation)."""
    settings = pythia_settings(process_spec(process), seed=seed, sqrt_s=SETTINGS.sqrt_s, pt_min=SETTINGS.pt_min,
                               pt_max=SETTINGS.pt_max)
    with redirected_output(None):
        pythia = start_pythia(settings)
        start = time.perf_counter()
        for _ in range(n_events):
            pythia.next()
        return time.perf_counter() - start


def pipeline_events_seconds(process: str, n_jets: int, seed: int, out_dir: Path) -> tuple[float, float]:
    """Events generated and seconds spent (initialisation excluded) by generate_chunk for n_jets jets."""
    stats = generate_chunk(out_dir / f"{process}.root", process=process, n_jets=n_jets, seed=seed, label="x",
                           classes=["x"], settings=SETTINGS, progress=False)
    return stats["events"], stats["seconds"] - stats["init_seconds"]


def main() -> None:
    """Measure and print the throughputs and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="bare-loop events per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", nargs="+", default=["qcd", "tbqq"])
    args = parser.parse_args()
    print(f"{'process':8} {'bare Pythia ev/s':>17} {'rootml ev/s':>12} {'ratio':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for process in args.processes:
            bare_events = bare_seconds = pipe_events = pipe_seconds = 0.0
            for round_ in range(args.rounds):
                order = ("bare", "rootml") if round_ % 2 == 0 else ("rootml", "bare")
                for which in order:
                    if which == "bare":
                        bare_seconds += bare_pythia_seconds(process, args.events, SEED + round_)
                        bare_events += args.events
                    else:
                        events, seconds = pipeline_events_seconds(
                            process, round(JETS_PER_EVENT * args.events), SEED + round_, Path(tmp))
                        pipe_events += events
                        pipe_seconds += seconds
            bare_rate, pipe_rate = bare_events / bare_seconds, pipe_events / pipe_seconds
            print(f"{process:8} {bare_rate:17.1f} {pipe_rate:12.1f} {pipe_rate / bare_rate:6.2f}", flush=True)


if __name__ == "__main__":
    main()
