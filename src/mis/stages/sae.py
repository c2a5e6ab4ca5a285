"""The workflow's SAE stages, each from input files to output files (the Snakemake scripts are thin
adapters around these): sample a layer's activation vectors, train one SAE on them, and evaluate
every dictionary of the layer in one pass. Scoring the latents is the ordinary extraction
(``mis.stages.activations.extract_activations`` with dictionaries) of the model ``<model>-sae``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from mis.activations import Probe, probe_layers
from mis.datasets import ImageDataset
from mis.layers import find_layer
from mis.models import build_model, eval_transform, library_of, select_device, to_device
from mis.sae.dictionary import load_dictionary, save_dictionary
from mis.sae.metrics import evaluate_dictionaries
from mis.sae.readout import check_widths
from mis.sae.sampling import sample_vectors
from mis.settings import SaeSettings
from mis.storage import read_arrays, read_table, write_arrays, write_table

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def _model_layer_dataset(
    model_spec: dict[str, Any],
    layer_name: str,
    device: torch.device,
    images_root: PathLike,
    paths: list[str],
    decoder: str,
) -> tuple[nn.Module, Probe, ImageDataset]:
    """The configured model, the probe of its layer (layout, channel count, whether the model mixes
    the images of a batch), and the images, decoded as the extraction decodes them
    (``extraction.decoder``); a layer the model lacks, or cannot score, fails naming config key
    ``sae.layer``."""
    model = to_device(build_model(model_spec), device)
    transform, input_size = eval_transform(model, library_of(model_spec))
    try:
        probe = probe_layers(model, [find_layer(model, layer_name)], input_size, device)
    except ValueError as error:
        raise ValueError(f"config key 'sae.layer': {error}") from None
    return model, probe, ImageDataset(images_root, paths, transform, input_size, decoder)


def sample_sae_vectors(
    model_spec: dict[str, Any],
    layer_name: str,
    n_vectors: int,
    seed: int,
    images_root: PathLike,
    manifest_path: PathLike,
    device: str,
    threads: int,
    batch_size: int,
    num_workers: int,
    decoder: str,
    vectors_path: PathLike,
) -> None:
    """``n_vectors`` position vectors of the layer, a seeded uniform sample over the image set (one
    pass, bounded memory; ``mis.sae.sampling``), stored as ``vectors`` (n, channels)."""
    torch.set_num_threads(threads)
    dev = select_device(device)
    paths = list(read_table(manifest_path)["path"])
    model, probe, dataset = _model_layer_dataset(model_spec, layer_name, dev, images_root, paths, decoder)
    batch_size = 1 if probe.mixes_images else batch_size
    vectors = sample_vectors(model, probe.layers[0], dataset, n_vectors, seed, dev, batch_size, num_workers)
    log.info("%d vectors of %d channels from layer %s", *vectors.shape, layer_name)
    write_arrays(vectors_path, vectors=vectors.numpy())


def train_sae(
    settings: SaeSettings, layer_name: str, vectors_path: PathLike, device: str, threads: int, dictionary_path: PathLike
) -> None:
    """One SAE of the sweep, trained on the sampled vectors (seeded; deterministic on CPU) and
    written as a dictionary file whose metadata records the layer and the settings."""
    # overcomplete (scikit-learn, scikit-image, OpenCV: ≈ 3 CPU s) loads in the training jobs only
    from mis.sae.fitting import train_dictionary

    torch.set_num_threads(threads)
    vectors = torch.from_numpy(read_arrays(vectors_path)["vectors"])
    log.info("training %s on %d vectors: %s", settings.name, len(vectors), asdict(settings))
    dictionary = train_dictionary(vectors, settings, select_device(device))
    dictionary.meta["layer"] = layer_name
    save_dictionary(dictionary.cpu(), dictionary_path)


def evaluate_saes(
    model_spec: dict[str, Any],
    layer_name: str,
    dictionaries: Mapping[str, PathLike],
    evaluate_every: int,
    images_root: PathLike,
    manifest_path: PathLike,
    device: str,
    threads: int,
    batch_size: int,
    num_workers: int,
    decoder: str,
    metrics_path: PathLike,
) -> None:
    """L0, dead latents, unexplained variance and model fidelity of every dictionary of the layer
    (``mis.sae.metrics``), in one pass over every ``evaluate_every``-th image; one row per
    dictionary with its ``kind``."""
    torch.set_num_threads(threads)
    dev = select_device(device)
    paths = list(read_table(manifest_path)["path"])[::evaluate_every]
    model, probe, dataset = _model_layer_dataset(model_spec, layer_name, dev, images_root, paths, decoder)
    loaded = {name: load_dictionary(path).to(dev) for name, path in dictionaries.items()}
    log.info("%d dictionaries of layer %s on %d images", len(loaded), layer_name, len(paths))
    check_widths(loaded, probe.counts[0], layer_name)
    batch_size = 1 if probe.mixes_images else batch_size
    table = evaluate_dictionaries(model, probe.layers[0], loaded, dataset, dev, batch_size, num_workers)
    table.insert(1, "kind", [loaded[name].kind for name in table["dictionary"]])
    write_table(table, metrics_path)
