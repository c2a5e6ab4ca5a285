"""The training stage: a classifier trained on classes of the image set, a checkpoint per listed
epoch (training dynamics, Fig. 7 and 8)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from mis.classifier import TrainSettings, class_split, fit, load_examples, restrict_head
from mis.models import build_model, eval_transform, select_device, to_device
from mis.storage import read_table, write_table

log = logging.getLogger(__name__)
PathLike = str | os.PathLike


def train_model(
    architecture: str,
    train: Mapping[str, Any],
    epochs: Sequence[int],
    seed: int,
    images_root: PathLike,
    manifest_path: PathLike,
    device: str,
    threads: int,
    checkpoints: Mapping[int, PathLike],
    accuracy_path: PathLike,
    split_path: PathLike,
) -> pd.DataFrame:
    """The training stage: classes and seeded split from the manifest, then a seeded timm
    ``architecture`` trained on them with the config block ``train``, a checkpoint per listed epoch,
    the accuracy table and the split table (which image is in which class and set)."""
    torch.set_num_threads(threads)
    dev = select_device(device)
    split = class_split(read_table(manifest_path), train["min_images"], train["val_fraction"], seed)
    classes = sorted(split["class"].unique())
    model = build_model({"architecture": architecture, "weights": {"source": "random", "seed": seed}})
    restrict_head(model, len(classes))
    transform, input_size = eval_transform(model)
    examples = load_examples(split, images_root, transform, input_size)
    sizes = [len(examples[name].images) for name in ("train", "val")]
    log.info("%d classes; %d training and %d validation images at %s", len(classes), *sizes, input_size)
    settings = TrainSettings(
        tuple(sorted(epochs)), train["batch_size"], train["lr"], train["momentum"], train["weight_decay"], seed
    )
    accuracy = fit(to_device(model, dev), examples, classes, settings, dev, checkpoints)
    write_table(split, split_path)
    write_table(accuracy, accuracy_path)
    return accuracy
