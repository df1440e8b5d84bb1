"""results/summary.md: every metric table of a run (evaluation, pruning, latency, ranking) and its figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from rootml.atomic import atomic_output

LATENCY_COLUMNS = ("backend", "device", "batch_size", "latency_ms", "throughput_per_s", "n_parameters", "n_nonzero")
TOP_FEATURES = 10


def _table(frame: pd.DataFrame) -> str:
    """A markdown table with 4 significant digits."""
    return frame.to_markdown(index=False, floatfmt=".4g")


def pruning_section(prune_dirs: Sequence[Path]) -> list[str]:
    """Metric versus sparsity and the latency table of every pruned model."""
    lines = ["## Pruning and inference latency", ""]
    for directory in prune_dirs:
        steps = pd.read_csv(directory / "pruning.csv")
        latency = pd.read_csv(directory / "latency.csv")
        lines += [f"### {directory.name}", "", _table(steps), "",
                  _table(latency[[c for c in LATENCY_COLUMNS if c in latency.columns]]), ""]
    return lines


def ranking_section(rank_dirs: Sequence[Path]) -> list[str]:
    """The top features of every ranked model, by mean rank over the methods, with each method's rank."""
    lines = ["## Feature ranking", ""]
    for directory in rank_dirs:
        table = pd.read_csv(directory / "comparison.csv", index_col=0)
        ranks = [c for c in table.columns if c.startswith("rank_") or c == "mean_rank"]
        top = table[ranks].head(TOP_FEATURES).reset_index()
        lines += [f"### {directory.name}", "", _table(top), ""]
    return lines


def write_summary(out_path: Path, *, evaluation_dir: Path, prune_dirs: Sequence[Path], rank_dirs: Sequence[Path],
                  figures_root: Path) -> None:
    """Write the run's summary: evaluation metrics, pruning and latency, rankings, and every figure's path."""
    figures = sorted(p.relative_to(figures_root) for p in figures_root.rglob("*.png"))
    # the metrics file's own headings go one level down, under the summary's title
    metrics = [f"#{line}" if line.startswith("#") else line
               for line in (evaluation_dir / "metrics.md").read_text().strip().splitlines()]
    lines = ["# rootml run summary", "", *metrics, ""]
    lines += pruning_section(prune_dirs) if prune_dirs else []
    lines += ranking_section(rank_dirs) if rank_dirs else []
    lines += ["## Figures", "", "Every figure is written as PDF and PNG; `snakemake --report results/report.html` "
              "collects them with their captions.", ""]
    lines += [f"- `{figure.with_suffix('')}`" for figure in figures]
    with atomic_output(out_path) as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
