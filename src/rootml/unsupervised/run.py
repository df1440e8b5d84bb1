"""explore_model / explore_highlevel: a trained model's latent space (autoencoders) or last hidden layer
(classifiers), or the raw high-level features, on a class-stratified sample of the test split -> PCA, t-SNE and UMAP
views coloured by true class, the number of clusters chosen by the elbow, silhouette and BIC curves, and k-means,
Gaussian-mixture, agglomerative and DBSCAN clusterings scored against the true classes (the explore rules' entry
points; docs/contracts.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from rootml.atomic import atomic_output
from rootml.files import FileSet
from rootml.plotting.unsupervised import plot_contingency, plot_embeddings, plot_model_selection
from rootml.training.data import SplitReader, to_model_layout
from rootml.training.device import configure_torch
from rootml.training.load import load_trained
from rootml.training.records import write_json
from rootml.unsupervised.clustering import choose_n_clusters, cluster, score_clusters
from rootml.unsupervised.embeddings import bounded_sample, embed
from rootml.unsupervised.representations import latent_or_hidden
from rootml.unsupervised.settings import ExploreSettings

log = logging.getLogger(__name__)

POOL_FACTOR = 5  # the stratified sample is drawn from the first POOL_FACTOR * max_jets rows of the shuffled split
SCORE_COLUMNS = ("adjusted_rand_index", "normalized_mutual_info", "purity", "noise_fraction")


@dataclass(frozen=True)
class ExploreFiles(FileSet):
    """What an explore rule writes for one space (results/explore/models/{model}/ or results/explore/highlevel/)."""

    NAMES = {"summary": "explore.json", "scores": "clusters.csv", "plots": "plots"}

    summary: Path
    scores: Path
    plots: Path


@dataclass(frozen=True)
class Space:
    """The rows to analyse: one vector per jet, its true class, the class names and what the vector is."""

    name: str
    representation: str
    x: np.ndarray
    labels: np.ndarray
    classes: list[str]


def _sample(reader: SplitReader, keys: tuple[str, ...] | list[str], settings: ExploreSettings,
            seed: int) -> dict[str, np.ndarray]:
    """`keys` and the labels of a class-stratified sample of at most max_jets test jets, drawn from the first
    POOL_FACTOR * max_jets rows of the (shuffled) split."""
    rows = min(reader.n_rows, POOL_FACTOR * settings.max_jets)
    batch = next(reader.batches(keys, rows, max_rows=rows))
    chosen = bounded_sample(batch["label"], settings.max_jets, seed)
    return {key: value[chosen] for key, value in batch.items()}


def model_space(config_path: str | Path, weights_path: str | Path, test: Mapping[str, str | Path],
                settings: ExploreSettings, seed: int) -> Space:
    """The latent or last hidden layer of a trained torch model on a sample of its test jets (test: representation
    -> prepared file of the test split)."""
    trained = load_trained(config_path, weights_path)
    name = trained.config["name"]
    if not isinstance(trained.model, torch.nn.Module):
        raise ValueError(f"explore.models: model {name} ({trained.config['family']}) has no hidden layer to embed")
    reader = SplitReader({rep: test[rep] for rep in trained.config["representations"]}, "test",
                         max_jets_in_memory=POOL_FACTOR * settings.max_jets, view=trained.view)
    batch = _sample(reader, trained.input_keys, settings, seed)
    inputs = to_model_layout([{key: trained.narrow(key, batch[key]) for key in trained.input_keys}])
    tensors = {key: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)) for key, value in inputs.items()}
    representation, x = latent_or_hidden(trained.model, tensors)
    return Space(name, representation, x, batch["label"], list(trained.config["classes"]))


def highlevel_space(highlevel: str | Path, settings: ExploreSettings, seed: int) -> Space:
    """The normalised high-level features of a sample of the test jets (highlevel: the test split's prepared
    highlevel.h5)."""
    reader = SplitReader({"highlevel": highlevel}, "test", max_jets_in_memory=POOL_FACTOR * settings.max_jets)
    batch = _sample(reader, ["highlevel"], settings, seed)
    return Space("highlevel", "high-level features", batch["highlevel"], batch["label"], reader.classes)


def _write_scores(table: pd.DataFrame, path: Path) -> None:
    """Write the clustering scores table atomically."""
    with atomic_output(path) as tmp:
        table.to_csv(tmp, index=False)


def explore_space(space: Space, out: ExploreFiles, settings: ExploreSettings, seed: int) -> dict[str, Any]:
    """Embed, choose the number of clusters, cluster and score one space; write `out` and return the summary."""
    out.plots.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    title = f"{space.name}: {space.representation}"
    embeddings = {}
    for method in settings.embeddings:
        start = time.perf_counter()
        embeddings[method] = embed(space.x, method, seed=seed)
        seconds[method] = time.perf_counter() - start
    plot_embeddings(embeddings, space.labels, space.classes, out.plots / "embeddings", title=title)
    # clusters live in the representation itself, each dimension standardised (units differ between features)
    x = StandardScaler().fit_transform(space.x.astype(np.float64))
    k_values = [k for k in settings.k_values if k < len(x)]
    start = time.perf_counter()
    selection = choose_n_clusters(x, k_values, seed=seed)
    seconds["n_clusters"] = time.perf_counter() - start
    plot_model_selection(selection, out.plots / "n_clusters", title=title)
    n_clusters = settings.n_clusters or selection.best[settings.choose_by]
    # DBSCAN finds dense regions, and in tens of standardised dimensions the density is flat (one cluster): it
    # clusters the UMAP view when there is one, the recipe of umap-learn's documentation for density clustering
    density_space = "umap" if "umap" in embeddings else "representation"
    rows, scores = [], {}
    for method in settings.clustering:
        start = time.perf_counter()
        points = embeddings.get("umap", x) if method == "dbscan" else x
        found = score_clusters(cluster(points, method, n_clusters, seed=seed), space.labels, space.classes)
        seconds[method] = time.perf_counter() - start
        scores[method] = found.to_dict()
        n_found = sum(1 for row in found.contingency.index if row != "noise")
        rows.append({"space": space.name, "representation": space.representation, "method": method,
                     "n_clusters": n_found, **{column: scores[method][column] for column in SCORE_COLUMNS}})
        plot_contingency(found.contingency, out.plots / f"contingency_{method}", title=f"{title}, {method}")
    _write_scores(pd.DataFrame(rows), out.scores)
    summary = {"space": space.name, "representation": space.representation, "n_jets": len(space.x),
               "dimensions": int(space.x.shape[1]), "classes": space.classes, "selection": selection.to_dict(),
               "n_clusters": n_clusters, "chosen_by": None if settings.n_clusters else settings.choose_by,
               "dbscan_space": density_space,
               "clustering": scores, "seconds": seconds, "settings": settings.as_dict()}
    write_json(summary, out.summary)
    log.info("%s (%s, %d jets x %d): %d clusters; ARI %s", space.name, space.representation, len(space.x),
             space.x.shape[1], n_clusters, {row["method"]: round(row["adjusted_rand_index"], 3) for row in rows})
    return summary


def explore(space_of: Callable[[], Space], out: ExploreFiles, settings: ExploreSettings, seed: int) -> dict[str, Any]:
    """explore_space of the space `space_of()` builds, with torch and the numerical libraries on num_threads."""
    configure_torch(settings.num_threads)
    with threadpool_limits(settings.num_threads):
        return explore_space(space_of(), out, settings, seed)


def explore_model(config_path: str | Path, weights_path: str | Path, test: Mapping[str, str | Path],
                  out: ExploreFiles, settings: ExploreSettings, seed: int) -> dict[str, Any]:
    """Explore the latent space or last hidden layer of a trained model on its test split."""
    return explore(lambda: model_space(config_path, weights_path, test, settings, seed), out, settings, seed)


def explore_highlevel(highlevel: str | Path, out: ExploreFiles, settings: ExploreSettings,
                      seed: int) -> dict[str, Any]:
    """Explore the raw (normalised) high-level features of the test split."""
    return explore(lambda: highlevel_space(highlevel, settings, seed), out, settings, seed)
