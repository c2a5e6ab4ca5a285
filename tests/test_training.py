"""Training dynamics (Fig. 7, 8): classes from categories, the seeded split, a short real training
whose checkpoints load through the ``file`` weights source, and the tables and figures behind
Fig. 7 and 8 from hand-made unit tables."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image

from mis.analysis.dynamics import (
    accuracy_correlation,
    epoch_table,
    first_epoch_depth_correlation,
    layer_changes,
    read_accuracy_table,
)
from mis.classifier import category_classes, class_split, split_validation
from mis.config import ConfigError, validate_config
from mis.figures import draw
from mis.models import build_model
from mis.settings import ImageSettings
from mis.stages.analysis import analyze_training
from mis.stages.images import prepare_images
from mis.stages.training import train_model
from mis.storage import read_table, write_table

from conftest import REPO, SCHEMA

ARCHITECTURE = "test_resnet.r160_in1k"
TRAIN = {"min_images": 3, "val_fraction": 0.25, "batch_size": 4, "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}


def test_training_config_block() -> None:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert validate_config(copy.deepcopy(base), SCHEMA)["training"]["library"] == "timm"
    given = {"pattern": "run/epoch{epoch:03d}.pth", "accuracy": "run/accuracy.csv"}
    config = copy.deepcopy(base)
    config["training"] = {"name": "r50", "library": "torchvision", "architecture": "resnet50", "epochs": [0, 1]}
    config["training"]["checkpoints"] = given
    assert validate_config(config, SCHEMA)["training"]["checkpoints"]["key_mapping"] == "exact"
    del config["training"]["checkpoints"]
    with pytest.raises(ConfigError, match="config key 'training.checkpoints'"):  # train or checkpoints
        validate_config(copy.deepcopy(config), SCHEMA)
    config["training"]["train"] = {}
    with pytest.raises(ConfigError, match="config key 'training.library'"):  # training here needs timm
        validate_config(config, SCHEMA)


def test_small_categories_join_their_parents_deepest_first() -> None:
    counts = {
        "tux_animals_mammals_cats_tiger": 1,  # -> ..._cats (3) -> tux_animals_mammals (6)
        "tux_animals_mammals_cats": 2,
        "tux_animals_mammals": 3,
        "tux_animals_birds": 6,
        "tux_animals_birds_heron": 1,  # joins a parent that is large enough already
        "gc_explore_monuments_egypt": 2,  # two small siblings make a parent with no images of its own
        "gc_explore_monuments_germany": 3,
        "tux_food_nuts": 1,  # -> tux_food (1): never into the one-part name "tux", so dropped
        "tux_medical": 2,  # two parts: too small, dropped
        "n01440764": 7,  # ImageNet-style wnids never merge
        "n01443537": 2,
    }
    assert category_classes(counts, min_images=5) == {
        "tux_animals_mammals_cats_tiger": "tux_animals_mammals",
        "tux_animals_mammals_cats": "tux_animals_mammals",
        "tux_animals_mammals": "tux_animals_mammals",
        "tux_animals_birds": "tux_animals_birds",
        "tux_animals_birds_heron": "tux_animals_birds",
        "gc_explore_monuments_egypt": "gc_explore_monuments",
        "gc_explore_monuments_germany": "gc_explore_monuments",
        "n01440764": "n01440764",
    }


def test_split_is_seeded_stratified_and_deterministic() -> None:
    labels = np.repeat([0, 1, 2], [4, 10, 21])
    first = split_validation(labels, 0.2, seed=0)
    np.testing.assert_array_equal(first, split_validation(labels, 0.2, seed=0))
    assert not np.array_equal(first, split_validation(labels, 0.2, seed=1))
    assert [int(first[labels == c].sum()) for c in (0, 1, 2)] == [1, 2, 4]  # round(0.2·n), at least 1
    assert split_validation(np.array([0, 0, 1, 1]), 0.9, seed=0).tolist().count(True) == 2  # never a whole class


def test_class_split_of_a_manifest() -> None:
    names = [f"tux_animals_birds_{i}.jpg" for i in range(6)] + [f"gc_erase_{i}.jpg" for i in range(4)]
    names.append("tux_space_0.jpg")
    manifest = pd.DataFrame({"image": range(11), "path": names, "category": [n.rsplit("_", 1)[0] for n in names]})
    table = class_split(manifest, min_images=4, val_fraction=0.25, seed=3)
    assert list(table.columns) == ["image", "path", "category", "class", "label", "split"]
    assert table["image"].tolist() == list(range(10))  # the single space photo is dropped
    assert dict(zip(table["class"], table["label"])) == {"gc_erase": 0, "tux_animals_birds": 1}
    n_val = table[table["split"] == "val"].groupby("class").size().to_dict()
    assert n_val == {"gc_erase": 1, "tux_animals_birds": 2}
    pd.testing.assert_frame_equal(table, class_split(manifest, min_images=4, val_fraction=0.25, seed=3))
    with pytest.raises(ValueError, match="training.train.min_images"):
        class_split(manifest, min_images=7, val_fraction=0.25, seed=3)


@pytest.fixture(scope="module")
def tiny_image_set(tmp_path_factory) -> tuple[Path, Path]:
    """Eight 40×40 photos-to-be in two colour classes, and their manifest."""
    root = tmp_path_factory.mktemp("colours")
    rng = np.random.default_rng(0)
    for name, colour in [("red", (200, 30, 30)), ("blue", (30, 30, 200))]:
        for i in range(4):
            pixels = np.clip(np.array(colour) + rng.normal(0, 20, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"{name}_{i}.png")
    manifest = root.parent / f"{root.name}-manifest.csv"
    prepare_images(ImageSettings(str(root), (".png",)), manifest)
    return root, manifest


def run_training(image_set: tuple[Path, Path], out: Path) -> pd.DataFrame:
    root, manifest = image_set
    return train_model(
        ARCHITECTURE,
        TRAIN,
        [0, 1, 2],
        seed=0,
        images_root=root,
        manifest_path=manifest,
        device="cpu",
        threads=1,
        checkpoints={e: out / f"epoch{e}.pth" for e in (0, 1, 2)},
        accuracy_path=out / "accuracy.csv",
        split_path=out / "split.csv",
    )


def test_training_checkpoints_load_as_file_models_and_repeat_exactly(tiny_image_set, tmp_path: Path) -> None:
    accuracy = run_training(tiny_image_set, tmp_path / "a")
    pd.testing.assert_frame_equal(read_table(tmp_path / "a" / "accuracy.csv"), accuracy)
    assert list(accuracy.columns) == ["epoch", "top1", "val_loss", "train_loss"]
    assert accuracy["epoch"].tolist() == [0, 1, 2]
    assert set(accuracy["top1"]) <= {0.0, 50.0, 100.0} and np.isnan(accuracy["train_loss"][0])
    split = read_table(tmp_path / "a" / "split.csv")
    assert split["class"].tolist() == ["blue"] * 4 + ["red"] * 4 and (split["split"] == "val").sum() == 2
    weights = {e: {"source": "file", "path": str(tmp_path / "a" / f"epoch{e}.pth")} for e in (0, 1, 2)}
    models = {e: build_model({"architecture": ARCHITECTURE, "weights": weights[e]}) for e in (0, 1, 2)}
    init = build_model({"architecture": ARCHITECTURE, "weights": {"source": "random", "seed": 0}}).state_dict()
    for name, tensor in models[0].state_dict().items():  # epoch 0 = the seeded initialisation ...
        expected = init[name].clone()
        if name.startswith("fc."):
            expected[2:] = 0  # ... with the head's outputs beyond the 2 classes zeroed
        assert torch.equal(tensor, expected), name
    assert not torch.equal(models[1].conv1[0].weight, models[0].conv1[0].weight)  # it trained
    assert models[2].fc.weight[2:].abs().max() == 0 and models[2].fc.bias[2:].abs().max() == 0
    assert torch.load(tmp_path / "a" / "epoch2.pth", weights_only=True)["classes"] == ["blue", "red"]
    run_training(tiny_image_set, tmp_path / "b")
    for e in (0, 1, 2):
        assert (tmp_path / "a" / f"epoch{e}.pth").read_bytes() == (tmp_path / "b" / f"epoch{e}.pth").read_bytes()
    pd.testing.assert_frame_equal(read_table(tmp_path / "b" / "accuracy.csv"), accuracy)


def unit_rows(model: str, layer: str, layer_type: str, depth: float, mis: list, constant: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": model,
            "layer": layer,
            "layer_type": layer_type,
            "unit": range(len(mis)),
            "mis": mis,
            "hard_accuracy": 1.0,
            "constant": constant,
            "non_finite": False,
            "relative_depth": depth,
            "relative_width": 1.0,
            "top_ties": 0,
            "bottom_ties": 0,
        }
    )


@pytest.fixture
def units() -> pd.DataFrame:
    """Two layers over epochs 0, 1, 2; the stem's units are all constant at epoch 2."""
    rows = []
    epochs = [
        ("r-epoch0", [0.5, 0.7], [0.6, 0.6, 0.9]),
        ("r-epoch1", [0.8, 0.9], [0.7, 0.8, 0.9]),
        ("r-epoch2", [0.6, 0.6], [0.6, 0.7, 0.8]),
    ]
    for model, stem, head in epochs:
        rows.append(unit_rows(model, "stem", "conv", 0.0, stem, [model == "r-epoch2"] * 2))
        rows.append(unit_rows(model, "fc", "linear", 1.0, head, [False, False, model == "r-epoch0"]))
    return pd.concat(rows, ignore_index=True)


EPOCHS = {"r-epoch0": 0, "r-epoch1": 1, "r-epoch2": 2}


def test_epoch_table(units: pd.DataFrame) -> None:
    accuracy = pd.DataFrame({"epoch": [1, 2], "top1": [40.0, 55.0]})  # no accuracy for the initialisation
    table = epoch_table(units, EPOCHS, accuracy)
    assert table["epoch"].tolist() == [0, 1, 2] and table["model"].tolist() == list(EPOCHS)
    np.testing.assert_allclose(table["mean_mis"], [(0.5 + 0.7 + 0.6 + 0.6) / 4, (0.8 + 0.9 + 0.7 + 0.8 + 0.9) / 5, 0.7])
    assert table["n_units"].tolist() == [4, 5, 3] and table["n_constant"].tolist() == [1, 0, 2]
    assert table["p05_mis"][2] == pytest.approx(0.61) and table["p95_mis"][2] == pytest.approx(0.79)
    assert np.isnan(table["top1"][0]) and table["top1"][1:].tolist() == [40.0, 55.0]
    with pytest.raises(ValueError, match="without an epoch"):
        epoch_table(units, {"r-epoch0": 0}, accuracy)


def test_accuracy_correlation_leaves_out_the_first_epoch() -> None:
    table = pd.DataFrame(
        {"epoch": [0, 1, 2, 3, 4], "mean_mis": [0.5, 0.8, 0.7, 0.75, 0.6], "top1": [0.1, 30, 50, 60, 70]}
    )
    rho, n = accuracy_correlation(table)  # ranks of epochs 1-4: MIS 4, 2, 3, 1 vs accuracy 1, 2, 3, 4
    assert n == 4 and rho == pytest.approx(1 - 6 * (9 + 0 + 0 + 9) / (4 * 15))
    assert np.isnan(accuracy_correlation(table.iloc[:3])[0])  # two epochs after the first: undefined


def test_layer_changes(units: pd.DataFrame) -> None:
    table = layer_changes(units, EPOCHS)
    assert table[["epoch", "layer"]].values.tolist() == [[e, layer] for e in (0, 1, 2) for layer in ("stem", "fc")]
    stem, fc = table[table["layer"] == "stem"], table[table["layer"] == "fc"]
    np.testing.assert_allclose(stem["mean_mis"], [0.6, 0.85, np.nan])
    np.testing.assert_allclose(stem["delta_previous"], [np.nan, 0.25, np.nan])
    np.testing.assert_allclose(fc["mean_mis"], [0.6, 0.8, 0.7])
    np.testing.assert_allclose(fc["delta_previous"], [np.nan, 0.2, -0.1])
    np.testing.assert_allclose(fc["delta_initial"], [0.0, 0.2, 0.1])
    assert stem["n_units"].tolist() == [2, 2, 0] and fc["n_units"].tolist() == [2, 3, 3]
    assert set(table["layer_type"]) == {"conv", "linear"}
    with pytest.raises(ValueError, match="same layers"):
        layer_changes(units[~((units["model"] == "r-epoch1") & (units["layer"] == "fc"))], EPOCHS)


def test_accuracy_table_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "accuracy.csv"
    path.write_text("epoch,top1\n0,0.1\n1,76.1\n")
    assert read_accuracy_table(path)["top1"].tolist() == [0.1, 76.1]
    path.write_text("epoch,acc\n0,0.1\n")
    with pytest.raises(ValueError, match="lacks columns"):
        read_accuracy_table(path)
    path.write_text("epoch,top1\n0,0.1\n1,176.1\n")
    with pytest.raises(ValueError, match="percentage"):
        read_accuracy_table(path)


def test_first_epoch_depth_correlation() -> None:
    layers = pd.DataFrame(
        {
            "epoch": [0, 0, 0, 1, 1, 1, 2],
            "relative_depth": [0, 0.5, 1] * 2 + [0],
            "delta_previous": [np.nan] * 3 + [0.1, 0.2, 0.3] + [5.0],
        }
    )
    first, second, r, n = first_epoch_depth_correlation(layers)
    assert (first, second, n) == (0, 1, 3) and r == pytest.approx(1.0)


def test_figures_are_drawn_from_the_analysis_tables(units: pd.DataFrame, tmp_path: Path) -> None:
    paths = {name: tmp_path / f"{name}.csv" for name in ("accuracy", "epochs", "correlation", "layers", "depth")}
    write_table(pd.DataFrame({"epoch": [0, 1, 2], "top1": [6.0, 40.0, 55.0]}), paths["accuracy"])
    unit_paths = []
    for model, rows in units.groupby("model"):
        unit_paths.append(tmp_path / f"{model}.parquet")
        write_table(rows, unit_paths[-1])
    analyze_training(
        unit_paths, EPOCHS, paths["accuracy"], paths["epochs"], paths["correlation"], paths["layers"], paths["depth"]
    )
    correlation = read_table(paths["correlation"]).iloc[0]  # two epochs after the first: ρ undefined
    assert np.isnan(correlation["spearman"]) and correlation["n_epochs"] == 2
    drawn = {
        "fig7": {"table": paths["epochs"], "correlation": paths["correlation"]},
        "fig8": {"table": paths["layers"], "depth": paths["depth"]},
        "fig8_all_epochs": {"table": paths["layers"]},
    }
    for name, tables in drawn.items():
        draw(name, tables, tmp_path / f"{name}.pdf", model_label="tiny ResNet", similarity_label="stand-in")
    for name in ("fig7.pdf", "fig8.pdf", "fig8_all_epochs.pdf"):
        assert (tmp_path / name).read_bytes().startswith(b"%PDF") and (tmp_path / name).stat().st_size > 1000, name
