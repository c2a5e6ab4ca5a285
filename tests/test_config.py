"""Config validation: the shipped configs are valid; a broken one fails naming the key."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from mis.config import ConfigError, config_reference, load_config, validate_config
from mis.settings import BrowserSettings, ExtractionSettings, ScoringSettings, Settings, TaskSettings, ThreadSettings
from mis.zoo import timm_sweep

from conftest import REPO, SCHEMA


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
        (lambda c: c["tasks"].pop("n_refs"), "tasks.n_refs"),
        (lambda c: c["mis"].update(alpha="big"), "mis.alpha"),
        (lambda c: c["extraction"].update(layer_types=["attention"]), "extraction.layer_types.0"),
        (
            lambda c: c["models"]["mobilenetv2_100"]["weights"].update(source="timm"),
            "models.mobilenetv2_100.weights.source",
        ),
        (
            lambda c: c["models"]["mobilenetv2_100"]["weights"].pop("resource"),
            "models.mobilenetv2_100.weights.resource",
        ),
        (lambda c: c.update(tasx={}), "tasx"),
        (lambda c: c.update(device="gpu"), "device"),
    ],
)
def test_invalid_config_names_the_key(edit, key: str) -> None:
    config = copy.deepcopy(default_config())
    edit(config)
    with pytest.raises(ConfigError, match=f"config key '{key}'"):
        validate_config(config, SCHEMA)


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_names_would_write_outside_their_folders_and_are_refused(name: str) -> None:
    for edit, key in (
        (lambda c: c["models"].update({name: c["models"]["mobilenetv2_100"]}), "models"),
        (lambda c: c["similarity"].update(name=name), "similarity.name"),
        (lambda c: c["training"].update(name=name), "training.name"),
    ):
        config = copy.deepcopy(default_config())
        edit(config)
        with pytest.raises(ConfigError, match=rf"config key '{key}'.*'{re.escape(name)}'"):
            validate_config(config, SCHEMA)
    config = copy.deepcopy(default_config())
    config["models"]["a.b..c"] = config["models"]["mobilenetv2_100"]  # dots inside a name are fine
    validate_config(config, SCHEMA)


def test_a_renamed_key_names_its_new_name() -> None:
    config = default_config()
    config["tasks"]["n_references"] = config["tasks"].pop("n_refs")
    with pytest.raises(ConfigError, match="'tasks.n_references' is now called 'tasks.n_refs'"):
        validate_config(config, SCHEMA)


def test_missing_config_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml", SCHEMA)


def test_paper_config_is_the_papers_setting() -> None:
    config = load_config(REPO / "config" / "paper.yaml", SCHEMA)
    assert config["tasks"] == {"n_tasks": 20, "n_refs": 9}
    assert config["similarity"]["backend"] == "dreamsim" and config["similarity"]["variant"] == "ensemble"
    assert sorted(config["models"]) == sorted(config["highlight_models"])  # the 9 IMI models
    assert len(config["models"]) == 9
    training = config["training"]  # Fig. 7, 8: a ResNet-50's per-epoch checkpoints, supplied
    assert (training["library"], training["architecture"]) == ("torchvision", "resnet50")
    assert "train" not in training and "{epoch" in training["checkpoints"]["pattern"]
    assert training["epochs"][:2] == [0, 1]


def test_sweep_lists_one_imagenet_model_per_timm_architecture() -> None:
    sweep = timm_sweep("resnet*")
    architectures = [name.split(".")[0] for name in sweep]
    assert len(architectures) == len(set(architectures)) > 20
    assert "resnet50.a1_in1k" in sweep and all("in1k" in name for name in sweep)
    assert sweep["resnet50.a1_in1k"] == {
        "library": "timm",
        "architecture": "resnet50.a1_in1k",
        "weights": {"source": "hub"},
    }


def test_config_readme_is_generated_from_the_schema() -> None:
    """config/README.md cannot drift from the schema: regenerate it with `make config-docs`."""
    assert (REPO / "config" / "README.md").read_text() == config_reference(SCHEMA), "run `make config-docs`"


def test_config_reference_names_a_key_without_description(tmp_path) -> None:
    schema = yaml.safe_load(SCHEMA.read_text())
    del schema["properties"]["tasks"]["properties"]["n_tasks"]["description"]
    path = tmp_path / "schema.yaml"
    path.write_text(yaml.safe_dump(schema))
    with pytest.raises(ConfigError, match="config key 'tasks.n_tasks' has no description"):
        config_reference(path)


def test_settings_of_the_default_config() -> None:
    settings = Settings.from_config(load_config(REPO / "config" / "config.yaml", SCHEMA))
    assert settings.tasks == TaskSettings(n_tasks=10, n_refs=5, seed=0) and settings.tasks.images_per_side == 60
    assert (settings.extraction.k, settings.extraction.n_near, settings.extraction.batch_size) == (60, 10, 64)
    assert settings.scoring.alpha == 16.0 and not settings.scoring.pairwise
    assert settings.browser == BrowserSettings()


def test_settings_defaults_are_the_schemas() -> None:
    """A key left out of the config gets the schema's default, and the settings objects' own
    defaults (used by mis.api and the CLI) must be the same values."""
    config = default_config()
    for key in ("extraction", "browser", "threads"):
        config.pop(key, None)
    config["mis"].pop("constant_threshold")
    settings = Settings.from_config(validate_config(config, SCHEMA))
    defaults = ExtractionSettings(
        k=settings.extraction.k, levels=settings.extraction.levels, n_near=settings.extraction.n_near
    )
    assert settings.extraction == defaults
    assert settings.browser == BrowserSettings()
    assert settings.threads == ThreadSettings()
    assert settings.scoring.constant_threshold == ScoringSettings({}, 1.0).constant_threshold


def test_a_block_given_on_the_command_line_gets_the_schemas_types() -> None:
    """Snakemake passes the values of `--config 'mis={alpha: 8, constant_threshold: 1e-6}'` as
    strings; where the schema wants a number, integer or boolean they are read as such."""
    config = default_config()
    config["mis"] = {"alpha": "8", "constant_threshold": "1e-6"}
    config["extraction"]["query_quantiles"] = ["0.9", "0.75"]
    config["threads"] = {"inference": "2"}
    config["models"]["resnet18-untrained"]["weights"]["seed"] = "3"
    config["similarity"]["label"] = "16"  # a string where the schema wants one stays a string
    validate_config(config, SCHEMA)
    assert config["mis"] == {"alpha": 8, "constant_threshold": 1e-6}
    assert config["extraction"]["query_quantiles"] == [0.9, 0.75] and config["threads"]["inference"] == 2
    assert config["models"]["resnet18-untrained"]["weights"]["seed"] == 3 and config["similarity"]["label"] == "16"
    config["tasks"]["n_tasks"] = "2.5"  # not an integer: refused, naming the key
    with pytest.raises(ConfigError, match="config key 'tasks.n_tasks': '2.5' is not of type 'integer'"):
        validate_config(config, SCHEMA)


def test_settings_as_params_round_trip() -> None:
    """What a rule passes (Params: recorded fields, and how the job runs) gives the settings back."""
    settings = Settings.from_config(load_config(REPO / "config" / "config.yaml", SCHEMA))
    for value in (
        settings.tasks,
        settings.extraction,
        settings.scoring,
        settings.browser,
        settings.images,
        settings.training,
        *settings.sae.trained,
    ):
        assert type(value).from_params(value.params(), value.run_params()) == value
    recorded = {"k", "levels", "n_near", "quantile_sample", "decoder", "layer_types", "include", "exclude"}
    assert set(settings.extraction.params()) == recorded
    assert set(settings.extraction.run_params()) == {"batch_size", "num_workers", "checkpoint_every"}
    assert "label" not in settings.scoring.params()["similarity"]
    label = settings.scoring.similarity.label
    assert settings.scoring.run_params() == {"similarity": {"label": label, "batch_size": 64, "num_workers": 0}}
