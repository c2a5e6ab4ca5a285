"""Scoring one layer without Snakemake (mis.api, python -m mis score) on 30 demo photos with a
random-init tiny timm ResNet, N = 2, K = 2."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mis.__main__ import main
from mis.api import score_layer
from mis.models import build_model
from mis.results import UNIT_COLUMNS
from mis.tasks import TooFewImages

from conftest import API_ARCHITECTURE, API_CHANNELS, API_LAYER, API_SPEC

ARCHITECTURE, LAYER, CHANNELS, SPEC = API_ARCHITECTURE, API_LAYER, API_CHANNELS, API_SPEC


def test_one_row_per_channel_with_scores_in_range(channel_units: pd.DataFrame) -> None:
    assert list(channel_units.columns) == UNIT_COLUMNS and len(channel_units) == CHANNELS
    assert list(channel_units["unit"]) == list(range(CHANNELS)) and (channel_units["layer"] == LAYER).all()
    assert channel_units["mis"].between(0, 1).all() and channel_units["mis"].nunique() > 1
    assert set(channel_units["hard_accuracy"]) <= {0.0, 0.5, 1.0}
    assert channel_units["relative_depth"].iloc[0] == pytest.approx(10 / 30)  # 11th of the model's 31 scorable layers
    assert channel_units["relative_width"].iloc[0] == pytest.approx(48 / 1000)  # the widest is the classifier


def test_other_seed_other_tasks_and_training_mode_kept(photos: Path, channel_units: pd.DataFrame) -> None:
    model = build_model(SPEC).train()
    other = score_layer(model, LAYER, photos, n_tasks=2, n_refs=2, seed=1, name=ARCHITECTURE)
    assert not other["mis"].equals(channel_units["mis"])
    assert model.training


def test_unknown_layer_names_near_ones(photos: Path) -> None:
    with pytest.raises(ValueError, match=r"no Conv.*'layer2.0.conv9'.*layer2.0.conv1"):
        score_layer(build_model(SPEC), "layer2.0.conv9", photos)


def test_command_line_gives_the_same_table_for_the_same_seed(
    photos: Path, channel_units: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "units.csv"
    argv = [
        "score",
        "--model",
        ARCHITECTURE,
        "--weights",
        "random",
        "--layer",
        LAYER,
        "--images",
        str(photos),
        "--n-tasks",
        "2",
        "--n-refs",
        "2",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out), channel_units, check_dtype=False)


def test_command_line_error_is_a_message(photos: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "units.csv"
    assert main(["score", "--model", ARCHITECTURE, "--layer", "nope", "--images", str(photos), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(
        "error: no Conv, Linear, BatchNorm, LayerNorm or GroupNorm module named 'nope'"
    )
    assert not out.exists()


def test_too_few_images_named_before_the_pass(photos: Path, tmp_path: Path, capsys) -> None:
    n_photos = len(list(photos.iterdir()))
    n_tasks = n_photos // 2 + 1  # K = 1: 2·N·2 images needed, more than there are
    with pytest.raises(TooFewImages, match=rf"{n_photos} images.*lower n_tasks or n_refs"):
        score_layer(build_model(SPEC), LAYER, photos, n_tasks=n_tasks, n_refs=1)
    out = tmp_path / "units.csv"
    argv = ["score", "--model", ARCHITECTURE, "--layer", LAYER, "--images", str(photos), "--out", str(out)]
    assert main([*argv, "--n-tasks", str(n_tasks), "--n-refs", "1"]) == 2
    assert "lower --n-tasks or --n-refs" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SystemExit):
        main([*argv, "--n-refs", "0"])
    assert "--n-refs: must be at least 1" in capsys.readouterr().err
