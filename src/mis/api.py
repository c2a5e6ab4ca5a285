"""Scoring the units of one layer of one model, without Snakemake: for a researcher's own model.

    from mis.api import score_layer
    units = score_layer(model, "layer3.0.conv1", "path/to/images", n_tasks=10, n_refs=5)

runs the workflow's stages in memory on any ``nn.Module``: one streamed pass over the images keeps
each unit's most and least activating images, fair-batches tasks are sampled from them, and the
similarity of a workflow config (by default the embedded default's, ``config/config.yaml``) scores
them. ``python -m mis score`` does the same from the command line for a timm, torchvision or
open_clip model. With a dictionary (``mis.sae``), the units scored are its latents read from the
layer instead of the layer's channels.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from mis.activations import extract_extremes, probe_layers
from mis.config import load_config
from mis.datasets import ImageDataset
from mis.images import build_manifest
from mis.layers import Layer, find_layer, layer_table, select_layers
from mis.models import eval_transform, select_device, to_device
from mis.results import unit_table
from mis.sae.dictionary import Dictionary, DictionaryError, load_dictionary
from mis.sae.readout import dictionary_layer, layer_table_with_dictionaries
from mis.scoring import scores_from_margins
from mis.settings import DEFAULT_LAYER_TYPES, ExtractionSettings, ScoringSettings, TaskSettings
from mis.similarity.margins import margins_function
from mis.tasks import check_image_count, draw_tasks, rows_of, task_images, task_rng

PathLike = str | os.PathLike
REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = REPO / "config" / "config.yaml"
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
Transform = tuple[Callable, Sequence[int]]  # image transform and its output size (C, H, W)


def scoring_settings(path: PathLike = DEFAULT_CONFIG) -> ScoringSettings:
    """The scoring settings of a workflow config file, validated and with the schema's defaults, so
    that a layer scored here is scored exactly as the workflow scores it."""
    return ScoringSettings.from_config(load_config(path, SCHEMA))


def layer_row(
    model: nn.Module, layer: Layer, input_size: Sequence[int], device: torch.device
) -> tuple[pd.DataFrame, Layer, bool]:
    """The layer's row of the model's layer table: its channels, and its relative depth and width
    among all the model's scorable layers (as in the workflow's unit tables); for a dictionary
    layer, its latents, and the depth and width of the layer it reads. And the layer as probed
    (with its layout), and whether the model mixes the images of a batch (``Probe.mixes_images``);
    one that cannot be scored fails saying why."""
    dictionaries = [layer] if layer.readout else []
    probe = probe_layers(model, select_layers(model, DEFAULT_LAYER_TYPES) + dictionaries, input_size, device)
    if dictionaries:
        table = layer_table_with_dictionaries(probe.layers, probe.counts)
    else:
        table = layer_table(probe.layers, probe.counts)
    row = table[table["layer"] == layer.name].reset_index(drop=True)
    if row.empty:
        reason = next((e.reason for e in probe.excluded if e.name == layer.name), "it is not reached")
        raise ValueError(f"layer '{layer.name}' cannot be scored: {reason}")
    return row, next(probed for probed in probe.layers if probed.name == layer.name), probe.mixes_images


def read_through(layer: Layer, dictionary: Dictionary | PathLike, name: str | None, device: torch.device) -> Layer:
    """``layer`` read through a dictionary (or a dictionary file) on ``device``, named ``name``,
    else by the name in the dictionary's metadata, else by the file's stem."""
    if isinstance(dictionary, Dictionary):
        name = name or dictionary.meta.get("name")
    else:
        path, dictionary = dictionary, load_dictionary(dictionary)
        name = name or dictionary.meta.get("name") or Path(path).stem
    if not name:
        raise ValueError("the dictionary has no name in its metadata: give dictionary_name")
    return dictionary_layer(layer, dictionary.to(device), name)


def score_layer(
    model: nn.Module,
    layer_name: str,
    images_root: PathLike,
    *,
    n_tasks: int = 10,
    n_refs: int = 5,
    seed: int = 0,
    scoring: ScoringSettings | None = None,
    transform: Transform | None = None,
    extensions: Sequence[str] = (".jpg", ".jpeg", ".png"),
    batch_size: int = 32,
    num_workers: int = 0,
    device: str = "auto",
    name: str = "model",
    dictionary: Dictionary | PathLike | None = None,
    dictionary_name: str | None = None,
) -> pd.DataFrame:
    """MIS and hard accuracy of every unit (channel) of one layer, one row per unit, with the
    columns of the workflow's unit tables (``model`` is ``name``).

    With ``dictionary`` (a ``mis.sae.dictionary.Dictionary`` or a file in its format), the units
    are the dictionary's latents read from the layer's output at every position and aggregated
    like channels; their ``layer`` is ``<layer_name>/<dictionary_name>`` (default: the name in the
    dictionary's metadata, else the file's stem).

    ``images_root`` is a folder of images (flat, class folders, or tar shards); at least
    2·N·(K+1) must be readable. ``transform`` defaults to the model's timm evaluation transform
    (224 px ImageNet preprocessing for a model without a timm config), ``scoring`` to the embedded
    default's similarity and α. Tasks are seeded by ``seed`` and ``name``. The model is moved to
    ``device`` and evaluated in eval mode; its training mode is restored afterwards.
    """
    scoring = scoring or scoring_settings()
    tasks_settings = TaskSettings(n_tasks, n_refs, seed)
    dev = select_device(device)
    layer = find_layer(model, layer_name)
    if dictionary is not None:
        layer = read_through(layer, dictionary, dictionary_name, dev)
    transform_fn, input_size = transform or eval_transform(model)
    was_training = model.training
    model = to_device(model, dev).eval()
    try:
        layer_info, layer, mixes_images = layer_row(model, layer, input_size, dev)
        manifest = build_manifest(images_root, extensions)
        check_image_count(len(manifest), tasks_settings.images_per_side, names=("n_tasks", "n_refs"))
        dataset = ImageDataset(images_root, manifest["path"], transform_fn, input_size)
        settings = ExtractionSettings(
            k=tasks_settings.images_per_side, batch_size=1 if mixes_images else batch_size, num_workers=num_workers
        )
        extremes = extract_extremes(model, [layer], dataset, int(layer_info["channels"][0]), dev, settings)
    except DictionaryError as error:  # raised in a forward hook: say which dictionary
        raise DictionaryError(f"dictionary layer '{layer.name}': {error}") from None
    finally:
        model.train(was_training)
    tasks = draw_tasks(extremes.top_idx.T, extremes.bottom_idx.T, n_tasks, n_refs, task_rng(seed, name))
    needed = task_images(tasks)  # embed just these
    paths = list(manifest["path"].to_numpy()[needed])
    margins_of = margins_function(scoring.similarity.spec, images_root, paths, batch_size, num_workers, dev)
    margins = margins_of(rows_of(tasks, needed, images_root))
    scores = scores_from_margins(margins, scoring.alpha)
    ties = (extremes.top_ties, extremes.bottom_ties)
    return unit_table(
        name,
        layer_info,
        (extremes.top_val[0], extremes.bottom_val[0]),
        scores.mis,
        scores.hard_accuracy,
        scoring.constant_threshold,
        ties,
        extremes.non_finite > 0,
    )
