"""IMI validation on a small IMI-format fixture built here: response tables with the documented
columns (practice and catch trials included), one stimulus task folder per unit made from demo
photos, and the manifest-driven download. Checks HIS by hand, the Wilson interval, the stimuli
parser and its errors, MIS from the stimuli against a direct computation, the α fit (recovers a
known α), correlations and determinism, Fig. 2, the extreme-unit selection and the download's
refusals (checksum mismatch and unpinned files leave no file)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from scipy.special import expit
from scipy.stats import binomtest

from conftest import DEMO_IMAGES, REPO, SCHEMA
from mis.alpha import Settings, fit_alpha, join_units, validate, write_validation
from mis.config import ConfigError, validate_config
from mis.figures.fig2 import plot_fig2
from mis.imi import split_condition
from mis.imi.download import DatasetError, fetch_dataset, read_manifest
from mis.imi.responses import (
    ResponseFormatError, human_scores, main_trials, read_responses, wilson_interval, write_human_scores,
)
from mis.imi.scores import write_imi_mis
from mis.imi.selection import extreme_units
from mis.imi.stimuli import DEFAULT_PATTERN, StimulusLayoutError, parse_stimuli, stimulus_tasks
from mis.scoring import normalise
from mis.similarity import build_embedder, embed_images

N_TRIALS, N_REFS = 3, 2  # tasks per unit and references per side in the fixture
# (model as IMI names it, layer, channel, mode) → main-trial outcomes; a unit is seen by one
# participant per outcome. The first unit is the hand-computed one.
OUTCOMES = {
    ("googlenet", "conv1", 0, "natural"): [1, 1, 0, 1],
    ("googlenet", "conv1", 3, "natural"): [1, 0, 0, 1, 1, 1],
    ("googlenet", "inception3a", 7, "natural"): [0, 0, 1],
    ("resnet50", "layer1.0.conv1", 1, "natural"): [1, 1, 1, 1, 0],
    ("resnet50", "layer2.1.bn2", 5, "natural"): [0, 1, 0, 1],
    ("resnet50", "fc", 2, "natural"): [1, 1, 1],
    ("resnet50_hard95", "layer1.0.conv1", 1, "natural"): [0, 1, 0],
    ("googlenet", "conv1", 0, "optimized"): [0, 0, 1, 0],
}
CPU = torch.device("cpu")
TINY_SIMILARITY = {
    "name": "tiny",
    "label": "random tiny ViT (test)",
    "backend": "timm_features",
    "architecture": "test_vit",
    "weights": {"source": "random", "seed": 0},
    "batch_size": 16,
    "num_workers": 0,
}


# Fixture: responses


def trial_row(model: str | None, layer: str | None, channel: int | None, mode: str, correct: int, participant: int,
              catch: bool = False, demo: bool = False) -> dict:
    """One row with the columns of IMI's export (comparison.ipynb): the jsPsych trial data, the
    structure columns (batch, channel, layer, mode, model) and the check results."""
    return {
        "rt": 1500 + 10 * participant, "confidence": 1 + participant % 3, "choice": "upper", "correct": bool(correct),
        "catch_trial": catch, "is_demo": demo, "trial_index": participant, "time_elapsed": 1000 * participant,
        "min_query": "anonymized", "max_query": "anonymized", "min_references": "anonymized", "max_references": "anonymized",
        "response_index": 0, "participant_id": f"P{participant:04}", "corrected_trial_index": participant,
        "task_id": f"task-{participant}", "task_number": participant,
        "batch": None if demo else (-1 if catch else participant % 10),
        "channel": channel, "layer": layer, "mode": mode, "model": model,
        "multi_participation": False, "passed_checks": True,
        "catch_trials_result": True, "catch_trials_details": "{'ratio': 1.0}",
    }


def response_table() -> pd.DataFrame:
    rows = []
    for (model, layer, channel, mode), outcomes in OUTCOMES.items():
        rows += [trial_row(model, layer, channel, mode, c, p) for p, c in enumerate(outcomes)]
    # practice and catch trials, wrong on purpose: they must not count
    rows += [trial_row(None, None, None, "natural", 0, p, demo=True) for p in range(3)]
    rows += [trial_row("catch/manual", "manual_4c_0_4", 1, "catch_trial", 0, p, catch=True) for p in range(3)]
    table = pd.DataFrame(rows)
    for column in ("batch", "channel"):  # as the export writes them: Int64 with NA for practice trials
        table[column] = table[column].astype("Int64")
    return table


@pytest.fixture
def responses_csv(tmp_path: Path) -> Path:
    path = tmp_path / "responses_main.csv"
    response_table().to_csv(path, index=False)
    return path


# Fixture: stimuli


def photo(path: Path, source: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as image:
        image.convert("RGB").resize((48, 48)).save(path)


def write_task(folder: Path, photos: list[Path], n_trials: int = N_TRIALS, n_refs: int = N_REFS) -> None:
    """A task folder as the IMI experiment code writes it, images taken from ``photos`` in turn
    (max side from the first half, min side from the second)."""
    folder.mkdir(parents=True)
    index = {"task_name": folder.name, "n_reference_images": str(n_refs), "n_trials": n_trials}  # a string, as IMI's
    (folder / "index.json").write_text(json.dumps(index))
    half = len(photos) // 2
    maxes, mins = iter(photos[:half]), iter(photos[half:])
    for i in range(1, n_trials + 1):
        trial = folder / "trials" / f"trial_{i}"
        photo(trial / "queries" / "max.png", next(maxes))
        photo(trial / "queries" / "min.png", next(mins))
        for j in range(n_refs):
            photo(trial / "references" / f"max_{j}.png", next(maxes))
            photo(trial / "references" / f"min_{j}.png", next(mins))


@pytest.fixture(scope="module")
def stimuli_dir(tmp_path_factory) -> Path:
    """One task folder per unit: <model>/<layer>/channel_<c>/<mode>_images."""
    root = tmp_path_factory.mktemp("stimuli")
    photos = sorted(DEMO_IMAGES.glob("*.jpg"))
    per_unit = 2 * N_TRIALS * (N_REFS + 1)
    for position, (model, layer, channel, mode) in enumerate(OUTCOMES):
        chosen = photos[position * 7 :: 5][:per_unit]
        write_task(root / model / layer / f"channel_{channel}" / f"{mode}_images", chosen)
    return root


# HIS


def test_his_by_hand_excludes_practice_and_catch_trials(responses_csv: Path) -> None:
    trials = main_trials(read_responses(responses_csv), responses_csv)
    assert len(trials) == sum(len(v) for v in OUTCOMES.values())
    his = human_scores(trials, 0.95).set_index(["model", "condition", "layer", "channel"])
    unit = his.loc[("googlenet", "natural", "conv1", 0)]
    assert unit["his"] == 0.75 and unit["n_correct"] == 3 and unit["n_trials"] == 4 and unit["n_participants"] == 4
    assert his.loc[("googlenet", "optimized", "conv1", 0), "his"] == 0.25  # same unit, other condition
    hard = his.loc[("resnet50", "natural_hard95", "layer1.0.conv1", 1)]  # suffix moved into the condition
    assert hard["his"] == pytest.approx(1 / 3) and hard["n_trials"] == 3
    assert his.loc[("resnet50", "natural", "layer1.0.conv1", 1), "his"] == 0.8
    assert len(his) == len(OUTCOMES)


def test_wilson_interval_matches_scipy() -> None:
    k, n = np.array([0, 3, 17, 29, 30]), np.array([4, 4, 30, 30, 30])
    low, high = wilson_interval(k, n, 0.95)
    for i in range(len(k)):
        expected = binomtest(int(k[i]), int(n[i])).proportion_ci(0.95, method="wilson")
        assert low[i] == pytest.approx(expected.low, abs=1e-9) and high[i] == pytest.approx(expected.high, abs=1e-9)


def test_write_human_scores_tables(responses_csv: Path, tmp_path: Path) -> None:
    scores = write_human_scores(responses_csv, 0.95, tmp_path / "trials.parquet", tmp_path / "his.csv")
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    assert list(trials.columns[:4]) == ["model", "condition", "layer", "channel"]
    assert set(trials["difficulty"]) == {"easy", "hard95"} and trials["correct"].dtype == bool
    assert (scores["ci_low"] <= scores["his"]).all() and (scores["his"] <= scores["ci_high"]).all()
    assert pd.read_csv(tmp_path / "his.csv").shape == scores.shape


@pytest.mark.parametrize("column", ["correct", "catch_trial", "channel"])
def test_missing_column_fails_naming_file_and_column(responses_csv: Path, column: str) -> None:
    pd.read_csv(responses_csv).drop(columns=[column]).to_csv(responses_csv, index=False)
    with pytest.raises(ResponseFormatError, match=f"{responses_csv.name}.*'{column}'"):
        read_responses(responses_csv)


def test_unexpected_mode_fails(responses_csv: Path) -> None:
    table = pd.read_csv(responses_csv)
    table.loc[0, "mode"] = "synthetic"
    with pytest.raises(ResponseFormatError, match="'mode' holds \\['synthetic'\\]"):
        main_trials(table, responses_csv)


def test_split_condition() -> None:
    assert split_condition("resnet50_hard95") == ("resnet50", "hard95")
    assert split_condition("wide_resnet50") == ("wide_resnet50", "easy")


# Stimuli


def test_stimuli_parse_into_tasks(stimuli_dir: Path) -> None:
    units = parse_stimuli(stimuli_dir, DEFAULT_PATTERN, ["natural", "natural_hard95"])
    assert [u.key for u in units][:2] == [("googlenet", "natural", "conv1", 0), ("googlenet", "natural", "conv1", 3)]
    assert len(units) == 7 and all(len(u.trials) == N_TRIALS for u in units)
    assert ("resnet50", "natural_hard95", "layer1.0.conv1", 1) in {u.key for u in units}
    paths, groups = stimulus_tasks(units)
    (positions, tasks), = groups
    assert tasks.shape == (7, N_TRIALS, N_REFS) and list(positions) == list(range(7))
    assert len(paths) == 7 * 2 * N_TRIALS * (N_REFS + 1)  # every file once
    first = units[0].trials[1]
    assert paths[tasks.max_queries[0, 1]] == first.max_query and paths[tasks.min_refs[0, 1, 1]] == first.min_refs[1]
    assert paths[tasks.max_refs[0, 1, 0]].endswith("natural_images/trials/trial_2/references/max_0.png")


@pytest.fixture
def one_task(tmp_path: Path) -> Path:
    root = tmp_path / "stimuli"
    write_task(root / "googlenet" / "conv1" / "channel_0" / "natural_images", sorted(DEMO_IMAGES.glob("*.jpg"))[:18])
    return root


def _break(root: Path, how: str) -> str:
    task = root / "googlenet" / "conv1" / "channel_0" / "natural_images"
    if how == "missing_reference":
        (task / "trials" / "trial_2" / "references" / "min_1.png").unlink()
        return "trial_2/references: unexpected contents \\(missing: \\['min_1.png'\\]"
    if how == "extra_trial":
        shutil.copytree(task / "trials" / "trial_3", task / "trials" / "trial_4")
        return "unexpected: \\['trial_4'\\]"
    if how == "unmatched_path":
        task.rename(task.parent / "natural_exemplars")
        return "does not match imi.stimuli_pattern"
    if how == "hit_folder":
        index = {"task_name": "x", "n_reference_images": "2", "n_trials": 3, "catch_trial_idxs": [2]}
        (task / "index.json").write_text(json.dumps(index))
        return "experiment \\(HIT\\) folder"
    if how == "bad_index":
        (task / "index.json").write_text(json.dumps({"task_name": "x", "n_trials": 3}))
        return "missing key\\(s\\) \\['n_reference_images'\\]"
    if how == "generation_layout":
        shutil.rmtree(task)
        photo(task / "batch_0" / "max_9.png", next(DEMO_IMAGES.glob("*.jpg")))
        return "IMI generation layout"
    raise ValueError(how)


BREAKS = ["missing_reference", "extra_trial", "unmatched_path", "hit_folder", "bad_index", "generation_layout"]


@pytest.mark.parametrize("how", BREAKS)
def test_unexpected_stimulus_layout_fails_clearly(one_task: Path, how: str) -> None:
    message = _break(one_task, how)
    with pytest.raises(StimulusLayoutError, match=message):
        parse_stimuli(one_task, DEFAULT_PATTERN, ["natural"])


def test_pattern_without_required_groups_fails(one_task: Path) -> None:
    with pytest.raises(StimulusLayoutError, match="imi.stimuli_pattern.*lacks the named group\\(s\\) \\['mode'\\]"):
        parse_stimuli(one_task, r"(?P<model>[^/]+)/(?P<layer>[^/]+)/channel_(?P<channel>\d+)/.*", ["natural"])


# MIS from the stimuli, and the fixture end to end: HIS + MIS → validation → Fig. 2


@pytest.fixture(scope="module")
def validated(stimuli_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("validation")
    response_table().to_csv(out / "responses_main.csv", index=False)
    write_human_scores(out / "responses_main.csv", 0.95, out / "trials.parquet", out / "his.csv")
    write_imi_mis(stimuli_dir, DEFAULT_PATTERN, ["natural"], TINY_SIMILARITY, 8.0, "cpu", 2,
                  out / "margins.parquet", out / "units.csv")
    settings = Settings(fit_fraction=0.34, n_bootstrap=100, n_simulations=100)
    write_validation(out / "his.csv", out / "margins.parquet", ["natural"], settings,
                     out / "alpha.json", out / "validation_units.csv", out / "validation_models.csv")
    return out


def test_imi_mis_equals_direct_computation(stimuli_dir: Path, validated: Path) -> None:
    """The ``validated`` fixture ran write_imi_mis (α = 8) on the natural condition."""
    conditions = ["natural"]
    units_table = pd.read_csv(validated / "units.csv")
    margins = pd.read_parquet(validated / "margins.parquet")
    assert len(units_table) == 6 and len(margins) == 6 * N_TRIALS and set(margins["task"]) == {1, 2, 3}
    units = parse_stimuli(stimuli_dir, DEFAULT_PATTERN, conditions)
    files = sorted({p for u in units for t in u.trials for p in (t.max_query, t.min_query, *t.max_refs, *t.min_refs)})
    emb, _ = embed_images(build_embedder(TINY_SIMILARITY, CPU), str(stimuli_dir), files, batch_size=16, num_workers=0)
    embedding = dict(zip(files, normalise(torch.from_numpy(emb)).double().numpy(), strict=True))
    for unit, (_, rows) in zip(units, margins.groupby(["model", "condition", "layer", "channel"], sort=True), strict=True):
        for trial, margin in zip(unit.trials, rows.sort_values("task")["margin"], strict=True):
            qp, qn = embedding[trial.max_query], embedding[trial.min_query]
            ep, en = np.stack([embedding[p] for p in trial.max_refs]), np.stack([embedding[p] for p in trial.min_refs])
            expected = (np.mean(ep @ qp) - np.mean(en @ qp)) - (np.mean(ep @ qn) - np.mean(en @ qn))
            assert margin == pytest.approx(expected, abs=1e-5)
    keys = ["model", "condition", "layer", "channel"]
    expected_mis = margins.assign(p=expit(8.0 * margins["margin"])).groupby(keys)["p"].mean()
    np.testing.assert_allclose(units_table.set_index(keys)["mis"], expected_mis, atol=1e-9)


def test_imi_mis_with_a_pairwise_backend(stimuli_dir: Path, tmp_path: Path, monkeypatch) -> None:
    from mis.similarity.pairwise import build_lpips

    monkeypatch.setattr("mis.similarity.margins.build_pairwise", lambda spec, device: build_lpips("alex", None, 32, device))
    similarity = {"name": "lpips", "label": "LPIPS (random)", "backend": "lpips", "variant": "alex", "image_size": 32,
                  "batch_size": 64, "num_workers": 0}
    table = write_imi_mis(stimuli_dir, DEFAULT_PATTERN, ["natural_hard95"], similarity, 8.0, "cpu", 2,
                          tmp_path / "margins.parquet", tmp_path / "units.csv")
    assert len(table) == 1 and table["mis"].between(0, 1).all()
    assert np.isfinite(pd.read_parquet(tmp_path / "margins.parquet")["margin"]).all()


# α and validation


def simulated_units(
    alpha: float, n_units: int = 300, n_tasks: int = 10, n_trials: int = 30, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Units of 3 models whose human responses follow p_u = mean_t σ(α·Δ_t)."""
    rng = np.random.default_rng(seed)
    margins = rng.normal(0.06, 0.08, size=(n_units, 1)) + rng.normal(0, 0.05, size=(n_units, n_tasks))
    n = np.full(n_units, n_trials)
    k = rng.binomial(n, expit(alpha * margins).mean(axis=1))
    units = pd.DataFrame({
        "model": [f"model{i % 3}" for i in range(n_units)], "condition": "natural",
        "layer": [f"layer{i // 3}" for i in range(n_units)], "channel": 0,
        "his": k / n, "n_correct": k, "n_trials": n,
    })
    return units, margins


@pytest.mark.parametrize("objective", ["likelihood", "least_squares"])
def test_alpha_fit_recovers_the_simulating_alpha(objective: str) -> None:
    units, margins = simulated_units(alpha=12.0)
    fit = fit_alpha(margins, units["n_correct"].to_numpy(float), units["n_trials"].to_numpy(float), objective)
    assert fit.alpha == pytest.approx(12.0, rel=0.15) and not fit.at_bound


def test_validation_is_deterministic_and_sane() -> None:
    units, margins = simulated_units(alpha=12.0)
    settings = Settings(n_bootstrap=200, n_simulations=200, seed=3)
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
    other, _, _ = validate(units, margins, Settings(n_bootstrap=200, n_simulations=200, seed=4))
    assert other["alpha"] != summary["alpha"]  # another seed, another split


def test_too_few_held_out_units_fail() -> None:
    units, margins = simulated_units(alpha=12.0, n_units=4)
    with pytest.raises(ValueError, match="imi.fit_fraction"):
        validate(units, margins, Settings(fit_fraction=0.9))


def test_validation_on_the_fixture(validated: Path, tmp_path: Path) -> None:
    summary = json.loads((validated / "alpha.json").read_text())
    units = pd.read_csv(validated / "validation_units.csv")
    assert len(units) == 6 and summary["n_fit_units"] == 2 and summary["n_held_out_units"] == 4
    assert summary["conditions"] == ["natural"] and summary["alpha"] > 0
    assert set(units["split"]) == {"fit", "held_out"} and units["mis"].between(0, 1).all()
    models = pd.read_csv(validated / "validation_models.csv")
    assert sorted(models["rank_his"]) == [1, 2] and set(models["model"]) == {"googlenet", "resnet50"}
    outputs = ("alpha.json", "validation_units.csv", "validation_models.csv")
    write_validation(validated / "his.csv", validated / "margins.parquet", ["natural"],
                     Settings(fit_fraction=0.34, n_bootstrap=100, n_simulations=100), *(tmp_path / name for name in outputs))
    for name in outputs:  # same inputs and seed: identical outputs
        assert (tmp_path / name).read_bytes() == (validated / name).read_bytes(), name


def test_join_fails_when_no_unit_has_both(validated: Path) -> None:
    his = pd.read_csv(validated / "his.csv")
    margins = pd.read_parquet(validated / "margins.parquet").assign(model="densenet_201")
    with pytest.raises(ValueError, match="both human scores and stimuli"):
        join_units(his, margins, ["natural"])


def test_fig2_is_a_vector_pdf(validated: Path, tmp_path: Path) -> None:
    path = tmp_path / "fig2.pdf"
    summary = json.loads((validated / "alpha.json").read_text())
    units, models = pd.read_csv(validated / "validation_units.csv"), pd.read_csv(validated / "validation_models.csv")
    plot_fig2(units, models, summary, path, "random tiny ViT")
    content = path.read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 10_000 and b"/Subtype /Image" not in content


# Extreme units


def test_extreme_units_per_model() -> None:
    units = pd.DataFrame({
        "model": ["a"] * 6 + ["b"] * 3, "layer": "l", "layer_type": "conv", "unit": list(range(6)) + list(range(3)),
        "mis": [0.9, 0.5, 0.7, 0.95, 0.6, 0.99] + [0.8, 0.7, 0.6], "hard_accuracy": 1.0,
        "constant": [False, False, False, False, False, True] + [False] * 3, "relative_depth": 0.5,
    })
    table = extreme_units(units, n=2).set_index(["model", "extreme", "rank"])
    # the constant unit 5 is skipped
    assert table.loc[("a", "highest", 1), "unit"] == 3 and table.loc[("a", "highest", 2), "unit"] == 0
    assert table.loc[("a", "lowest", 1), "unit"] == 1 and table.loc[("a", "lowest", 2), "unit"] == 4
    assert len(table.loc["b"]) == 2  # only 3 units: one per side


# Download


def manifest(
    tmp_path: Path, files: dict[str, str | None], extract: dict[str, str] | None = None, url: str | None = None
) -> Path:
    source = tmp_path / "zenodo"
    entries = [{"name": name, "sha256": digest, **({"extract": extract[name]} if extract and name in extract else {})}
               for name, digest in files.items()]
    path = tmp_path / "imi_files.yaml"
    url_template = url or f"{source.as_uri()}/{{name}}"
    path.write_text(yaml.safe_dump({"record": 8131197, "url_template": url_template, "files": entries}))
    return path


@pytest.fixture
def zenodo(tmp_path: Path) -> dict[str, bytes]:
    """A local stand-in for the record (file:// URLs): two files."""
    source = tmp_path / "zenodo"
    source.mkdir()
    files = {"responses_main.csv": b"rt,correct\n1,True\n", "responses_all.csv": b"rt,correct\n2,False\n" * 100}
    for name, content in files.items():
        (source / name).write_bytes(content)
    return files


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def test_download_verifies_and_reports(tmp_path: Path, zenodo: dict[str, bytes]) -> None:
    path = manifest(tmp_path, {name: sha(content) for name, content in zenodo.items()})
    report = fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")
    assert (tmp_path / "data" / "responses_all.csv").read_bytes() == zenodo["responses_all.csv"]
    assert all(entry["verified"] for entry in report["files"])
    assert json.loads((tmp_path / "files.json").read_text()) == report
    (tmp_path / "zenodo" / "responses_all.csv").unlink()  # present files are checked, not fetched again
    assert fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json") == report


def test_checksum_mismatch_is_refused_and_leaves_no_file(tmp_path: Path, zenodo: dict[str, bytes]) -> None:
    path = manifest(tmp_path, {"responses_main.csv": sha(zenodo["responses_main.csv"]), "responses_all.csv": "0" * 64})
    with pytest.raises(DatasetError, match="checksum mismatch.*responses_all.csv.*the download was deleted"):
        fetch_dataset(path, tmp_path / "data", True, 5, tmp_path / "files.json")
    assert not (tmp_path / "data" / "responses_all.csv").exists() and not list((tmp_path / "data").glob("*.part"))
    assert not (tmp_path / "files.json").exists()


def test_unpinned_files_are_refused_unless_allowed(tmp_path: Path, zenodo: dict[str, bytes], caplog) -> None:
    path = manifest(tmp_path, {"responses_main.csv": None})
    with pytest.raises(DatasetError, match="pins no sha256 for responses_main.csv.*imi.allow_unverified"):
        fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")
    assert not (tmp_path / "data" / "responses_main.csv").exists()
    report = fetch_dataset(path, tmp_path / "data", True, 5, tmp_path / "files.json")
    digest = sha(zenodo["responses_main.csv"])
    assert report["files"][0] == {"name": "responses_main.csv", "path": str(tmp_path / "data" / "responses_main.csv"),
                                  "sha256": digest, "verified": False}
    assert digest in caplog.text  # logged so that it can be pinned
    with pytest.raises(DatasetError, match=f"its sha256 is {digest}"):  # a present file: refused, naming its checksum
        fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")


def test_offline_fails_at_once_saying_where_to_put_the_files(tmp_path: Path) -> None:
    path = manifest(tmp_path, {"responses_main.csv": "a" * 64, "stimuli.zip": "b" * 64}, url="http://127.0.0.1:9/{name}")
    with pytest.raises(DatasetError) as error:
        fetch_dataset(path, tmp_path / "data", False, 2, tmp_path / "files.json")
    message = str(error.value)
    assert "could not download http://127.0.0.1:9/responses_main.csv" in message
    assert f"place them in {(tmp_path / 'data').resolve()}/" in message and "responses_main.csv, stimuli.zip" in message


def test_an_interrupted_download_resumes(tmp_path: Path, zenodo: dict[str, bytes], monkeypatch) -> None:
    content = zenodo["responses_all.csv"]
    path = manifest(tmp_path, {"responses_all.csv": sha(content)}, url="https://zenodo.example/{name}")
    ranges = []

    class CutOff(io.BytesIO):  # the connection drops after 500 bytes
        def read(self, size=-1):
            if self.tell() >= 500:
                raise ConnectionResetError("connection reset by peer")
            return super().read(min(size, 500 - self.tell()))

    class Rest(io.BytesIO):
        status = 206  # partial content: the server honours the Range header

    def fake_urlopen(request, timeout):
        ranges.append(request.get_header("Range"))
        return CutOff(content) if len(ranges) == 1 else Rest(content[500:])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(DatasetError, match="connection reset by peer. The partial download is kept"):
        fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")
    assert (tmp_path / "data" / "responses_all.csv.part").stat().st_size == 500
    assert not (tmp_path / "data" / "responses_all.csv").exists()
    fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")
    assert ranges == [None, "bytes=500-"]
    assert (tmp_path / "data" / "responses_all.csv").read_bytes() == content
    assert not (tmp_path / "data" / "responses_all.csv.part").exists()


def test_archive_is_unpacked_once(tmp_path: Path) -> None:
    (tmp_path / "zenodo").mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("googlenet/conv1/channel_0/natural_images/index.json", "{}")
    (tmp_path / "zenodo" / "stimuli.zip").write_bytes(buffer.getvalue())
    path = manifest(tmp_path, {"stimuli.zip": sha(buffer.getvalue())}, extract={"stimuli.zip": "stimuli"})
    report = fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")
    assert (tmp_path / "data" / "stimuli" / "googlenet" / "conv1" / "channel_0" / "natural_images" / "index.json").is_file()
    assert report["files"][0]["verified"] and report["files"][0]["folder"] == str(tmp_path / "data" / "stimuli")
    (tmp_path / "data" / "stimuli.zip").unlink()  # the unpacked folder carries the archive's checksum
    assert fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")["files"][0]["verified"]


def test_a_folder_placed_by_hand_needs_the_opt_in(tmp_path: Path) -> None:
    path = manifest(tmp_path, {"stimuli.zip": "c" * 64}, extract={"stimuli.zip": "stimuli"})
    (tmp_path / "data" / "stimuli").mkdir(parents=True)
    with pytest.raises(DatasetError, match="was not unpacked from a verified stimuli.zip"):
        fetch_dataset(path, tmp_path / "data", False, 5, tmp_path / "files.json")
    report = fetch_dataset(path, tmp_path / "data", True, 5, tmp_path / "files.json")
    assert report["files"][0]["verified"] is False


def test_the_repository_manifest_is_valid() -> None:
    manifest = read_manifest(REPO / "config" / "imi_files.yaml")
    assert manifest.record == "8131197"
    assert {f.name for f in manifest.files} >= {"responses_main.csv", "responses_lower_quality.csv", "responses_all.csv"}
    assert manifest.url("responses_main.csv") == "https://zenodo.org/records/8131197/files/responses_main.csv?download=1"


# Config


def test_imi_config_block_defaults_and_errors() -> None:
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert "imi" not in validate_config(copy.deepcopy(base), SCHEMA)  # absent stays absent
    config = validate_config({**copy.deepcopy(base), "imi": {}}, SCHEMA)
    assert config["imi"]["stimuli_pattern"] == DEFAULT_PATTERN and config["imi"]["alpha_objective"] == "likelihood"
    assert config["imi"]["conditions"] == ["natural"] and config["imi"]["n_bootstrap"] == 1000
    with pytest.raises(ConfigError, match="config key 'imi.alpha_objective'"):
        validate_config({**copy.deepcopy(base), "imi": {"alpha_objective": "max"}}, SCHEMA)
