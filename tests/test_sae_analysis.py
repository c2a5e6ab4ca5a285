"""The SAE appendix's settings and tables, on hand-made unit and metrics tables (no torch, no run)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from mis.analysis.sae import dictionary_of, sae_table, sae_unit_mis
from mis.config import ConfigError, validate_config
from mis.figures.sae import plot
from mis.settings import ExtractionSettings, SaeSettings, SaeStudySettings, Settings

from conftest import REPO, SCHEMA

LAYER = "blocks.1.bn"


def units_table() -> pd.DataFrame:
    """Two channels (one constant), a ReLU SAE with three latents (one dead: constant) and a user's
    file with two latents."""
    layers = [LAYER] * 2 + [f"{LAYER}/relu-l1_0.1-x4"] * 3 + [f"{LAYER}/mine"] * 2
    return pd.DataFrame(
        {
            "model": "m-sae",
            "layer": layers,
            "unit": [0, 1, 0, 1, 2, 0, 1],
            "mis": [0.8, 0.5, 0.9, 0.7, 0.5, 0.6, 0.65],
            "hard_accuracy": 0.5,
            "constant": [False, True, False, False, True, False, False],
            "non_finite": False,
            "top_ties": 0,
            "bottom_ties": 0,
        }
    )


def metrics_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dictionary": ["mine", "relu-l1_0.1-x4"],
            "kind": ["linear", "relu"],
            "n_latents": [2, 3],
            "l0": [2.0, 1.5],
            "dead": [0, 1],
            "fvu": [np.nan, 0.2],
        }
    )


def test_sae_table_puts_latents_beside_the_layers_channels() -> None:
    trained = {"relu-l1_0.1-x4": SaeSettings("relu", 0.1, 4)}
    table = sae_table(units_table(), metrics_table(), trained, LAYER)
    assert table["dictionary"].tolist() == ["relu-l1_0.1-x4", "mine"]  # trained first, then files
    assert table["source"].tolist() == ["trained", "file"] and table["kind"].tolist() == ["relu", "linear"]
    assert table["sparsity"].iloc[0] == 0.1 and table["expansion"].iloc[0] == 4 and np.isnan(table["sparsity"].iloc[1])
    relu, mine = table.iloc[0], table.iloc[1]
    assert relu["mean_mis"] == pytest.approx(0.8) and (relu["n_units"], relu["n_constant"]) == (2, 1)
    assert mine["mean_mis"] == pytest.approx(0.625) and mine["n_units"] == 2
    assert (table["layer_mean_mis"] == 0.8).all() and (
        table["layer_n_units"] == 1
    ).all()  # the constant channel left out
    assert relu["l0"] == 1.5 and relu["dead"] == 1


def test_sae_table_orders_by_kind_size_and_sparsity() -> None:
    names = {"relu-l1_1-x4": SaeSettings("relu", 1.0, 4), "gated-l1_0.1-x4": SaeSettings("gated", 0.1, 4)}
    names["relu-l1_0.1-x8"] = SaeSettings("relu", 0.1, 8)
    names["relu-l1_0.1-x4"] = SaeSettings("relu", 0.1, 4)
    units = pd.concat([units_table()[:2]] + [units_table()[2:3].assign(layer=f"{LAYER}/{name}") for name in names])
    metrics = pd.DataFrame({"dictionary": list(names), "kind": [s.kind for s in names.values()], "l0": 1.0})
    table = sae_table(units, metrics, names, LAYER)
    assert table["dictionary"].tolist() == ["gated-l1_0.1-x4", "relu-l1_0.1-x4", "relu-l1_1-x4", "relu-l1_0.1-x8"]


def test_sae_unit_mis_lists_live_channels_and_latents() -> None:
    unit_mis = sae_unit_mis(units_table(), metrics_table(), LAYER)
    assert unit_mis["kind"].tolist() == ["channels", "relu", "relu", "linear", "linear"]
    assert unit_mis["mis"].tolist() == [0.8, 0.9, 0.7, 0.6, 0.65]
    assert unit_mis["dictionary"].isna().tolist() == [True, False, False, False, False]


def test_units_of_another_layer_or_a_dictionary_without_units_are_errors() -> None:
    units = units_table()
    with pytest.raises(ValueError, match="other than 'blocks.1.bn'"):
        dictionary_of(units.assign(layer="blocks.2.bn"), LAYER)
    assert dictionary_of(units, LAYER).dropna().unique().tolist() == ["relu-l1_0.1-x4", "mine"]
    metrics = pd.concat([metrics_table(), pd.DataFrame({"dictionary": ["lost"], "kind": ["relu"]})])
    with pytest.raises(ValueError, match="without units.*lost"):
        sae_table(units, metrics, {}, LAYER)


def test_plot_draws_the_tables(tmp_path) -> None:
    trained = {"relu-l1_0.1-x4": SaeSettings("relu", 0.1, 4)}
    metrics = metrics_table().assign(top1_agreement=[np.nan, 0.9])
    table = sae_table(units_table(), metrics, trained, LAYER)
    plot(table, sae_unit_mis(units_table(), metrics, LAYER), tmp_path / "sae.pdf", "M", LAYER, "S")
    assert (tmp_path / "sae.pdf").read_bytes().startswith(b"%PDF")


def default_config() -> dict:
    return yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_sae_settings_of_the_default_config() -> None:
    sae = Settings.from_config(validate_config(default_config(), SCHEMA)).sae
    assert (sae.model, sae.layer, sae.scored_model, sae.n_vectors, sae.evaluate_every) == (
        "mobilenetv2_100", "blocks.3.3.bn3", "mobilenetv2_100-sae", 65536, 4,
    )  # fmt: skip
    assert sae.names == [f"{kind}-l1_{s}-x4" for kind in ("relu", "gated") for s in ("0.1", "0.3", "1")]
    assert sae.sae("gated-l1_0.3-x4") == SaeSettings("gated", 0.3, 4, n_epochs=10, batch_size=1024, learning_rate=1e-3)
    extraction = sae.extraction(ExtractionSettings(k=60, include=("conv",), exclude=("blocks",), layer_types=("conv",)))
    assert extraction.include == (r"^blocks\.3\.3\.bn3$",) and extraction.exclude == ()
    assert "batchnorm" in extraction.layer_types and extraction.k == 60


def test_sae_block_defaults_files_and_errors() -> None:
    config = default_config()
    del config["sae"]
    assert Settings.from_config(validate_config(copy.deepcopy(config), SCHEMA)).sae is None
    config["sae"] = {"model": "mobilenetv2_100", "layer": "blocks.1.0.bn1", "train": {}}
    train = validate_config(copy.deepcopy(config), SCHEMA)["sae"]["train"]
    assert (train["kinds"], train["sparsity"], train["expansion"], train["n_epochs"]) == (
        ["relu", "gated"],
        [0.1, 0.3, 1.0],
        [4],
        10,
    )
    assert SaeSettings().n_epochs == train["n_epochs"] and SaeSettings().learning_rate == train["learning_rate"]
    files = {"model": "mobilenetv2_100", "layer": "x", "dictionaries": {"b": "b.npz", "a": "a.pt"}}
    sae = SaeStudySettings.from_config(validate_config({**copy.deepcopy(config), "sae": files}, SCHEMA))
    assert sae.trained == () and sae.files == (("a", "a.pt"), ("b", "b.npz")) and sae.names == ["a", "b"]
    with pytest.raises(ConfigError, match="config key 'sae'"):  # neither train nor dictionaries
        validate_config({**copy.deepcopy(config), "sae": {"model": "m", "layer": "x"}}, SCHEMA)
    with pytest.raises(ConfigError, match="config key 'sae.dictionaries'"):
        validate_config({**copy.deepcopy(config), "sae": {**files, "dictionaries": {"..": "a.npz"}}}, SCHEMA)
    clash = {**files, "train": {"kinds": ["relu"], "sparsity": [0.1]}, "dictionaries": {"relu-l1_0.1-x4": "a.npz"}}
    with pytest.raises(ValueError, match="config key 'sae.dictionaries'"):
        SaeStudySettings.from_config(validate_config({**copy.deepcopy(config), "sae": clash}, SCHEMA))
