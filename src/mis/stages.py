"""The torch stages of the pipeline, each from input files to output files.

The Snakemake scripts are thin adapters around these (the stages without torch live beside their
logic: images.write_manifest, tasks.write_tasks, results.write_model_summary); tests and notebooks
call them directly.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
import torch

from mis import __version__
from mis.activations import channel_counts, extract_extremes
from mis.datasets import ImageDataset, image_loader
from mis.images import manifest_fingerprint
from mis.layers import layer_table, select_layers
from mis.models import build_model, eval_transform, select_device, to_device
from mis.results import unit_table
from mis.scoring import score_tasks
from mis.similarity import build_embedder, embed_images
from mis.storage import read_arrays, read_table, write_arrays, write_json, write_table
from mis.tasks import read_tasks

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def extract_activations(
    model_name: str,
    model_spec: dict[str, Any],
    extraction: dict[str, Any],
    images_root: PathLike,
    manifest_path: PathLike,
    k: int,
    device: str,
    threads: int,
    extremes_path: PathLike,
    layers_path: PathLike,
    meta_path: PathLike,
) -> None:
    """Top-k and bottom-k images per unit over the whole image set, for every layer of interest."""
    torch.set_num_threads(threads)
    dev = select_device(device)
    model = to_device(build_model(model_spec["architecture"], model_spec["weights"]), dev)
    layers = select_layers(model, extraction["layer_types"], extraction["include"], extraction["exclude"])
    transform, input_size = eval_transform(model)
    counts = channel_counts(model, layers, input_size, dev)
    table = layer_table(layers, counts)
    manifest = read_table(manifest_path)
    loader = image_loader(
        ImageDataset(images_root, manifest["path"], transform, input_size), extraction["batch_size"], extraction["num_workers"]
    )
    log.info("%s: %d layers, %d units, %d images on %s", model_name, len(layers), sum(counts), len(manifest), dev)
    extremes = extract_extremes(model, layers, loader, k, sum(counts), dev, progress_total=len(loader))
    write_arrays(
        extremes_path,
        top_idx=extremes.top_idx.T,
        top_val=extremes.top_val.T,
        bottom_idx=extremes.bottom_idx.T,
        bottom_val=extremes.bottom_val.T,
    )
    write_table(table, layers_path)
    write_json(
        meta_path,
        {
            "model": model_name,
            "architecture": model_spec["architecture"],
            "weights": model_spec["weights"],
            "dataset_fingerprint": manifest_fingerprint(manifest),
            "n_images": extremes.n_images,
            "n_skipped": extremes.n_skipped,
            "n_layers": len(layers),
            "n_units": sum(counts),
            "k": k,
            "mis_version": __version__,
            "torch_version": torch.__version__,
        },
    )


def embed_image_set(
    similarity: dict[str, Any], images_root: PathLike, manifest_path: PathLike, device: str, threads: int, embeddings_path: PathLike
) -> None:
    """Embed every image of the manifest once with the configured similarity backend."""
    torch.set_num_threads(threads)
    embedder = build_embedder(similarity, select_device(device))
    manifest = read_table(manifest_path)
    embeddings, readable = embed_images(embedder, images_root, list(manifest["path"]), similarity["batch_size"], similarity["num_workers"])
    write_arrays(embeddings_path, embeddings=embeddings, readable=readable)


def compute_mis(
    model_name: str,
    tasks_path: PathLike,
    embeddings_path: PathLike,
    extremes_path: PathLike,
    layers_path: PathLike,
    mis: dict[str, Any],
    device: str,
    units_path: PathLike,
) -> None:
    """Per-unit MIS and hard accuracy for one model, as a tidy table."""
    tasks = read_tasks(tasks_path)
    embeddings = torch.from_numpy(read_arrays(embeddings_path)["embeddings"]).to(select_device(device))
    scores = score_tasks(embeddings, tasks, mis["alpha"])
    if np.isnan(scores.mis).any():
        raise ValueError(f"NaN MIS for {model_name}: a task uses an image that could not be embedded ({embeddings_path})")
    extremes = read_arrays(extremes_path)
    value_range = extremes["top_val"][:, 0] - extremes["bottom_val"][:, 0]
    table = unit_table(model_name, read_table(layers_path), value_range, scores.mis, scores.hard_accuracy, mis["constant_threshold"])
    write_table(table, units_path)
