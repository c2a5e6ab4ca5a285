"""Training a classifier epoch by epoch, for the training dynamics of MIS (Fig. 7, 8).

The paper follows a ResNet-50 through its ImageNet training; offline, the embedded default trains a
small model on a classification task built from the image set's categories, and checkpoints every
listed epoch (epoch 0 = the initialisation), so that each checkpoint is a model of the pipeline.

Classes from categories: category names are ``_``-separated paths from general to specific (the
demo photos: ``tux_animals_mammals_cats``). A category with fewer than ``min_images`` images joins
its parent (its name without the last part), deepest names first, so a small category may climb
several levels and a parent collects its small children; merging never reaches a one-part name (the
demo photos' source collection, ``gc`` or ``tux``; an ImageNet wnid never merges). Groups still
below ``min_images`` are dropped.

The classifier is the architecture's own head: the task's K classes are its first K outputs; the
other outputs are zeroed at initialisation and get no gradient, so they stay zero. Checkpoints then
load into the unmodified architecture (``weights.source: file``), and those outputs are constant
units, which MIS statistics exclude.

Determinism: the initialisation is seeded, images are decoded once (the model's evaluation transform,
as for the activations), and one generator seeded from the config draws the data order and flips;
with the same threads on the CPU (config key `threads.training`, used exactly), the same config gives
identical checkpoints.
"""

from __future__ import annotations

import io
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from mis.datasets import ImageDataset, image_loader
from mis.models import to_input
from mis.storage import atomic_path

log = logging.getLogger(__name__)
PathLike = str | os.PathLike
PART = "_"
LOAD_BATCH = 64


def category_classes(counts: Mapping[str, int], min_images: int) -> dict[str, str]:
    """The class of every category that gets one (see the module docstring); the others are dropped."""
    sizes = dict(counts)
    members = {name: [name] for name in counts}
    for depth in range(max(name.count(PART) for name in sizes), 1, -1):  # a name with `depth` separators
        for name in sorted(n for n in sizes if n.count(PART) == depth and sizes[n] < min_images):
            parent = name.rsplit(PART, 1)[0]
            sizes[parent] = sizes.get(parent, 0) + sizes.pop(name)
            members.setdefault(parent, []).extend(members.pop(name))
    return {category: name for name, group in members.items() if sizes[name] >= min_images for category in group}


def split_validation(labels: np.ndarray, val_fraction: float, seed: int) -> np.ndarray:
    """Validation mask: per class, round(val_fraction·n) images (at least 1, at most n − 1, so every
    class is in both sets), drawn by a generator seeded with ``seed``."""
    rng = np.random.default_rng(seed)
    is_val = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        n_val = min(max(1, round(val_fraction * len(members))), len(members) - 1)
        is_val[rng.choice(members, n_val, replace=False)] = True
    return is_val


def class_split(manifest: pd.DataFrame, min_images: int, val_fraction: float, seed: int) -> pd.DataFrame:
    """The manifest rows that belong to a class, with ``class``, ``label`` (classes in name order)
    and ``split`` (train or val)."""
    classes = category_classes(manifest["category"].value_counts().to_dict(), min_images)
    names = sorted(set(classes.values()))
    if len(names) < 2:
        raise ValueError(
            f"only {len(names)} class(es) have at least {min_images} images; lower config key "
            "'training.train.min_images' or use a larger image set"
        )
    table = manifest[manifest["category"].isin(classes)].reset_index(drop=True)
    table["class"] = table["category"].map(classes)
    table["label"] = table["class"].map({name: label for label, name in enumerate(names)})
    table["split"] = np.where(split_validation(table["label"].to_numpy(), val_fraction, seed), "val", "train")
    return table[["image", "path", "category", "class", "label", "split"]]


@dataclass(frozen=True)
class TrainSettings:
    """How to train: SGD with momentum and weight decay, learning rate on a cosine schedule over all
    steps; checkpoints and validation at ``epochs``, training up to the last of them."""

    epochs: tuple[int, ...]
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    seed: int


class Examples(NamedTuple):
    """Decoded images (model input) and their class labels."""

    images: torch.Tensor
    labels: torch.Tensor


def load_examples(
    split: pd.DataFrame, images_root: PathLike, transform: Any, input_size: Sequence[int]
) -> dict[str, Examples]:
    """The train and val images of the split, decoded once through the model's evaluation transform
    (as for the activations); unreadable images are left out and logged."""
    dataset = ImageDataset(images_root, list(split["path"]), transform, input_size)
    batches = list(image_loader(dataset, LOAD_BATCH, 0))
    images = torch.cat([batch for batch, _, _ in batches])
    readable = torch.cat([ok for _, _, ok in batches])
    if not readable.all():
        log.warning("%d unreadable images left out of training", int((~readable).sum()))
    labels = torch.tensor(split["label"].to_numpy())
    examples = {}
    for name in ("train", "val"):
        keep = torch.tensor((split["split"] == name).to_numpy()) & readable
        examples[name] = Examples(images[keep], labels[keep])
    return examples


def restrict_head(model: nn.Module, n_classes: int) -> None:
    """Zero the head's outputs from ``n_classes`` on: with the loss on the first ``n_classes`` logits
    only, they get no gradient (nor weight decay, being zero) and stay zero."""
    head = model.get_classifier()
    outputs = head.weight.shape[0]
    if n_classes > outputs:
        raise ValueError(f"{n_classes} classes, but the architecture's head has {outputs} outputs")
    with torch.no_grad():
        for parameter in head.parameters():
            parameter[n_classes:] = 0


def evaluate(
    model: nn.Module, examples: Examples, n_classes: int, batch_size: int, device: torch.device
) -> tuple[float, float]:
    """Top-1 accuracy (%) and mean cross-entropy over the task's classes."""
    model.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(examples.images), batch_size):
            logits = model(to_input(examples.images[start : start + batch_size], device))[:, :n_classes]
            target = examples.labels[start : start + batch_size].to(device)
            correct += int((logits.argmax(1) == target).sum())
            loss += float(F.cross_entropy(logits, target, reduction="sum"))
    return 100.0 * correct / len(examples.images), loss / len(examples.images)


def train_epoch(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
    examples: Examples,
    n_classes: int,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device,
) -> float:
    """One pass in a seeded random order with seeded horizontal flips; the mean training loss."""
    model.train()
    order = torch.randperm(len(examples.images), generator=generator)
    flip = torch.rand(len(examples.images), generator=generator) < 0.5
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        images = examples.images[batch]
        inputs = torch.where(flip[batch, None, None, None], images.flip(-1), images)
        loss = F.cross_entropy(model(to_input(inputs, device))[:, :n_classes], examples.labels[batch].to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        total += loss.item() * len(batch)
    return total / len(order)


def save_checkpoint(model: nn.Module, path: PathLike, epoch: int, classes: Sequence[str]) -> None:
    """The weights under ``model`` (which ``mis.models`` unwraps), with the epoch and class names.
    Saved through memory: torch names the archive after the file, and the temporary name would make
    the bytes differ between identical runs."""
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({"model": state, "epoch": epoch, "classes": list(classes)}, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


def fit(
    model: nn.Module,
    examples: Mapping[str, Examples],
    classes: Sequence[str],
    settings: TrainSettings,
    device: torch.device,
    checkpoints: Mapping[int, PathLike],
) -> pd.DataFrame:
    """Train up to the last listed epoch; at each listed one (0 = before training) save a checkpoint
    and validate. Returns the accuracy table: epoch, top1 (%), val_loss, train_loss."""
    optimizer = torch.optim.SGD(
        model.parameters(), lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay
    )
    steps = max(settings.epochs) * math.ceil(len(examples["train"].images) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    generator = torch.Generator().manual_seed(settings.seed)
    rows, train_loss = [], float("nan")
    for epoch in range(max(settings.epochs) + 1):
        started = time.perf_counter()
        if epoch > 0:
            train_loss = train_epoch(
                model, optimizer, schedule, examples["train"], len(classes), settings.batch_size, generator, device
            )
        if epoch in settings.epochs:
            save_checkpoint(model, checkpoints[epoch], epoch, classes)
            top1, val_loss = evaluate(model, examples["val"], len(classes), settings.batch_size, device)
            rows.append({"epoch": epoch, "top1": top1, "val_loss": val_loss, "train_loss": train_loss})
            log.info(
                "epoch %d: validation top-1 %.1f %%, loss %.3f (train %.3f), %.1f s",
                epoch,
                top1,
                val_loss,
                train_loss,
                time.perf_counter() - started,
            )
    return pd.DataFrame(rows)
