"""Config validation: the shipped configs are valid; a broken one fails naming the key."""

from __future__ import annotations

import copy

import pytest
import yaml

from conftest import REPO, SCHEMA
from mis.config import ConfigError, load_config, validate_config


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_default_config_is_valid_and_gets_defaults() -> None:
    config = load_config(REPO / "config" / "config.yaml", SCHEMA)
    assert config["extraction"]["include"] == []
    assert config["models"]["mobilenetv2_100"]["weights"]["key_mapping"] == "positional"
    assert config["models"]["resnet18-untrained"]["weights"]["key_mapping"] == "exact"


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda c: c["tasks"].update(n_tasks=0), "tasks.n_tasks"),
        (lambda c: c["tasks"].pop("n_references"), "tasks.n_references"),
        (lambda c: c["mis"].update(alpha="big"), "mis.alpha"),
        (lambda c: c["extraction"].update(layer_types=["attention"]), "extraction.layer_types.0"),
        (lambda c: c["models"]["mobilenetv2_100"]["weights"].update(source="timm"), "models.mobilenetv2_100.weights.source"),
        (lambda c: c["models"]["mobilenetv2_100"]["weights"].pop("resource"), "models.mobilenetv2_100.weights.resource"),
        (lambda c: c.update(tasx={}), "tasx"),
        (lambda c: c.update(device="gpu"), "device"),
    ],
)
def test_invalid_config_names_the_key(edit, key: str) -> None:
    config = copy.deepcopy(default_config())
    edit(config)
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        validate_config(config, SCHEMA)


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", SCHEMA)
