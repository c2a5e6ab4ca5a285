"""The SAE appendix end to end on the reduced config: a tiny sweep (two kinds, two sparsity weights,
two epochs on 4,096 vectors) and the user's own dictionary file (the identity, i.e. the layer's
channels again) on one MobileNetV2 layer, scored as the model mobilenetv2_100-sae."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_workflow import reduced_config, run

from mis.sae.dictionary import identity_dictionary, save_dictionary
from mis.storage import read_arrays

pytestmark = pytest.mark.workflow
LAYER = "blocks.3.3.bn3"  # 64 channels at 14 × 14
TRAINED = ["relu-l1_0.1-x2", "relu-l1_1-x2", "gated-l1_0.1-x2", "gated-l1_1-x2"]
TABLE_COLUMNS = [
    "dictionary", "source", "kind", "sparsity", "expansion", "n_latents", "l0", "dead", "dead_fraction", "fvu",
    "top1_agreement", "kl", "n_vectors", "n_images", "mean_mis", "median_mis", "p05_mis", "p95_mis", "n_units",
    "n_constant", "n_tied", "layer_mean_mis", "layer_n_units",
]  # fmt: skip


@pytest.fixture(scope="module")
def sae_run(tmp_path_factory) -> Path:
    workdir = tmp_path_factory.mktemp("sae")
    config_path = reduced_config(workdir)
    config = yaml.safe_load(config_path.read_text())
    config["models"] = {"mobilenetv2_100": config["models"]["mobilenetv2_100"]}
    save_dictionary(identity_dictionary(64), workdir / "identity.npz")
    config["sae"] = {
        "model": "mobilenetv2_100",
        "layer": LAYER,
        "train": {
            "n_vectors": 4096,
            "kinds": ["relu", "gated"],
            "sparsity": [0.1, 1.0],
            "expansion": [2],
            "n_epochs": 2,
            "batch_size": 128,
        },
        "dictionaries": {"identity": str(workdir / "identity.npz")},
    }
    config_path.write_text(yaml.safe_dump(config))
    result = run(workdir, config_path, "figures/sae.pdf")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_sae_table_and_figure(sae_run: Path) -> None:
    figure = sae_run / "figures" / "sae.pdf"
    assert figure.read_bytes().startswith(b"%PDF") and figure.stat().st_size > 5000
    table = pd.read_csv(sae_run / "results" / "analysis" / "sae.csv")
    assert list(table.columns) == TABLE_COLUMNS
    assert table["dictionary"].tolist() == [
        "gated-l1_0.1-x2",
        "gated-l1_1-x2",
        "relu-l1_0.1-x2",
        "relu-l1_1-x2",
        "identity",
    ]
    trained = table[table["source"] == "trained"].set_index("dictionary")
    assert (trained["n_latents"] == 128).all() and (trained["expansion"] == 2).all()
    for kind in ("relu", "gated"):  # a larger sparsity weight gives sparser codes
        assert trained.loc[f"{kind}-l1_1-x2", "l0"] < trained.loc[f"{kind}-l1_0.1-x2", "l0"], kind
    assert trained["fvu"].between(0, 1.5).all() and trained["top1_agreement"].between(0, 1).all()
    assert (trained["kl"] >= 0).all() and trained["dead"].between(0, 128).all()
    assert (table["n_images"] == 15).all()  # every 4th of the 60 photos
    identity = table.set_index("dictionary").loc["identity"]
    assert (identity["source"], identity["kind"], identity["n_latents"]) == ("file", "linear", 64)
    assert identity["fvu"] == pytest.approx(0, abs=1e-6) and identity["top1_agreement"] == 1
    assert identity["kl"] == pytest.approx(0, abs=1e-6) and np.isnan(identity["sparsity"])
    units = pd.read_parquet(sae_run / "results" / "mis" / "mobilenetv2_100-sae" / "units.parquet")
    assert set(units["layer"]) == {LAYER} | {f"{LAYER}/{name}" for name in [*TRAINED, "identity"]}
    assert units["model"].unique().tolist() == ["mobilenetv2_100-sae"]
    channels = units[(units["layer"] == LAYER) & ~units["constant"]]
    assert table["layer_mean_mis"].tolist() == pytest.approx([channels["mis"].mean()] * len(table))
    assert (table["layer_n_units"] == len(channels)).all()
    for name, row in table.set_index("dictionary").iterrows():
        latents = units[(units["layer"] == f"{LAYER}/{name}") & ~units["constant"]]
        assert row["mean_mis"] == pytest.approx(latents["mis"].mean()) and row["n_units"] == len(latents), name
    unit_mis = pd.read_csv(sae_run / "results" / "analysis" / "sae_mis.csv")
    assert set(unit_mis["kind"]) == {"channels", "relu", "gated", "linear"}
    assert (unit_mis["kind"] == "channels").sum() == len(channels) and len(unit_mis) == (~units["constant"]).sum()


def test_identity_latents_have_the_channels_extremes(sae_run: Path) -> None:
    """The user's file is read from the layer in the same pass: the identity's latents are the
    channels, so their most and least activating images are the channels' own."""
    layers = pd.read_csv(sae_run / "results" / "activations" / "mobilenetv2_100-sae" / "layers.csv").set_index("layer")
    assert layers.loc[LAYER, "relative_depth"] == 0 and layers.loc[f"{LAYER}/identity", "channels"] == 64
    extremes = read_arrays(sae_run / "results" / "activations" / "mobilenetv2_100-sae" / "extremes.npz")
    channel, identity = (
        slice(o, o + 64) for o in (layers.loc[LAYER, "unit_offset"], layers.loc[f"{LAYER}/identity", "unit_offset"])
    )
    for key in ("top_idx", "top_val", "bottom_idx", "bottom_val"):
        np.testing.assert_array_equal(extremes[key][identity], extremes[key][channel], err_msg=key)
    logs = sorted(p.name for p in (sae_run / "logs" / "train_sae").iterdir())
    assert logs == sorted(f"mobilenetv2_100-{name}.log" for name in TRAINED)  # a log per run
    assert "epoch 2" in (sae_run / "logs" / "train_sae" / "mobilenetv2_100-relu-l1_0.1-x2.log").read_text()


def test_same_config_gives_identical_saes_and_scores(sae_run: Path) -> None:
    results = sae_run / "results"
    before = {name: read_arrays(results / "sae" / "mobilenetv2_100" / f"{name}.npz") for name in TRAINED}
    table = pd.read_csv(results / "analysis" / "sae.csv")
    result = run(sae_run, sae_run / "config.yaml", "figures/sae.pdf", "--forcerun", "sample_sae_vectors")
    assert result.returncode == 0, result.stderr[-3000:]
    for name, arrays in before.items():
        again = read_arrays(results / "sae" / "mobilenetv2_100" / f"{name}.npz")
        for key, array in arrays.items():
            np.testing.assert_array_equal(again[key], array, err_msg=f"{name}:{key}")
    pd.testing.assert_frame_equal(pd.read_csv(results / "analysis" / "sae.csv"), table)
