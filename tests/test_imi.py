"""IMI validation on a release in the real layout (``mis.imi.demo``: the 45-column response table,
the file map with its real nesting, an "ImageNet-train" tree of demo photos and the same files as
stimulus images). Checks HIS by hand, the parser's errors, the trials rebuilt from the file map
(exact files), identical margins from the file map and the stimuli, the layer-name mapping, the α
fit, correlations, the appendix analyses and the figures. Download: tests/test_imi_download.py."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from scipy.special import expit
from scipy.stats import binomtest

from mis.config import ConfigError, validate_config
from mis.figures import draw
from mis.imi import CEILING, split_condition
from mis.imi.alpha import best_alpha, validate
from mis.imi.appendix import similarity_comparison
from mis.imi.demo import response_table, write_demo_release
from mis.imi.file_map import FileMapError
from mis.imi.layers import LayerNameError, map_layer_names, module_names
from mis.imi.release import FILE_MAP
from mis.imi.responses import (
    ResponseFormatError,
    human_scores,
    main_trials,
    read_responses,
    wilson_interval,
)
from mis.imi.scores import load_units, stimulus_margins, trials_table
from mis.imi.selection import extreme_units
from mis.imi.stimuli import DEFAULT_PATTERN
from mis.settings import ScoringSettings, SimilaritySettings, ValidationSettings
from mis.stages.imi import compute_imi_mis, find_overestimated_units, fit_alpha, score_human_responses
from mis.storage import read_table, write_table

from conftest import DEMO_IMAGES, REPO, SCHEMA, TINY_SIMILARITY

CPU = torch.device("cpu")
NATURAL = ["natural", "natural_hard85"]
TINY = SimilaritySettings.from_config({**TINY_SIMILARITY, "batch_size": 16, "num_workers": 0})
PHOTOS = sorted(DEMO_IMAGES.glob("*.jpg"))


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> dict[str, Path]:
    return write_demo_release(tmp_path_factory.mktemp("imi"), PHOTOS)


# Responses and HIS


def test_his_by_hand_excludes_practice_and_catch_trials(release: dict[str, Path]) -> None:
    table = read_responses(release["responses"])
    assert "participant_id" not in table.columns and table["batch"].dtype == "Int64"
    trials = main_trials(table, release["responses"])
    assert len(trials) == 4 + 6 + 5 + 6 + 5 + 4 + 5 + 4 + 3 + 3 + 3  # the demo's outcomes, natural and optimized
    his = human_scores(trials, 0.95).set_index(["model", "condition", "layer", "channel"])
    unit = his.loc[("mobilenetv2_100", "natural", "blocks_1_0_conv_pw", 3)]  # outcomes 1, 1, 0, 1
    assert unit["his"] == 0.75 and unit["n_correct"] == 3 and unit["n_trials"] == 4 and unit["n_sessions"] == 3
    hard = his.loc[("mobilenetv2_100", "natural_hard85", "blocks_1_0_conv_pw", 3)]  # suffix moved into the condition
    assert hard["his"] == pytest.approx(1 / 3) and hard["n_trials"] == 3
    assert his.loc[("mobilenetv2_100", "optimized", "conv_head", 7), "his"] == pytest.approx(2 / 3)
    assert set(trials["batch"]) == {0, 1} and trials["channel"].dtype == np.int64


def test_empty_release_model_is_reported(release: dict[str, Path], tmp_path: Path, caplog) -> None:
    score_human_responses(
        release["responses"], 0.95, tmp_path / "t.parquet", tmp_path / "his.csv", tmp_path / "models.csv"
    )
    models = pd.read_csv(tmp_path / "models.csv").set_index("model")
    assert models.loc["googlenet_hard85", "empty"] and models.loc["googlenet_hard85", "n_rows"] == 0
    assert (
        models.loc["mobilenetv2_100", "n_main_trials"] == 4 + 6 + 5 + 6 + 3
        and models.loc["mobilenetv2_100", "n_units"] == 5
    )
    assert "model googlenet_hard85 has no main trials" in caplog.text


def test_wilson_interval_matches_scipy() -> None:
    k, n = np.array([0, 3, 17, 29, 30]), np.array([4, 4, 30, 30, 30])
    low, high = wilson_interval(k, n, 0.95)
    for i in range(len(k)):
        expected = binomtest(int(k[i]), int(n[i])).proportion_ci(0.95, method="wilson")
        assert low[i] == pytest.approx(expected.low, abs=1e-9) and high[i] == pytest.approx(expected.high, abs=1e-9)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t.drop(columns=["channel"]), "44 columns, expected 45; missing column\\(s\\) 'channel'"),
        (lambda t: t.rename(columns={"rt": "reaction"}), "column 1 is 'reaction', expected 'rt'"),
        (
            lambda t: t.rename(columns={"demo_trials_details_ratio_extracted": "x"}),
            "column 44 is 'x', expected a '\\*_extracted'",
        ),
        (
            lambda t: t.assign(batch=t["batch"].astype(object).where(t.index != 5, "8.5")),
            "column 'batch', row 5 \\(CSV line 7\\): '8.5' is not a whole",
        ),
        (
            lambda t: t.assign(correct=t["correct"].astype(object).where(t.index != 2, "yes")),
            "column 'correct', row 2 \\(CSV line 4\\): 'yes' is not a boolean",
        ),
        (
            lambda t: t.assign(mode=t["mode"].where(t.index != 1, "synthetic")),
            "column 'mode', row 1 \\(CSV line 3\\): 'synthetic'",
        ),
    ],
)
def test_bad_response_table_fails_naming_file_column_and_row(tmp_path: Path, change, message: str) -> None:
    path = tmp_path / "responses_main.csv"
    change(response_table()).to_csv(path, index=False)
    with pytest.raises(ResponseFormatError, match=f"{path.name}.*{message}"):
        main_trials(read_responses(path), path)


def test_split_condition() -> None:
    assert split_condition("resnet50_hard95") == ("resnet50", "hard95")
    assert split_condition("wide_resnet50") == ("wide_resnet50", "easy")


# Trials from the file map and from the stimuli


def test_trials_rebuilt_from_the_file_map_are_the_exact_files(release: dict[str, Path]) -> None:
    root = release["train"]
    units = load_units("file_map", NATURAL, root, file_map=release["file_map"])
    assert len(units) == 10  # 9 natural units with responses + 1 map-only unit
    first = units[0]
    assert first.key == ("mobilenetv2_100", "natural", "blocks_1_0_conv_pw", 3) and first.batches == (0, 1)
    trial = first.trials[1]  # batch 1: photos 20-29 on the max side, 30-39 on the min side
    assert trial.max_query == f"n00000000/n00000000_{PHOTOS[29].stem}.JPEG"
    assert [Path(p).name for p in trial.min_refs] == [f"n00000000_{p.stem}.JPEG" for p in PHOTOS[30:39]]
    assert (root / trial.max_refs[0]).read_bytes() == PHOTOS[20].read_bytes()
    hard = [u for u in units if u.condition == "natural_hard85"]
    assert [u.key for u in hard] == [("mobilenetv2_100", "natural_hard85", "blocks_1_0_conv_pw", 3)]


def test_a_missing_imagenet_image_is_named(release: dict[str, Path], tmp_path: Path) -> None:
    content = json.loads(release["file_map"].read_text())
    content["resnet18-untrained"]["fc/channel_6"]["batch_1"]["min_4.png"] = "n09999999/missing.JPEG"
    path = tmp_path / "map.json"
    path.write_text(json.dumps(content))
    with pytest.raises(
        FileMapError,
        match="missing.JPEG not found: the file map's entry resnet18-untrained/fc/channel_6/batch_1/min_4.png",
    ):
        load_units("file_map", NATURAL, release["train"], file_map=path)


def test_both_routes_give_identical_margins(release: dict[str, Path]) -> None:
    train, root = release["train"], release["stimuli"]
    mapped = load_units("file_map", NATURAL, train, file_map=release["file_map"])
    stimuli = load_units("stimuli", NATURAL, root, pattern=DEFAULT_PATTERN)
    assert [u.key for u in mapped] == [u.key for u in stimuli] and [u.batches for u in mapped] == [
        u.batches for u in stimuli
    ]
    from_map = stimulus_margins(mapped, train, TINY, CPU)
    from_stimuli = stimulus_margins(stimuli, root, TINY, CPU)
    np.testing.assert_array_equal(np.stack(from_map), np.stack(from_stimuli))
    assert np.stack(from_map).std() > 0


# Layer names


def test_layer_names_map_to_the_models_modules() -> None:
    mobilenet = module_names({"architecture": "mobilenetv2_100", "weights": {"source": "random"}})
    mapping = map_layer_names(["blocks_1_0_conv_pw", "conv_head", "blocks_9_conv"], mobilenet, "mobilenetv2_100")
    assert mapping == {"blocks_1_0_conv_pw": "blocks.1.0.conv_pw", "conv_head": "conv_head", "blocks_9_conv": None}
    resnet = module_names({"library": "torchvision", "architecture": "resnet50", "weights": {"source": "random"}})
    assert map_layer_names(["layer3_4_conv1"], resnet, "resnet50") == {"layer3_4_conv1": "layer3.4.conv1"}
    with pytest.raises(
        LayerNameError, match="model m: IMI layer 'a_b_c' matches several modules \\['a.b_c', 'a_b.c'\\]"
    ):
        map_layer_names(["a_b_c"], ["a", "a.b_c", "a_b", "a_b.c"], "m")


# The release end to end: HIS + MIS → validation → appendix analyses and figures


@pytest.fixture(scope="module")
def validated(release: dict[str, Path], tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("validation")
    score_human_responses(release["responses"], 0.95, out / "trials.parquet", out / "his.csv", out / "models.csv")
    files = out / "files.json"  # as download_imi reports the release
    files.write_text(json.dumps({"located": {FILE_MAP: str(release["file_map"])}, "data_dir": str(release["release"])}))
    settings = ValidationSettings(fit_fraction=0.5, n_bootstrap=100, n_simulations=100)
    for name, seed in (("tiny", 0), ("tiny1", 1)):
        similarity = replace(TINY, name=name, options={**TINY.options, "weights": {"source": "random", "seed": seed}})
        (out / name).mkdir()
        outputs = {
            k: out / name / f"{k}.{'parquet' if k == 'margins' else 'csv'}"
            for k in ("margins", "units", "trials", "coverage")
        }
        compute_imi_mis(
            files_path=files,
            human_trials_path=out / "trials.parquet",
            trials_from="file_map",
            conditions=["natural"],
            imagenet_train=release["train"],
            stimuli_dir=None,
            pattern=DEFAULT_PATTERN,
            scoring=ScoringSettings(similarity, 8.0),
            device="cpu",
            threads=2,
            outputs=outputs,
        )
        fit_alpha(
            out / "his.csv",
            outputs["margins"],
            ["natural"],
            settings,
            out / name / "alpha.json",
            out / name / "validation_units.csv",
            out / name / "validation_models.csv",
        )
    return out


def test_imi_mis_coverage_and_trials(validated: Path) -> None:
    units = pd.read_csv(validated / "tiny" / "units.csv")
    margins = pd.read_parquet(validated / "tiny" / "margins.parquet")
    assert len(units) == 9 and len(margins) == 18 and set(margins["batch"]) == {0, 1}
    keys = ["model", "condition", "layer", "channel"]
    expected = margins.assign(p=expit(8.0 * margins["margin"])).groupby(keys)["p"].mean()
    np.testing.assert_allclose(units.set_index(keys)["mis"], expected, atol=1e-9)
    coverage = pd.read_csv(validated / "tiny" / "coverage.csv").set_index(keys)
    assert not coverage.loc[("resnet18-untrained", "natural", "layer4_1_conv1", 8), "has_images"]  # responses only
    assert not coverage.loc[("mobilenetv2_100", "natural", "blocks_5_0_conv_pwl", 9), "in_responses"]  # map only
    assert (coverage["in_responses"] & coverage["has_images"]).sum() == 8
    trials = pd.read_csv(validated / "tiny" / "trials.csv")
    assert len(trials) == 18 and len(trials.loc[0, "max_refs"].split(";")) == 9


def test_validation_on_the_release(validated: Path, tmp_path: Path) -> None:
    summary = json.loads((validated / "tiny" / "alpha.json").read_text())
    units = pd.read_csv(validated / "tiny" / "validation_units.csv")
    assert len(units) == 8 and summary["n_fit_units"] == 4 and summary["n_held_out_units"] == 4
    assert summary["alpha"] > 0 and units["mis"].between(0, 1).all()
    held = units[units["split"] == "held_out"]
    assert summary["held_out"]["unit"]["pearson"]["r"] == pytest.approx(np.corrcoef(held["mis"], held["his"])[0, 1])
    outputs = ("alpha.json", "validation_units.csv", "validation_models.csv")
    fit_alpha(
        validated / "his.csv",
        validated / "tiny" / "margins.parquet",
        ["natural"],
        ValidationSettings(fit_fraction=0.5, n_bootstrap=100, n_simulations=100),
        *(tmp_path / name for name in outputs),
    )
    for name in outputs:  # same inputs and seed: identical outputs
        assert (tmp_path / name).read_bytes() == (validated / "tiny" / name).read_bytes(), name


def test_similarity_comparison_and_its_figure(validated: Path, tmp_path: Path) -> None:
    tables = {name: read_table(validated / name / "validation_units.csv") for name in ("tiny", "tiny1")}
    table = similarity_comparison(tables, {"tiny": "tiny ViT"}, 200, 0)
    assert set(table["similarity"]) == {"tiny", "tiny1", CEILING} and len(table) == 3 * 2 * 2
    again = similarity_comparison(tables, {"tiny": "tiny ViT"}, 200, 0)
    pd.testing.assert_frame_equal(table, again)  # seeded
    held = tables["tiny"][tables["tiny"]["split"] == "held_out"].sort_values(["model", "condition", "layer", "channel"])
    rng = np.random.default_rng([0, 3])
    n = held["n_trials"].to_numpy()
    resampled = rng.binomial(n, held["his"].to_numpy(), size=(200, len(held))) / n
    r = [np.corrcoef(held["mis"], row)[0, 1] for row in resampled]
    row = table[
        (table["similarity"] == "tiny") & (table["level"] == "unit") & (table["correlation"] == "pearson")
    ].iloc[0]
    assert (
        row["mean"] == pytest.approx(np.nanmean(r)) and row["sd"] == pytest.approx(np.nanstd(r)) and row["n_units"] == 4
    )
    write_table(table, tmp_path / "comparison.csv")
    draw("similarity_comparison", {"table": tmp_path / "comparison.csv"}, tmp_path / "comparison.pdf")
    content = (tmp_path / "comparison.pdf").read_bytes()
    assert content.startswith(b"%PDF") and b"/Subtype /Image" not in content


@pytest.mark.parametrize("trials_from", ["file_map", "stimuli"])
def test_overestimated_units_and_their_figure(
    validated: Path, release: dict[str, Path], tmp_path: Path, trials_from: str
) -> None:
    """The table holds each trial's images where compute_imi_mis read them: ImageNet-train, or with
    `imi.trials_from: stimuli` and no `imi.stimuli_dir` (the documented default) the release's own
    folder, which only the download's report tells (the figure once joined those paths to None)."""
    trials = validated / "tiny" / "trials.csv"
    if trials_from == "stimuli":
        trials = tmp_path / "trials.csv"
        write_table(trials_table(load_units("stimuli", NATURAL, release["stimuli"], pattern=DEFAULT_PATTERN)), trials)
    units_path, files = validated / "tiny" / "validation_units.csv", validated / "files.json"
    table = find_overestimated_units(
        units_path, trials, files, trials_from, release["train"], None, 3, tmp_path / "o.csv"
    )
    units = read_table(units_path)
    differences = (units["mis"] - units["his"]).sort_values(ascending=False)
    np.testing.assert_allclose(table["difference"], differences.head(3))
    assert (table["batch"] == 0).all()
    root = release["train"] if trials_from == "file_map" else release["stimuli"]
    shown = [
        *table["max_query"],
        *table["min_query"],
        *";".join(table["max_refs"] + ";" + table["min_refs"]).split(";"),
    ]
    assert len(shown) == 3 * 20 and all(Path(p).is_file() and Path(p).is_relative_to(root) for p in shown)
    draw("imi_overestimated_units", {"table": tmp_path / "o.csv"}, tmp_path / "over.pdf")
    assert (tmp_path / "over.pdf").read_bytes().startswith(b"%PDF")


def test_fig2_is_a_vector_pdf(validated: Path, tmp_path: Path) -> None:
    path = tmp_path / "fig2.pdf"
    tables = {name: validated / "tiny" / f"validation_{name}.csv" for name in ("units", "models")}
    draw("fig2", {"summary": validated / "tiny" / "alpha.json", **tables}, path, similarity_label="random tiny ViT")
    content = path.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 10_000 and b"/Subtype /Image" not in content


# α and validation


def simulated_units(
    alpha: float, n_units: int = 300, n_tasks: int = 10, n_trials: int = 30, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Units of 3 models whose human responses follow p_u = mean_t σ(α·Δ_t)."""
    rng = np.random.default_rng(seed)
    margins = rng.normal(0.06, 0.08, size=(n_units, 1)) + rng.normal(0, 0.05, size=(n_units, n_tasks))
    n = np.full(n_units, n_trials)
    k = rng.binomial(n, expit(alpha * margins).mean(axis=1))
    units = pd.DataFrame(
        {
            "model": [f"model{i % 3}" for i in range(n_units)],
            "condition": "natural",
            "layer": [f"layer{i // 3}" for i in range(n_units)],
            "channel": 0,
            "his": k / n,
            "n_correct": k,
            "n_trials": n,
        }
    )
    return units, margins


@pytest.mark.parametrize("objective", ["likelihood", "least_squares"])
def test_alpha_fit_recovers_the_simulating_alpha(objective: str) -> None:
    units, margins = simulated_units(alpha=12.0)
    fit = best_alpha(margins, units["n_correct"].to_numpy(float), units["n_trials"].to_numpy(float), objective)
    assert fit.alpha == pytest.approx(12.0, rel=0.15) and not fit.at_bound


def test_validation_is_deterministic_and_sane() -> None:
    units, margins = simulated_units(alpha=12.0)
    settings = ValidationSettings(n_bootstrap=200, n_simulations=200, seed=3)
    summary, table, models = validate(units, margins, settings)
    again, table_again, _ = validate(units, margins, settings)
    assert json.dumps(summary) == json.dumps(again)
    pd.testing.assert_frame_equal(table, table_again)
    assert summary["n_fit_units"] == summary["n_held_out_units"] == 150
    assert set(table.loc[table["split"] == "fit", "model"]) == {"model0", "model1", "model2"}  # stratified
    unit = summary["held_out"]["unit"]
    assert unit["n"] == 150 and unit["pearson"]["r"] > 0.5 and unit["pearson"]["p_value"] < 1e-6
    for name in ("pearson", "spearman"):
        assert unit[name]["ci_low"] <= unit[name]["r"] <= unit[name]["ci_high"]
        assert 0 < summary["noise_ceiling"]["unit"][name]["mean"] <= 1
    assert summary["held_out"]["model"]["n"] == 3 and len(models) == 3
    assert summary["alpha"] == pytest.approx(12.0, rel=0.3)
    other, _, _ = validate(units, margins, ValidationSettings(n_bootstrap=200, n_simulations=200, seed=4))
    assert other["alpha"] != summary["alpha"]  # another seed, another split


def test_too_few_held_out_units_fail() -> None:
    units, margins = simulated_units(alpha=12.0, n_units=4)
    with pytest.raises(ValueError, match="imi.fit_fraction"):
        validate(units, margins, ValidationSettings(fit_fraction=0.9))


# Extreme units


def test_extreme_units_per_model() -> None:
    units = pd.DataFrame(
        {
            "model": ["a"] * 6 + ["b"] * 3,
            "layer": "l",
            "layer_type": "conv",
            "unit": list(range(6)) + list(range(3)),
            "mis": [0.9, 0.5, 0.7, 0.95, 0.6, 0.99] + [0.8, 0.7, 0.6],
            "hard_accuracy": 1.0,
            "constant": [False, False, False, False, False, True] + [False] * 3,
            "non_finite": False,
            "relative_depth": 0.5,
        }
    )
    table = extreme_units(units, n=2).set_index(["model", "extreme", "rank"])
    # the constant unit 5 is skipped
    assert table.loc[("a", "highest", 1), "unit"] == 3 and table.loc[("a", "highest", 2), "unit"] == 0
    assert table.loc[("a", "lowest", 1), "unit"] == 1 and table.loc[("a", "lowest", 2), "unit"] == 4
    assert len(table.loc["b"]) == 2  # only 3 units: one per side


# Config


def test_imi_config_block_defaults_and_errors() -> None:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert "imi" not in validate_config(copy.deepcopy(base), SCHEMA)  # absent stays absent
    config = validate_config({**copy.deepcopy(base), "imi": {}}, SCHEMA)
    assert config["imi"]["stimuli_pattern"] == DEFAULT_PATTERN and config["imi"]["alpha_objective"] == "likelihood"
    assert config["imi"]["doi"] == "10.5281/zenodo.8131197" and config["imi"]["trials_from"] == "file_map"
    assert config["imi"]["conditions"] == ["natural"] and config["imi"]["n_bootstrap"] == 1000
    with pytest.raises(ConfigError, match="config key 'imi.alpha_objective'"):
        validate_config({**copy.deepcopy(base), "imi": {"alpha_objective": "max"}}, SCHEMA)
    with pytest.raises(ConfigError, match="config key 'imi.sha256.responses.zip'"):
        validate_config({**copy.deepcopy(base), "imi": {"sha256": {"responses.zip": "abc"}}}, SCHEMA)
