"""The extraction stage of the pipeline, from input files to output files.

The Snakemake scripts are thin adapters around the stages (the others live beside their logic:
images.prepare_images, tasks.sample_tasks, embeddings.embed_images, scoring.compute_mis,
results.summarize_models); tests and notebooks call them directly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd
import torch

from mis import __version__
from mis.activations import extract_extremes, probe_layers
from mis.allocator import retain_freed_memory
from mis.datasets import ImageDataset
from mis.images import manifest_fingerprint
from mis.layers import Layer, layer_table, select_layers
from mis.models import WeightsError, build_model, eval_transform, library_of, select_device, to_device
from mis.sae.dictionary import load_dictionary
from mis.sae.readout import check_widths, dictionary_layer, layer_table_with_dictionaries
from mis.settings import ExtractionSettings
from mis.storage import read_table, sha256_of, write_arrays, write_json, write_table
from mis.tasks import check_image_count

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def extract_activations(
    model_name: str,
    model_spec: dict[str, Any],
    settings: ExtractionSettings,
    images_root: PathLike,
    manifest_path: PathLike,
    device: str,
    threads: int,
    extremes_path: PathLike,
    layers_path: PathLike,
    meta_path: PathLike,
    config_key: str = "models",
    dictionaries: Mapping[str, PathLike] | None = None,
) -> None:
    """Top-k and bottom-k images per unit over the whole image set, for every layer of interest, and
    the ``settings.n_near`` images closest to each configured activation quantile (harder query conditions).
    A killed run resumes from ``<extremes_path>.checkpoint``. A model that cannot be built fails
    naming ``config_key``, the config entry it came from.

    With ``dictionaries`` (name: file, ``mis.sae``), the settings must select one layer: its
    channels come first, then each dictionary's latents as the layer ``<layer>/<name>``, all in the
    same pass; the files' hashes are part of the checkpoint's signature."""
    manifest = read_table(manifest_path)
    check_image_count(len(manifest), settings.k)  # before the model is built
    torch.set_num_threads(threads)
    retain_freed_memory()
    dev = select_device(device)
    try:
        model = to_device(build_model(model_spec), dev)
    except WeightsError as error:
        raise WeightsError(f"model '{model_name}' (config key '{config_key}'): {error}") from error
    try:
        layers = select_layers(model, list(settings.layer_types), list(settings.include), list(settings.exclude))
    except ValueError as error:
        key = "sae.layer" if dictionaries else "extraction.layer_types, include or exclude"
        raise ValueError(f"model '{model_name}' (config key {key}): {error}") from None
    transform, input_size = eval_transform(model, library_of(model_spec))
    probe = probe_layers(model, layers, input_size, dev)
    layers, counts = probe.layers, probe.counts
    if probe.mixes_images:  # an image's activations are its own only in a batch of its own
        settings = replace(settings, batch_size=1)
    if dictionaries:
        layers, counts = _with_dictionaries(layers, counts, dictionaries, dev)
    table = layer_table_with_dictionaries(layers, counts) if dictionaries else layer_table(layers, counts)
    dataset = ImageDataset(images_root, manifest["path"], transform, input_size, settings.decoder)
    fingerprint, layer_names = manifest_fingerprint(manifest), list(table["layer"])
    signature = {
        "model": model_spec,
        "dataset": fingerprint,
        "layers": layer_names,
        "settings": {
            "k": settings.k,
            "levels": settings.levels,
            "n_near": settings.n_near,
            "sample": settings.quantile_sample,
        },
        "decoder": dataset.decoder,
    }
    hashes = {name: sha256_of(path) for name, path in (dictionaries or {}).items()}
    if hashes:
        signature["dictionaries"] = hashes
    log.info("%s: %d layers, %d units, %d images on %s", model_name, len(layers), sum(counts), len(manifest), dev)
    extremes = extract_extremes(
        model, layers, dataset, sum(counts), dev, settings, f"{extremes_path}.checkpoint", signature
    )
    write_arrays(
        extremes_path,
        top_idx=extremes.top_idx.T,
        top_val=extremes.top_val.T,
        bottom_idx=extremes.bottom_idx.T,
        bottom_val=extremes.bottom_val.T,
        quantile_probs=extremes.quantile_probs,
        quantile_val=extremes.quantile_val.T,
        near_idx=extremes.near_idx.transpose(2, 0, 1),
        top_ties=extremes.top_ties,
        bottom_ties=extremes.bottom_ties,
        non_finite=extremes.non_finite,
    )
    log_non_finite(table, extremes.non_finite)
    write_table(table, layers_path)
    write_json(
        meta_path,
        {
            "model": model_name,
            "library": library_of(model_spec),
            "architecture": model_spec["architecture"],
            "weights": model_spec["weights"],
            "layers": layer_names,
            "dataset_fingerprint": fingerprint,
            "n_images": extremes.n_images,
            "n_skipped": extremes.n_skipped,
            "n_layers": len(layers),
            "n_units": sum(counts),
            "excluded_layers": [asdict(layer) for layer in probe.excluded],
            "mixes_images": probe.mixes_images,
            "k": settings.k,
            "decoder": dataset.decoder,
            "mis_version": __version__,
            "torch_version": torch.__version__,
            **({"dictionaries": _dictionary_files(dictionaries, hashes)} if hashes else {}),
        },
    )


def log_non_finite(table: pd.DataFrame, non_finite: np.ndarray) -> None:
    """A warning per layer with units that were NaN or ±inf on some image: they are not scored."""
    per_unit = np.repeat(table["layer"].to_numpy(), table["channels"].to_numpy())
    for layer in dict.fromkeys(per_unit[non_finite > 0]):
        units = non_finite[per_unit == layer]
        affected, activations = int((units > 0).sum()), int(units.sum())
        log.warning(
            "layer %s: %d of %d units are NaN or infinite on some image (%d activations); they are not scored",
            layer,
            affected,
            len(units),
            activations,
        )


def _dictionary_files(dictionaries: Mapping[str, PathLike], hashes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """meta.json's record of each dictionary read: its file and SHA-256."""
    return {name: {"path": str(dictionaries[name]), "sha256": digest} for name, digest in hashes.items()}


def _with_dictionaries(
    layers: list[Layer], counts: list[int], dictionaries: Mapping[str, PathLike], device: torch.device
) -> tuple[list[Layer], list[int]]:
    """The one selected layer, then a layer per dictionary read from it (units: its latents)."""
    if len(layers) != 1:
        raise ValueError(f"dictionaries are read from one layer, but the settings select {len(layers)}")
    loaded = {name: load_dictionary(path).to(device) for name, path in dictionaries.items()}
    check_widths(loaded, counts[0], layers[0].name)
    readouts = [dictionary_layer(layers[0], dictionary, name) for name, dictionary in loaded.items()]
    return layers + readouts, counts + [dictionary.n_latents for dictionary in loaded.values()]
