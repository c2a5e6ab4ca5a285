"""The IMI stage through Snakemake, end to end on the demo release (``mis.imi.demo``) placed in the
data folder by hand, offline: Fig. 2, the similarity comparison, the overestimated units and the
join of IMI units with the project's own unit table of the same model; then the overestimated units
again from the release's own stimuli."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from test_workflow import reduced_config, run

from mis.imi.demo import write_demo_release

from conftest import DEMO_IMAGES, TINY_SIMILARITY

pytestmark = pytest.mark.workflow
TARGETS = ["figures/fig2.pdf", "figures/similarity_comparison.pdf", "figures/imi_overestimated_units.pdf"]


def test_imi_figures_from_the_demo_release(tmp_path, monkeypatch) -> None:
    paths = write_demo_release(tmp_path / "imi", sorted(DEMO_IMAGES.glob("*.jpg")))
    config_path = reduced_config(tmp_path)
    config = yaml.safe_load(config_path.read_text())
    config["models"] = {"mobilenetv2_100": config["models"]["mobilenetv2_100"]}
    config["imi"] = {
        "data_dir": str(paths["release"]),
        "allow_unverified": True,
        "imagenet_train": str(paths["train"]),
        "similarities": [TINY_SIMILARITY],
        "n_bootstrap": 50,
        "n_simulations": 100,
        "n_overestimated": 2,
    }
    config_path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # offline even where Zenodo is reachable
    join = "results/imi/lite0-standin/unit_join.csv"
    result = run(tmp_path, config_path, *TARGETS, join)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in TARGETS:
        assert (tmp_path / name).read_bytes().startswith(b"%PDF"), name
    report = json.loads((tmp_path / "results" / "imi" / "files.json").read_text())
    assert not report["record_read"] and len(report["unverified"]) == 2
    comparison = pd.read_csv(tmp_path / "results" / "analysis" / "similarity_comparison.csv")
    assert set(comparison["similarity"]) == {"lite0-standin", "tiny-vit", "noise ceiling"}
    joined = pd.read_csv(tmp_path / join)
    mobilenet = joined[joined["model"] == "mobilenetv2_100"].set_index("layer")
    assert mobilenet.loc["blocks_1_0_conv_pw", "module"] == "blocks.1.0.conv_pw"
    assert mobilenet["matched"].all()  # every mobilenet IMI unit found in the project's unit table
    own = pd.read_parquet(tmp_path / "results" / "mis" / "mobilenetv2_100" / "units.parquet")
    expected = own[(own["layer"] == "conv_head") & (own["unit"] == 7)]["mis"].item()
    assert mobilenet.loc["conv_head", "project_mis"] == pytest.approx(expected)
    summary = json.loads((tmp_path / "results" / "imi" / "lite0-standin" / "unit_join.json").read_text())
    assert summary["models_not_configured"] == ["resnet18-untrained"]

    # The release's own stimuli, without `imi.stimuli_dir` (the documented default): the figure's
    # images are found where compute_imi_mis read them, through the download's report.
    config["imi"] = {**config["imi"], "trials_from": "stimuli"}
    del config["imi"]["imagenet_train"]
    config_path.write_text(yaml.safe_dump(config))
    result = run(tmp_path, config_path, "figures/imi_overestimated_units.pdf")
    assert result.returncode == 0, result.stderr[-3000:]
    shown = pd.read_csv(tmp_path / "results" / "analysis" / "imi_overestimated_units.csv")
    assert shown["max_query"].str.startswith(str(paths["stimuli"])).all()
